package journal_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/journal"
	"github.com/go-conflict/conflict/jsonmerge"
)

// Every use of the root package's options by the tests is here.

// newClient returns the client the tests send through: JSON documents merge,
// waits and transport backoff are short, and tr (if any) is its transport.
func newClient(tr http.RoundTripper, extra ...conflict.Option) *conflict.Client {
	hc := &http.Client{Timeout: 10 * time.Second}
	if tr != nil {
		hc.Transport = tr
	} else {
		hc.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	opts := []conflict.Option{
		conflict.WithHTTPClient(hc),
		conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}),
		conflict.WithLimits(conflict.Limits{BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}),
		conflict.WithLimits(conflict.Limits{MaxWait: 50 * time.Millisecond}),
	}
	return conflict.New(append(opts, extra...)...)
}

// offlineClient is a client for a server that goes away: no transport
// retries, so that a refused connection is an answer at once.
func offlineClient(tr http.RoundTripper) *conflict.Client {
	return newClient(tr, conflict.WithLimits(conflict.Limits{TransportRetries: -1}))
}

// abortOf returns the *conflict.Error in err, or nil.
func abortOf(err error) *conflict.Error {
	var e *conflict.Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// isMergeConflict reports whether err is the client giving up on a merge.
func isMergeConflict(err error) bool { return errors.Is(err, conflict.ErrMergeConflict) }

// credTransport adds credentials to every request, as an OAuth transport
// would: the journal never sees them.
type credTransport struct {
	base   http.RoundTripper
	auth   string
	apiKey string
}

func (t *credTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", t.auth)
	r.Header.Set("X-Api-Key", t.apiKey)
	return t.base.RoundTrip(r)
}

// requireAuth wraps h: a request without the credentials is a 401.
func requireAuth(h http.Handler, auth, apiKey string, seen *int, mu *sync.Mutex) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != auth || r.Header.Get("X-Api-Key") != apiKey {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if mu != nil {
			mu.Lock()
			*seen++
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// switchable serves a handler on one loopback address that can be stopped
// (connections refused) and started again on the same address.
type switchable struct {
	t    testing.TB
	addr string
	h    http.Handler
	mu   sync.Mutex
	srv  *http.Server
}

func newSwitchable(t testing.TB, h http.Handler) *switchable {
	s := &switchable{t: t, h: h}
	s.start("127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

func (s *switchable) URL() string { return "http://" + s.addr }

func (s *switchable) start(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may take a moment to be free again
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen %s: %v", addr, err)
	}
	s.addr = ln.Addr().String()
	s.srv = &http.Server{Handler: s.h}
	go s.srv.Serve(ln)
}

// Start serves again on the same address.
func (s *switchable) Start() { s.start(s.addr) }

func (s *switchable) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close() // closes the listener and every connection
		s.srv = nil
	}
}

// Stop closes the listener: connections are refused.
func (s *switchable) Stop() { s.stop() }

// newAPI returns a conflicttest server that is not started: its handler is
// served by a switchable (or by itself when started).
func newAPI(t testing.TB, opts ...conflicttest.Option) *conflicttest.Server {
	srv := conflicttest.NewUnstartedServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// request builds a request with a JSON body and headers as name, value
// pairs.
func request(t testing.TB, ctx context.Context, method, url, body string, hdr ...string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

// readAll reads and closes a response body.
func readAll(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openJournal opens a journal file in a temporary directory.
func openJournal(t testing.TB, path string, c *conflict.Client, opts ...journal.Option) *journal.Journal {
	t.Helper()
	j, err := journal.Open(path, c, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return j
}

func nopBody(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

// patientClient is a client for a server that loses responses: a lost
// response to a merged write that the server applied comes back as stale
// again, and takes one more attempt.
func patientClient() *conflict.Client {
	return newClient(nil, conflict.WithLimits(conflict.Limits{MaxAttempts: 12}))
}

// drain reads and closes a response body.
func drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
