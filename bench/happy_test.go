package bench

import (
	"bytes"
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

// newHappyServer answers every request 200 with a small JSON body and an
// ETag, after reading the request body: a constant server cost, so that
// the peers are compared on the work of the client alone.
func newHappyServer(tb testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Etag"] = []string{`"7"`}
		w.Write(happyBody)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// happyRound counts the runs of BenchmarkHappyPath, to rotate its peers.
var happyRound int

// BenchmarkHappyPath compares one GET, and one conditional 1 KiB PUT, over
// loopback through bare net/http, go-retryablehttp alone and conflict.New(),
// when the server answers 200: the cost of the client when there is no
// conflict. Each peer has a transport of its own and is used as its
// documentation shows; the response body is read to its end and closed.
//
// "conflict+rule" is conflict.New with a MergeJSON rule for the endpoint:
// then a GET's body is also remembered as a possible merge base.
func BenchmarkHappyPath(b *testing.B) {
	defer func() { happyRound++ }()
	srv := newHappyServer(b)
	url := srv.URL + "/documents/d1"

	bare := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	b.Cleanup(bare.CloseIdleConnections)

	rc := retryablehttp.NewClient()
	rc.Logger = nil
	b.Cleanup(rc.HTTPClient.CloseIdleConnections)

	cc := conflict.New()
	b.Cleanup(cc.CloseIdleConnections)

	cr := conflict.New(conflict.WithRule("/documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
	b.Cleanup(cr.CloseIdleConnections)

	for _, op := range []struct {
		method string
		body   []byte
	}{{http.MethodGet, nil}, {http.MethodPut, putPayload}} {
		// newReq builds the request as a net/http user does.
		newReq := func() *http.Request {
			var body io.Reader
			if op.body != nil {
				body = bytes.NewReader(op.body)
			}
			req, err := http.NewRequest(op.method, url, body)
			if err != nil {
				b.Fatal(err)
			}
			if op.body != nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("If-Match", `"7"`)
			}
			return req
		}
		check := func(resp *http.Response, err error) {
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatal(resp.Status)
			}
		}
		peers := []struct {
			name string
			run  func(b *testing.B)
		}{
			{"net/http", func(b *testing.B) {
				for range b.N {
					check(bare.Do(newReq()))
				}
			}},
			{"retryablehttp", func(b *testing.B) {
				for range b.N {
					// retryablehttp's own request type, built the way its
					// README shows; a []byte body is replayable without a
					// copy.
					var body any
					if op.body != nil {
						body = op.body
					}
					req, err := retryablehttp.NewRequest(op.method, url, body)
					if err != nil {
						b.Fatal(err)
					}
					if op.body != nil {
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("If-Match", `"7"`)
					}
					check(rc.Do(req))
				}
			}},
			{"conflict", func(b *testing.B) {
				for range b.N {
					check(cc.Do(newReq()))
				}
			}},
			{"conflict+rule", func(b *testing.B) {
				for range b.N {
					check(cr.Do(newReq()))
				}
			}},
		}
		// On a small shared machine the sub-benchmark that runs first in a
		// group is measurably slower or faster than the others; each run of
		// the benchmark (-count) starts with the next peer, so that with a
		// count that is a multiple of 4 every peer takes every place.
		for i := range peers {
			p := peers[(i+happyRound)%len(peers)]
			b.Run(op.method+"/"+p.name, func(b *testing.B) {
				b.ReportAllocs()
				p.run(b)
			})
		}
	}
}

// TestHappyPathPeersAgree checks that the benchmark's peers do the same
// exchange: one request each, answered 200 with the same body.
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
	url := srv.URL + "/documents/d1"

	rc := retryablehttp.NewClient()
	rc.Logger = nil
	peers := map[string]func(method string, body []byte) (*http.Response, error){
		"net/http": func(method string, body []byte) (*http.Response, error) {
			req, _ := http.NewRequest(method, url, bytes.NewReader(body))
			req.Header.Set("If-Match", `"7"`)
			return http.DefaultClient.Do(req)
		},
		"retryablehttp": func(method string, body []byte) (*http.Response, error) {
			var rb any
			if body != nil {
				rb = body
			}
			req, _ := retryablehttp.NewRequest(method, url, rb)
			req.Header.Set("If-Match", `"7"`)
			return rc.Do(req)
		},
		"conflict": func(method string, body []byte) (*http.Response, error) {
			req, _ := http.NewRequest(method, url, bytes.NewReader(body))
			req.Header.Set("If-Match", `"7"`)
			return conflict.New().Do(req)
		},
	}
	for name, do := range peers {
		for _, method := range []string{http.MethodGet, http.MethodPut} {
			before := n.Load()
			var body []byte
			if method == http.MethodPut {
				body = putPayload
			}
			resp, err := do(method, body)
			if err != nil {
				t.Fatalf("%s %s: %v", name, method, err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if sent := n.Load() - before; resp.StatusCode != http.StatusOK || !bytes.Equal(got, happyBody) || sent != 1 {
				t.Errorf("%s %s: status %d, body %q, %d requests; want 200, %q, 1", name, method, resp.StatusCode, got, sent, happyBody)
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
// The ratios here are of client work only; on a real request the
// differences are added to the network's cost.
func BenchmarkClientOverhead(b *testing.B) {
	url := "http://example.test/documents/d1"
	bare := &http.Client{Transport: memTransport{}}
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.HTTPClient = &http.Client{Transport: memTransport{}}
	cc := conflict.New(conflict.WithHTTPClient(&http.Client{Transport: memTransport{}}))
	cr := conflict.New(conflict.WithHTTPClient(&http.Client{Transport: memTransport{}}),
		conflict.WithRule("/documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))

	for _, op := range []struct {
		method string
		body   []byte
	}{{http.MethodGet, nil}, {http.MethodPut, putPayload}} {
		newReq := func() *http.Request {
			var body io.Reader
			if op.body != nil {
				body = bytes.NewReader(op.body)
			}
			req, _ := http.NewRequest(op.method, url, body)
			if op.body != nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("If-Match", `"7"`)
			}
			return req
		}
		check := func(resp *http.Response, err error) {
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatal(resp.Status)
			}
		}
		b.Run(op.method+"/net/http", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				check(bare.Do(newReq()))
			}
		})
		b.Run(op.method+"/retryablehttp", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				var body any
				if op.body != nil {
					body = op.body
				}
				req, _ := retryablehttp.NewRequest(op.method, url, body)
				if op.body != nil {
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("If-Match", `"7"`)
				}
				check(rc.Do(req))
			}
		})
		b.Run(op.method+"/conflict", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				check(cc.Do(newReq()))
			}
		})
		b.Run(op.method+"/conflict+rule", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				check(cr.Do(newReq()))
			}
		})
	}
}
