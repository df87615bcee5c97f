package conflict_test

// Adversarial tests: each is one class of hostile or quirky server behaviour
// (issue 17's list), thrown at the public API with a real httptest server.
// Each failed before the library handled its class.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/jsonmerge"
)

// docServer is a one-document JSON store with ETags: GET returns the
// document with ETag "N"; PUT with If-Match "N" replaces it; a stale PUT gets
// conflictBody (or a bare 412). Every request is logged.
type docServer struct {
	*httptest.Server
	mu       sync.Mutex
	doc      map[string]any
	version  int
	puts     [][]byte
	log      []*http.Request
	conflict func(w http.ResponseWriter) // answers a stale PUT; nil: 412
	get      func(w http.ResponseWriter, r *http.Request) bool
}

func newDocServer(t *testing.T, doc string) *docServer {
	t.Helper()
	s := &docServer{version: 1}
	if err := json.Unmarshal([]byte(doc), &s.doc); err != nil {
		t.Fatal(err)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *docServer) etag() string { return fmt.Sprintf(`"%d"`, s.version) }

func (s *docServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, r.Clone(context.Background()))
	switch r.Method {
	case http.MethodGet:
		if s.get != nil && s.get(w, r) {
			return
		}
		w.Header().Set("ETag", s.etag())
		json.NewEncoder(w).Encode(s.doc)
	case http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		s.puts = append(s.puts, body)
		if r.Header.Get("If-Match") != s.etag() {
			if s.conflict != nil {
				s.conflict(w)
				return
			}
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.doc, s.version = m, s.version+1
		w.Header().Set("ETag", s.etag())
		w.WriteHeader(http.StatusOK)
	}
}

// edit changes the document as another writer would.
func (s *docServer) edit(f func(m map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.doc)
	s.version++
}

func (s *docServer) putCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.puts)
}

// readThrough reads the document through c, so that c remembers its base,
// and returns it with its ETag.
func readThrough(t *testing.T, c *conflict.Client, u string, hdr ...string) (map[string]any, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	return m, resp.Header.Get("ETag")
}

func putJSON(t *testing.T, c *conflict.Client, u, etag string, doc any, hdr ...string) (*http.Response, error) {
	t.Helper()
	body, _ := json.Marshal(doc)
	req, _ := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.Do(req)
}

func mergeClient(opts ...conflict.Option) *conflict.Client {
	return conflict.New(append([]conflict.Option{
		conflict.WithRule("PUT /", conflict.Rule{Merge: jsonmerge.Merge}),
		conflict.WithLimits(conflict.Limits{BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond}),
	}, opts...)...)
}

// 1. A conflict body's "current" that is a summary is not the document.
func TestAdversarialPartialCurrent(t *testing.T) {
	t.Parallel()
	s := newDocServer(t, `{"title":"Draft","body":"Hello","status":"draft","updated_by":"ana"}`)
	s.conflict = func(w http.ResponseWriter) {
		w.Header().Set("ETag", s.etag())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, `{"error":"version_conflict","current":{"version":%d,"status":"draft","updated_by":"bob"}}`, s.version)
	}
	c := mergeClient()
	doc, etag := readThrough(t, c, s.URL+"/d/1")
	s.edit(func(m map[string]any) { m["updated_by"] = "bob" })
	doc["title"] = "Final"
	resp, err := putJSON(t, c, s.URL+"/d/1", etag, doc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s.doc["body"] != "Hello" || s.doc["title"] != "Final" || s.doc["updated_by"] != "bob" {
		t.Errorf("document now %v: the summary was merged as the whole document", s.doc)
	}
}

// 2. A version field inside an array is written in place; the array stays.
func TestAdversarialVersionFieldThroughArray(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	doc := `{"meta":[{"rev":1},{"other":"x"}],"title":"a"}`
	rev := 1
	var last []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodGet:
			io.WriteString(w, doc)
		case http.MethodPut:
			body, _ := io.ReadAll(r.Body)
			var m struct{ Meta []map[string]any }
			json.Unmarshal(body, &m)
			if len(m.Meta) == 0 || m.Meta[0]["rev"] != float64(rev) {
				w.WriteHeader(http.StatusConflict)
				io.WriteString(w, `{"error":"conflict","reason":"Document update conflict."}`)
				return
			}
			last, doc, rev = body, string(body), rev+1
		}
	}))
	t.Cleanup(srv.Close)
	c := conflict.New(conflict.WithRule("PUT /d/{id}", conflict.Rule{Merge: jsonmerge.Merge, Versions: []conflict.Version{{Send: conflict.Field("/meta/0/rev")}}}))
	readThrough(t, c, srv.URL+"/d/1")
	mu.Lock()
	doc, rev = `{"meta":[{"rev":2},{"other":"x"}],"title":"a","extra":true}`, 2
	mu.Unlock()
	resp, err := putJSON(t, c, srv.URL+"/d/1", "", map[string]any{"meta": []any{map[string]any{"rev": 1}, map[string]any{"other": "x"}}, "title": "b"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if string(last) != `{"meta":[{"rev":2},{"other":"x"}],"title":"b","extra":true}` {
		t.Errorf("merged write %s: want the array kept with its rev set in place", last)
	}
}

// 3. Only one strong entity tag is ever sent as If-Match.
func TestAdversarialETagNotStrong(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{`*`, `abc`, `"1", "2"`, `w/"1"`, `W/"1"`, `"a"b"`} {
		t.Run(bad, func(t *testing.T) {
			t.Parallel()
			s := newDocServer(t, `{"a":1}`)
			c := conflict.New(conflict.WithRule("PUT /", conflict.Rule{Resolve: conflict.ClientWins}))
			s.get = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("ETag", bad)
				io.WriteString(w, `{"a":1}`)
				return true
			}
			_, err := putJSON(t, c, s.URL+"/d", `"0"`, map[string]any{"a": 2})
			if err == nil {
				t.Fatal("the write went out")
			}
			for _, r := range s.log {
				if r.Method == http.MethodPut && r.Header.Get("If-Match") != `"0"` {
					t.Errorf("sent If-Match %q", r.Header.Get("If-Match"))
				}
			}
		})
	}
}

// 4. A refresh redirected to another resource on the same origin is not a
// read of the resource.
func TestAdversarialRedirectedRefresh(t *testing.T) {
	t.Parallel()
	s := newDocServer(t, `{"a":1}`)
	s.get = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/d/1" && len(s.puts) > 0 {
			http.Redirect(w, r, "/d/2", http.StatusFound)
			return true
		}
		return false
	}
	c := mergeClient()
	doc, etag := readThrough(t, c, s.URL+"/d/1")
	s.edit(func(m map[string]any) { m["b"] = 2 })
	doc["a"] = 5
	_, err := putJSON(t, c, s.URL+"/d/1", etag, doc)
	if err == nil || !strings.Contains(err.Error(), "redirected") {
		t.Fatalf("err = %v, want a refusal of the redirected read", err)
	}
	if n := s.putCount(); n != 1 {
		t.Errorf("%d PUTs, want only the first", n)
	}
}

// 5. What a merge function returns is checked before it is sent.
func TestAdversarialMergeReturnsGarbage(t *testing.T) {
	t.Parallel()
	for name, merged := range map[string][]byte{"invalid": []byte(`{"a":`), "nil": nil, "two values": []byte(`{} {}`)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newDocServer(t, `{"a":1}`)
			c := conflict.New(conflict.WithRule("PUT /", conflict.Rule{Merge: func(_, _, _ []byte) ([]byte, error) { return merged, nil }}))
			doc, etag := readThrough(t, c, s.URL+"/d")
			s.edit(func(m map[string]any) { m["b"] = 2 })
			if _, err := putJSON(t, c, s.URL+"/d", etag, doc); !errors.Is(err, conflict.ErrUnrecoverable) {
				t.Fatalf("err = %v", err)
			}
			if n := s.putCount(); n != 1 {
				t.Errorf("%d PUTs, want only the first", n)
			}
		})
	}
}

// usersServer answers every POST /users with a duplicate naming an existing
// user who is someone else.
func usersServer(t *testing.T, location string, existing string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var reads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			reads.Add(1)
			io.WriteString(w, existing)
		default:
			w.Header().Set("Location", location)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"code":"already_exists","message":"user already exists"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &reads
}

// 6. Empty values are no evidence that an existing resource is ours.
func TestAdversarialAdoptEmptyEvidence(t *testing.T) {
	t.Parallel()
	srv, _ := usersServer(t, "/users/u9", `{"id":"u9","name":"Mallory","email":"m@example.com"}`)
	for _, body := range []string{`{"name":"","email":null}`, `{}`, `{"tags":[],"meta":{}}`} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/users", strings.NewReader(body))
		resp, err := conflict.New().Do(req)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: adopted %s", body, conflict.ResultOf(resp).Outcome)
		}
	}
}

// 7. Recovery reads never follow redirects to another origin, and no header
// of the caller's reaches it.
func TestAdversarialRedirectCrossOrigin(t *testing.T) {
	t.Parallel()
	var foreign atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreign.Add(1)
		io.WriteString(w, `{"a":1,"name":"x"}`)
	}))
	t.Cleanup(evil.Close)
	s := newDocServer(t, `{"a":1}`)
	s.get = func(w http.ResponseWriter, r *http.Request) bool {
		if len(s.puts) > 0 || r.URL.Path == "/users/u1" {
			http.Redirect(w, r, evil.URL+r.URL.Path, http.StatusTemporaryRedirect)
			return true
		}
		return false
	}
	c := mergeClient()
	doc, etag := readThrough(t, c, s.URL+"/d")
	s.edit(func(m map[string]any) { m["b"] = 2 })
	if _, err := putJSON(t, c, s.URL+"/d", etag, doc, "X-Api-Key", "secret", "Authorization", "Bearer t"); err == nil {
		t.Error("the refresh followed the redirect")
	}
	users, _ := usersServer(t, "/users/u1", "")
	users.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, evil.URL+"/users/u1", http.StatusTemporaryRedirect)
			return
		}
		w.Header().Set("Location", "/users/u1")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"code":"already_exists"}`)
	})
	req, _ := http.NewRequest(http.MethodPost, users.URL+"/users", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("X-Api-Key", "secret")
	if _, err := conflict.New().Do(req); err == nil {
		t.Error("the adoption followed the redirect")
	}
	if n := foreign.Load(); n != 0 {
		t.Errorf("the other origin got %d requests", n)
	}
}

// 8. No URL secret (query or user information) reaches an event, a log line
// or an error string.
func TestAdversarialSecretsNotLogged(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"code":"invalid_transition","message":"nope"}`)
	}))
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	var events []string
	var mu sync.Mutex
	c := conflict.New(
		conflict.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		conflict.WithHook(func(_ context.Context, ev conflict.Event) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, fmt.Sprintf("%+v %v", ev, ev.Err))
		}),
		conflict.WithLimits(conflict.Limits{BackoffMin: time.Millisecond, BackoffMax: time.Millisecond}),
	)
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("user", "pa55word")
	u.RawQuery = "access_token=SECRET-TOKEN"
	req, _ := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(`{}`))
	_, err := c.Do(req)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/x?access_token=SECRET-TOKEN"
	dead.Close()
	req2, _ := http.NewRequest(http.MethodGet, deadURL, nil)
	_, err2 := c.Do(req2)
	all := logs.String() + strings.Join(events, "\n") + fmt.Sprint(err) + fmt.Sprint(err2)
	for _, secret := range []string{"SECRET-TOKEN", "pa55word"} {
		if strings.Contains(all, secret) {
			t.Errorf("%s leaked:\n%s", secret, all)
		}
	}
	if err == nil || err2 == nil || len(events) == 0 {
		t.Errorf("err %v, err2 %v, %d events", err, err2, len(events))
	}
}

// 9. A base read with one set of credentials never serves another's write.
func TestAdversarialBaseCacheCredentials(t *testing.T) {
	t.Parallel()
	s := newDocServer(t, `{"name":"ana","salary":100000,"ssn":"123"}`)
	c := mergeClient()
	_, etag := readThrough(t, c, s.URL+"/u/1", "Authorization", "Bearer admin")
	s.edit(func(m map[string]any) { m["name"] = "Ana" })
	_, err := putJSON(t, c, s.URL+"/u/1", etag, map[string]any{"name": "ann"}, "Authorization", "Bearer user-b")
	var e *conflict.Error
	if !errors.As(err, &e) || !errors.Is(err, conflict.ErrNoBase) {
		t.Fatalf("err = %v, want ErrNoBase for a base read by another caller", err)
	}
	if bytes.Contains(e.Base, []byte("salary")) {
		t.Errorf("user B's error shows the admin's read: %s", e.Base)
	}
}

// 10. MaxElapsed bounds every send, read and wait of a call.
func TestAdversarialMaxElapsedBound(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	cases := map[string]http.HandlerFunc{
		"slow refresh": func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				select {
				case <-hang:
				case <-r.Context().Done():
				}
				return
			}
			w.WriteHeader(http.StatusPreconditionFailed)
		},
		"503 with Retry-After": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
		},
		"trickling 409 body": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusConflict)
			for i := 0; i < 100; i++ {
				io.WriteString(w, " ")
				w.(http.Flusher).Flush()
				select {
				case <-hang:
					return
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		},
		"idempotency key in use": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"error":{"type":"idempotency_error","code":"idempotency_key_in_use"}}`)
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			c := conflict.New(
				conflict.WithRule("PUT /", conflict.Rule{Resolve: conflict.ClientWins}),
				conflict.WithLimits(conflict.Limits{MaxElapsed: 300 * time.Millisecond, MaxWait: 10 * time.Second, MaxAttempts: 100}),
			)
			start := time.Now()
			req, _ := http.NewRequest(http.MethodPut, srv.URL+"/d", strings.NewReader(`{}`))
			if name == "idempotency key in use" {
				req.Method = http.MethodPost
			}
			req.Header.Set("If-Match", `"1"`)
			resp, err := c.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if d := time.Since(start); d > 1500*time.Millisecond {
				t.Errorf("the call took %v with MaxElapsed 300ms (err %v)", d, err)
			}
		})
	}
}

// 11. Giving up touches nothing of the caller's: idle connections to other
// hosts stay open.
func TestAdversarialGiveUpKeepsIdleConnections(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	other.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	other.Start()
	t.Cleanup(other.Close)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(down.Close)
	hc := &http.Client{Transport: &http.Transport{}}
	get := func(u string) {
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get(other.URL)
	c := conflict.New(conflict.WithHTTPClient(hc), conflict.WithLimits(conflict.Limits{TransportRetries: 1, BackoffMin: time.Millisecond, BackoffMax: time.Millisecond}))
	for _, m := range []string{http.MethodGet, http.MethodPatch} {
		req, _ := http.NewRequest(m, down.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get(other.URL)
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections to the other host, want its idle one reused", n)
	}
}

// 12. A cookie jar's cookie is sent once per request, and the caller's
// request is never modified.
func TestAdversarialCookieJarNotDuplicated(t *testing.T) {
	t.Parallel()
	s := newDocServer(t, `{"a":1}`)
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(s.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "sid", Value: "abc"}})
	c := mergeClient(conflict.WithHTTPClient(&http.Client{Jar: jar}))
	doc, etag := readThrough(t, c, s.URL+"/d")
	s.edit(func(m map[string]any) { m["b"] = 2 })
	body, _ := json.Marshal(map[string]any{"a": 5})
	req, _ := http.NewRequest(http.MethodPut, s.URL+"/d", bytes.NewReader(body))
	req.Header.Set("If-Match", etag)
	_ = doc
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := req.Header.Get("Cookie"); got != "" {
		t.Errorf("the caller's request now carries Cookie: %s", got)
	}
	for _, r := range s.log {
		if got := r.Header.Values("Cookie"); len(got) != 1 || got[0] != "sid=abc" {
			t.Errorf("%s sent Cookie %q", r.Method, got)
		}
	}
}

// signer signs each request's body, as a SigV4- or HMAC-style transport does.
type signer struct{ key []byte }

func (s signer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	mac := hmac.New(sha256.New, s.key)
	mac.Write(body)
	r.Header.Set("X-Signature", hex.EncodeToString(mac.Sum(nil)))
	return http.DefaultTransport.RoundTrip(r)
}

// 13. A merged re-send drops the headers that describe the old body, and a
// signing transport signs the body actually sent.
func TestAdversarialBodyHeadersOnMergedResend(t *testing.T) {
	t.Parallel()
	s := newDocServer(t, `{"a":1}`)
	key := []byte("k")
	var badSig atomic.Int32
	inner := s.Config.Handler
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		if r.Header.Get("X-Signature") != hex.EncodeToString(mac.Sum(nil)) {
			badSig.Add(1)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		inner.ServeHTTP(w, r)
	})
	c := mergeClient(conflict.WithTransport(signer{key}))
	doc, etag := readThrough(t, c, s.URL+"/d")
	s.edit(func(m map[string]any) { m["b"] = 2 })
	doc["a"] = 5
	resp, err := putJSON(t, c, s.URL+"/d", etag, doc, "Content-Digest", "sha-256=:old:", "Content-MD5", "old", "Digest", "old", "Repr-Digest", "old")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	last := s.log[len(s.log)-1]
	for _, h := range []string{"Content-Digest", "Content-MD5", "Digest", "Repr-Digest"} {
		if last.Header.Get(h) != "" {
			t.Errorf("the merged re-send carries the old %s", h)
		}
	}
	if n := badSig.Load(); n != 0 {
		t.Errorf("%d requests with a signature that does not match the body sent", n)
	}
	if s.doc["a"] != float64(5) || s.doc["b"] != float64(2) {
		t.Errorf("document %v", s.doc)
	}
}

// 14. StandardClient's RoundTrip does not follow redirects: the
// *http.Client around it does, with its own CheckRedirect.
func TestAdversarialStandardClientRedirect(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a" {
			http.Redirect(w, r, "/b", http.StatusFound)
			return
		}
		io.WriteString(w, "b")
	}))
	t.Cleanup(srv.Close)
	hc := conflict.New().StandardClient()
	var checked int
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { checked++; return nil }
	resp, err := hc.Get(srv.URL + "/a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if checked != 1 || resp.Request.URL.Path != "/b" {
		t.Errorf("CheckRedirect called %d times, ended at %s", checked, resp.Request.URL.Path)
	}
}

// 15. Adoption is for creates: an update answered "duplicate" is not adopted.
func TestAdversarialNoAdoptionOfUpdate(t *testing.T) {
	t.Parallel()
	srv, reads := usersServer(t, "/users/u2", `{"id":"u2","name":"x"}`)
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/users/u1", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("If-Match", `"3"`)
	if _, err := conflict.New().Do(req); err == nil {
		t.Error("an update was adopted as another resource")
	}
	if reads.Load() != 0 {
		t.Errorf("%d reads of another resource", reads.Load())
	}
}

// 16. A write whose response was lost is not applied twice.
func TestAdversarialLostResponseNotAppliedTwice(t *testing.T) {
	t.Parallel()
	s := newDocServer(t, `{"a":1,"n":0}`)
	var commits, dropped atomic.Int32
	inner := s.Config.Handler
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		if r.Method == http.MethodPut && rec.Code == http.StatusOK {
			commits.Add(1)
			if dropped.Add(1) == 1 {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close() // committed, but the answer is lost
				return
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
	c := mergeClient()
	doc, etag := readThrough(t, c, s.URL+"/d")
	doc["n"] = 1
	resp, err := putJSON(t, c, s.URL+"/d", etag, doc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := commits.Load(); n != 1 {
		t.Errorf("%d commits, want 1", n)
	}
	if s.doc["n"] != float64(1) {
		t.Errorf("document %v", s.doc)
	}
}

// 17. Update keeps members T does not model inside array elements, numbers
// exact, and the server's spelling of a member.
func TestAdversarialUpdateKeepsUnmodeled(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	stored := `{"Title":"a","items":[{"name":"x","extra":{"keep":true}},{"name":"y","id":12345678901234567890}],"big":12345678901234567890}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPut {
			body, _ := io.ReadAll(r.Body)
			stored = string(body)
		}
		w.Header().Set("ETag", `"1"`)
		io.WriteString(w, stored)
	}))
	t.Cleanup(srv.Close)
	type item struct {
		Name string `json:"name"`
	}
	type doc struct {
		Title string `json:"title"`
		Items []item `json:"items"`
	}
	_, err := conflict.Update(context.Background(), conflict.New(), srv.URL+"/d", func(d *doc) error {
		d.Title = "b"
		d.Items[0].Name = "z"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Title":"b","items":[{"name":"z","extra":{"keep":true}},{"name":"y","id":12345678901234567890}],"big":12345678901234567890}`
	if stored != want {
		t.Errorf("wrote  %s\nwant   %s", stored, want)
	}
}

// 18. Ids and Locations never move an adoption read out of the collection.
func TestAdversarialExistingIDEscapes(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"code":"already_exists","existing_id":".."}`,
		`{"code":"already_exists","existing_id":"../../t/other/users/u1"}`,
		`{"code":"already_exists","existing_id":"a/../../../t/other/users/u1"}`,
		`{"code":"already_exists","location":"/t/acme/users/..%2F..%2Fother%2Fusers%2Fu1"}`,
		`{"code":"already_exists","location":"/t/other/users/u1"}`,
	} {
		var outside atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				if !strings.HasPrefix(r.URL.EscapedPath(), "/t/acme/users/") || strings.Contains(r.URL.Path, "..") {
					outside.Add(1)
				}
				io.WriteString(w, `{"name":"x"}`)
				return
			}
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, body)
		}))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/t/acme/users", strings.NewReader(`{"name":"x"}`))
		resp, err := conflict.New().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if outside.Load() != 0 {
			t.Errorf("%s: a read left the collection", body)
		}
		srv.Close()
	}
}

// 19. A key the caller gave is found in any spelling, and sent on any
// method.
func TestAdversarialKeySpelling(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	c := conflict.New()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{}`))
	req.Header["idempotency-key"] = []string{"k-1"}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req2, _ := http.NewRequestWithContext(conflict.WithIdempotencyKey(context.Background(), "k-2"), http.MethodPatch, srv.URL, strings.NewReader(`{}`))
	resp, err = c.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The server reads headers canonically: one key, the caller's.
	if got := seen[0].Values("Idempotency-Key"); len(got) != 1 || got[0] != "k-1" {
		t.Errorf("first request's keys %q", got)
	}
	if got := seen[1].Values("Idempotency-Key"); len(got) != 1 || got[0] != "k-2" {
		t.Errorf("PATCH keys %q", got)
	}
}

// 20. Rules that http.ServeMux accepts together are accepted together.
func TestAdversarialRulesDifferentWildcards(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("New panicked: %v", r)
		}
	}()
	conflict.New(
		conflict.WithRule("PUT /docs/{id}", conflict.Rule{}),
		conflict.WithRule("PATCH /docs/{name}", conflict.Rule{}),
		conflict.WithRule("GET /docs/{x}", conflict.Rule{}),
	)
}

// 21. Server text cannot forge a log line: Error and Conflict.String stay
// on one line.
func TestAdversarialLogForging(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"code":"invalid_state\r\nlevel=ERROR","message":"cannot ship\nlevel=ERROR msg=\"admin logged in\""}`)
	}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{}`))
	_, err := conflict.New().Do(req)
	var e *conflict.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	for _, s := range []string{err.Error(), e.Conflict.String()} {
		if strings.ContainsAny(s, "\r\n") {
			t.Errorf("not one line: %q", s)
		}
	}
}

// Also: a base read with json.NewDecoder, which stops before EOF, is
// remembered once the body is closed.
func TestAdversarialDecoderBase(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 40<<10)
	s := newDocServer(t, `{"a":1,"pad":"`+big+`"}`)
	c := mergeClient()
	doc, etag := readThrough(t, c, s.URL+"/d") // decodes, then closes
	s.edit(func(m map[string]any) { m["b"] = 2 })
	doc["a"] = 5
	resp, err := putJSON(t, c, s.URL+"/d", etag, doc)
	if err != nil {
		t.Fatalf("%v", err)
	}
	resp.Body.Close()
	if conflict.ResultOf(resp).Outcome != conflict.Merged {
		t.Errorf("outcome %v", conflict.ResultOf(resp).Outcome)
	}
}

// Also 7: a re-send redirected to another origin is not followed, so the
// caller's headers never reach it.
func TestAdversarialResendRedirectCrossOrigin(t *testing.T) {
	t.Parallel()
	var foreign atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreign.Add(1) }))
	t.Cleanup(evil.Close)
	s := newDocServer(t, `{"a":1}`)
	inner := s.Config.Handler
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		current := r.Method == http.MethodPut && r.Header.Get("If-Match") == s.etag()
		s.mu.Unlock()
		if current { // the rebuilt re-send: sent elsewhere
			http.Redirect(w, r, evil.URL+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		inner.ServeHTTP(w, r)
	})
	c := mergeClient()
	doc, etag := readThrough(t, c, s.URL+"/d", "X-Api-Key", "secret")
	s.edit(func(m map[string]any) { m["b"] = 2 })
	doc["a"] = 5
	resp, err := putJSON(t, c, s.URL+"/d", etag, doc, "X-Api-Key", "secret")
	if err != nil {
		t.Fatalf("err = %v, want the rebuilt re-send to be sent (and answered 307)", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("status %d, want the redirect itself", resp.StatusCode)
	}
	if n := foreign.Load(); n != 0 {
		t.Errorf("the other origin got %d requests", n)
	}
}

// StandardClient keeps the Jar, CheckRedirect and Timeout of the client
// given to WithHTTPClient.
func TestStandardClientKeepsClientSettings(t *testing.T) {
	t.Parallel()
	jar, _ := cookiejar.New(nil)
	checked := false
	hc := &http.Client{Jar: jar, Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		checked = true
		return nil
	}}
	sc := conflict.New(conflict.WithHTTPClient(hc)).StandardClient()
	if sc.Jar != jar || sc.Timeout != 5*time.Second || sc.CheckRedirect == nil {
		t.Fatalf("StandardClient %+v lost the client's settings", sc)
	}
	sc.CheckRedirect(nil, nil)
	if !checked {
		t.Error("StandardClient's CheckRedirect is not the client's")
	}
}
