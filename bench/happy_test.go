package bench

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/jsonmerge"
	"github.com/hashicorp/go-retryablehttp"
)

// putPayload is the 1 KiB JSON document the happy-path PUT sends.
var putPayload = func() []byte {
	b := `{"id":"d1","title":"Quarterly report","owner":"ana","tags":["finance","q3"],"version":7,"body":"`
	b += strings.Repeat("lorem ipsum ", 100)
	return []byte(b[:1024-2] + `"}`)
}()

// happyBody is what the happy-path server answers every request with.
var happyBody = []byte(`{"id":"d1","title":"Quarterly report","owner":"ana","version":7}`)

// happyHandler answers every request 200 with a small JSON body and an
// ETag, after reading the request body: a constant server cost, so that
// the peers are compared on the work of the client alone.
func happyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Etag"] = []string{`"7"`}
		w.Write(happyBody)
	})
}

// newHappyServer serves happyHandler in this process.
func newHappyServer(tb testing.TB) *httptest.Server {
	srv := httptest.NewServer(happyHandler())
	tb.Cleanup(srv.Close)
	return srv
}

// happyPeerNames are the happy-path peers, in their base order.
var happyPeerNames = []string{"net/http", "retryablehttp", "conflict", "conflict+rule"}

// happyOps are the happy-path exchanges: a GET, and a conditional 1 KiB PUT.
var happyOps = []struct {
	method string
	body   []byte
}{{http.MethodGet, nil}, {http.MethodPut, putPayload}}

// happyPeers returns, per peer, the function that does one exchange
// (method with body, to url) through it: a new request built as the peer's
// documentation shows, the response body read to its end and closed, an
// error unless 200. Each peer has a transport of its own from transport
// (nil: each peer's default transport); close closes their idle
// connections.
//
// "conflict+rule" is conflict.New with a MergeJSON rule for the endpoint:
// then a GET's body is also remembered as a possible merge base.
func happyPeers(url string, transport func() http.RoundTripper) (peers map[string]func(method string, body []byte) error, close func()) {
	newHC := func() *http.Client {
		if transport == nil {
			return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		}
		return &http.Client{Transport: transport()}
	}
	bare := newHC()
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	if transport != nil {
		rc.HTTPClient = newHC()
	}
	var ccOpts, crOpts []conflict.Option
	if transport != nil {
		ccOpts = append(ccOpts, conflict.WithHTTPClient(newHC()))
		crOpts = append(crOpts, conflict.WithHTTPClient(newHC()))
	}
	cc := conflict.New(ccOpts...)
	cr := conflict.New(append(crOpts, conflict.WithRule("/happy/{id}", conflict.Rule{Merge: jsonmerge.Merge}))...)

	// newReq builds the request as a net/http user does.
	newReq := func(method string, body []byte) *http.Request {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, url, rd)
		if err != nil {
			panic(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("If-Match", `"7"`)
		}
		return req
	}
	check := func(resp *http.Response, err error) error {
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	}
	peers = map[string]func(string, []byte) error{
		"net/http": func(method string, body []byte) error { return check(bare.Do(newReq(method, body))) },
		"retryablehttp": func(method string, body []byte) error {
			// retryablehttp's own request type, built the way its README
			// shows; a []byte body is replayable without a copy.
			var rb any
			if body != nil {
				rb = body
			}
			req, err := retryablehttp.NewRequest(method, url, rb)
			if err != nil {
				return err
			}
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("If-Match", `"7"`)
			}
			return check(rc.Do(req))
		},
		"conflict":      func(method string, body []byte) error { return check(cc.Do(newReq(method, body))) },
		"conflict+rule": func(method string, body []byte) error { return check(cr.Do(newReq(method, body))) },
	}
	return peers, func() {
		bare.CloseIdleConnections()
		rc.HTTPClient.CloseIdleConnections()
		cc.CloseIdleConnections()
		cr.CloseIdleConnections()
	}
}

// happyRound counts the runs of BenchmarkHappyPath, to rotate its peers.
var happyRound int

// BenchmarkHappyPath compares one GET, and one conditional 1 KiB PUT, over
// loopback through bare net/http, go-retryablehttp alone and conflict.New(),
// when the server answers 200 (an httptest server in this process). The
// interleaved rounds (TestRound, run.sh) measure the same with the server
// in another process; this benchmark is kept for quick looks.
func BenchmarkHappyPath(b *testing.B) {
	defer func() { happyRound++ }()
	srv := newHappyServer(b)
	peers, closeIdle := happyPeers(srv.URL+"/happy/d1", nil)
	b.Cleanup(closeIdle)
	for _, op := range happyOps {
		// Each run of the benchmark (-count) starts with the next peer.
		for i := range happyPeerNames {
			name := happyPeerNames[(i+happyRound)%len(happyPeerNames)]
			do := peers[name]
			b.Run(op.method+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					if err := do(op.method, op.body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestHappyPathPeersAgree checks that the happy-path peers do the same
// exchange: one request each, the PUT with its body and If-Match, answered
// 200.
func TestHappyPathPeersAgree(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPut && (!bytes.Equal(body, putPayload) || r.Header.Get("If-Match") != `"7"`) {
			http.Error(w, "bad PUT", http.StatusBadRequest)
			return
		}
		w.Header().Set("ETag", `"7"`)
		w.Write(happyBody)
	}))
	defer srv.Close()
	peers, closeIdle := happyPeers(srv.URL+"/happy/d1", nil)
	defer closeIdle()
	for _, name := range happyPeerNames {
		for _, op := range happyOps {
			before := n.Load()
			if err := peers[name](op.method, op.body); err != nil {
				t.Errorf("%s %s: %v", name, op.method, err)
			}
			if sent := n.Load() - before; sent != 1 {
				t.Errorf("%s %s: %d requests, want 1", name, op.method, sent)
			}
		}
	}
}

// memTransport answers every request in memory as the happy-path server
// does (200, a small JSON body, an ETag), after reading the request body.
// It takes loopback I/O and the server, and their noise, out of the
// measurement, so what is left is each client's own work per request.
type memTransport struct{}

func (memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}, "Etag": {`"7"`}},
		Body:          io.NopCloser(bytes.NewReader(happyBody)),
		ContentLength: int64(len(happyBody)),
		Request:       req,
	}, nil
}

// BenchmarkClientOverhead is BenchmarkHappyPath with an in-memory
// transport under each peer's http.Client instead of a loopback
// connection: the time and allocations each client adds to a request,
// without the noise of the network and the server on a shared machine.
func BenchmarkClientOverhead(b *testing.B) {
	peers, _ := happyPeers("http://example.test/happy/d1", func() http.RoundTripper { return memTransport{} })
	for _, op := range happyOps {
		for _, name := range happyPeerNames {
			do := peers[name]
			b.Run(op.method+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					if err := do(op.method, op.body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
