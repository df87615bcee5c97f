package conflict

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pcLog records what a probe server received: each request's method, path
// (as the server decoded it), idempotency key and body.
type pcLog struct {
	mu   sync.Mutex
	reqs []pcReq
}

type pcReq struct{ method, path, rawPath, key, body string }

func (l *pcLog) add(r *http.Request) pcReq {
	b, _ := io.ReadAll(r.Body)
	pr := pcReq{r.Method, r.URL.Path, r.URL.EscapedPath(), r.Header.Get("Idempotency-Key"), string(b)}
	l.mu.Lock()
	l.reqs = append(l.reqs, pr)
	l.mu.Unlock()
	return pr
}

func (l *pcLog) all() []pcReq {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]pcReq(nil), l.reqs...)
}

func (l *pcLog) count(method string) int {
	n := 0
	for _, r := range l.all() {
		if r.method == method {
			n++
		}
	}
	return n
}

// pcServer starts a server whose handler h sees every request after it is
// logged (its body already read into the log).
func pcServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, pr pcReq)) (*httptest.Server, *pcLog) {
	t.Helper()
	log := &pcLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr := log.add(r)
		h(w, r, pr)
	}))
	t.Cleanup(srv.Close)
	return srv, log
}

func pcJSON(w http.ResponseWriter, status int, body string, kv ...string) {
	w.Header().Set("Content-Type", "application/json")
	for i := 0; i+1 < len(kv); i += 2 {
		w.Header().Set(kv[i], kv[i+1])
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// pcWaits records the waits of a call through its events.
type pcWaits struct {
	mu sync.Mutex
	d  []time.Duration
	k  []Kind
}

func (p *pcWaits) hook() Option {
	return WithHook(func(_ context.Context, e Event) {
		if e.Step == StepWait {
			p.mu.Lock()
			p.d = append(p.d, e.Wait)
			p.k = append(p.k, e.Kind)
			p.mu.Unlock()
		}
	})
}

func (p *pcWaits) get() ([]time.Duration, []Kind) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.d...), append([]Kind(nil), p.k...)
}

// TestProbeCreateLocateExistingStaysInCollection checks that a rule's
// LocateExisting that builds the lookup URL from the server's existing id
// (the obvious "/users/" + cf.ExistingID) cannot be steered out of the
// request's collection by an id with dot segments: Rule.LocateExisting's
// doc says "A URL that leaves the request's origin or collection is not
// read", and the default lookup refuses the same ids. The resource outside
// the collection matches the request's fields, so reading it ends in a
// wrong adoption: success reported for a create that did not happen, with
// another collection's resource.
func TestProbeCreateLocateExistingStaysInCollection(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"../admins/root", "./../admins/root", "a/../../admins/root"} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			var outside atomic.Int32
			srv, log := pcServer(t, func(w http.ResponseWriter, r *http.Request, pr pcReq) {
				switch r.Method {
				case http.MethodPost:
					pcJSON(w, 409, `{"code":"already_exists","message":"user exists","existing_id":"`+id+`"}`)
				case http.MethodGet:
					if !strings.HasPrefix(path.Clean(r.URL.Path)+"/", "/users/") || path.Clean(r.URL.Path) == "/users" {
						outside.Add(1)
						pcJSON(w, 200, `{"id":"root","email":"ana@example.com","name":"Ana","role":"admin"}`)
						return
					}
					pcJSON(w, 404, `{"error":"not_found"}`)
				}
			})
			c := New(WithRule("POST /users", Rule{LocateExisting: func(_ context.Context, cf *Conflict, _ *http.Request) (string, error) {
				return "/users/" + cf.ExistingID, nil
			}}))
			resp, err := c.Do(newRequest(t, "POST", srv.URL+"/users", `{"email":"ana@example.com","name":"Ana"}`))
			if err == nil {
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				t.Errorf("adopted (outcome %v, status %d, Location %q): %s", ResultOf(resp).Outcome, resp.StatusCode, resp.Header.Get("Location"), got)
			}
			if n := outside.Load(); n != 0 {
				var paths []string
				for _, r := range log.all() {
					if r.method == http.MethodGet {
						paths = append(paths, r.path)
					}
				}
				t.Errorf("%d lookup read(s) left /users/: %v", n, paths)
			}
		})
	}
}

// TestProbeCreateWaitCappedByMaxWait checks that Limits.MaxWait caps every
// wait of an idempotency key in use or a locked resource, also when the
// server names no Retry-After and the client backs off on its own: the
// Limits doc says "MaxWait caps any single wait". A caller who sets
// MaxWait to 30ms and keeps the default BackoffMin (50ms) must not wait 50ms
// and more (the transport-retry path caps its backoff at MaxWait).
func TestProbeCreateWaitCappedByMaxWait(t *testing.T) {
	t.Parallel()
	for _, status := range []int{409, 423} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			srv, _ := pcServer(t, func(w http.ResponseWriter, r *http.Request, pr pcReq) {
				if n.Add(1) <= 3 {
					if status == 409 {
						pcJSON(w, 409, `{"error":"idempotency_key_in_use","message":"a request with this key is in progress"}`)
					} else {
						pcJSON(w, 423, `{"error":"locked","message":"the resource is locked"}`)
					}
					return
				}
				pcJSON(w, 201, `{"id":"u1","email":"a@example.com"}`)
			})
			var ws waits // skip the real sleeps; record them
			var ev pcWaits
			const maxWait = 30 * time.Millisecond
			c := New(ws.option(), ev.hook(), WithLimits(Limits{MaxWait: maxWait}))
			resp, err := c.Do(newRequest(t, "POST", srv.URL+"/users", `{"email":"a@example.com"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if r := ResultOf(resp); r.Outcome != Waited || r.Attempts != 4 {
				t.Errorf("Result %+v, want waited after 4 attempts", r)
			}
			ds, _ := ev.get()
			if len(ds) != 3 {
				t.Fatalf("%d waits, want 3", len(ds))
			}
			for i, d := range ds {
				if d > maxWait {
					t.Errorf("wait %d is %v, longer than MaxWait %v", i+1, d, maxWait)
				}
			}
		})
	}
}

// TestProbeCreateRetryAfterBounded checks that a server answering a create
// with "key in use" (409) or Locked (423) forever, with any Retry-After
// (huge, negative, a past date, a far future date, garbage, fractional),
// holds the call no longer than MaxElapsed, that no wait is longer than
// MaxWait, that the call ends in an error (attempts exhausted, or the
// call's deadline during a send) rather than a guess,
// and that every send carries the same key and the same body.
func TestProbeCreateRetryAfterBounded(t *testing.T) {
	t.Parallel()
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	future := time.Now().Add(1000 * time.Hour).UTC().Format(http.TimeFormat)
	cases := []struct{ name, ra string }{
		{"huge", "999999999999"}, {"day", "86400"}, {"negative", "-5"}, {"past", past},
		{"future", future}, {"garbage", "soon"}, {"fraction", "0.5"}, {"none", ""},
	}
	for _, status := range []int{409, 423} {
		for _, tc := range cases {
			t.Run(http.StatusText(status)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				srv, log := pcServer(t, func(w http.ResponseWriter, r *http.Request, pr pcReq) {
					kv := []string{}
					if tc.ra != "" {
						kv = append(kv, "Retry-After", tc.ra)
					}
					if status == 409 {
						pcJSON(w, 409, `{"error":"idempotency_key_in_use"}`, kv...)
					} else {
						pcJSON(w, 423, `{"error":"locked"}`, kv...)
					}
				})
				var ev pcWaits
				const maxElapsed, maxWait = 250 * time.Millisecond, 40 * time.Millisecond
				c := New(ev.hook(), WithLimits(Limits{MaxElapsed: maxElapsed, MaxWait: maxWait, MaxAttempts: 10000,
					BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond}))
				start := time.Now()
				_, err := c.Do(newRequest(t, "POST", srv.URL+"/users", `{"email":"a@example.com"}`))
				el := time.Since(start)
				// The time limit may end the call between sends (attempts
				// exhausted) or during one (its deadline).
				if !errors.Is(err, ErrAttemptsExhausted) && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, want ErrAttemptsExhausted or the call's deadline", err)
				}
				if el > maxElapsed+time.Second {
					t.Errorf("call took %v, MaxElapsed %v", el, maxElapsed)
				}
				ds, _ := ev.get()
				for _, d := range ds {
					if d > maxWait || d < 0 {
						t.Errorf("waited %v, MaxWait %v", d, maxWait)
					}
				}
				reqs := log.all()
				if len(reqs) < 2 {
					t.Errorf("%d sends: a capped Retry-After should leave time to try again", len(reqs))
				}
				for _, r := range reqs {
					if r.method != http.MethodPost || r.key == "" || r.key != reqs[0].key || r.body != reqs[0].body {
						t.Errorf("send %+v differs from the first %+v", r, reqs[0])
					}
				}
			})
		}
	}
}

// TestProbeCreateHangEndsByMaxElapsed checks that once a create met a
// conflict, nothing the server does can hold the call past MaxElapsed: a
// re-send after a wait that is never answered, an adoption lookup that is
// never answered, a lookup whose body trickles, a conflict body that never
// ends. Each ends in an error, never a success.
func TestProbeCreateHangEndsByMaxElapsed(t *testing.T) {
	t.Parallel()
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	cases := map[string]func(n int32, w http.ResponseWriter, r *http.Request){
		"resend": func(n int32, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				pcJSON(w, 409, `{"error":"idempotency_key_in_use"}`, "Retry-After", "0")
				return
			}
			hang(w, r)
		},
		"lookup": func(n int32, w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				pcJSON(w, 409, `{"code":"already_exists"}`, "Location", "/users/u1")
				return
			}
			hang(w, r)
		},
		"lookup-body": func(n int32, w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				pcJSON(w, 409, `{"code":"already_exists"}`, "Location", "/users/u1")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			io.WriteString(w, `{"email":"a@example.com",`)
			w.(http.Flusher).Flush()
			hang(w, r)
		},
		"conflict-body": func(n int32, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(409)
			io.WriteString(w, `{"error":"idempotency_key_in_use",`)
			w.(http.Flusher).Flush()
			hang(w, r)
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			srv, _ := pcServer(t, func(w http.ResponseWriter, r *http.Request, pr pcReq) { h(n.Add(1), w, r) })
			const maxElapsed = 300 * time.Millisecond
			c := New(WithLimits(Limits{MaxElapsed: maxElapsed, MaxWait: 10 * time.Millisecond, BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond}))
			start := time.Now()
			resp, err := c.Do(newRequest(t, "POST", srv.URL+"/users", `{"email":"a@example.com"}`))
			el := time.Since(start)
			if err == nil {
				resp.Body.Close()
				t.Errorf("success (outcome %v, status %d) from a server that never answered", ResultOf(resp).Outcome, resp.StatusCode)
			}
			if el > maxElapsed+1500*time.Millisecond {
				t.Errorf("call took %v, MaxElapsed %v (err %v)", el, maxElapsed, err)
			}
		})
	}
}

// TestProbeCreateLostAnswerThenDuplicate checks a create whose first send
// was applied and its answer lost (the connection dropped after the server
// created the user), on a server that ignores idempotency keys but keeps
// emails unique: the transport retry (same key, same body) is answered 409
// duplicate, and the client adopts the one user that exists, its own. One
// user is created, and the answer is that user.
func TestProbeCreateLostAnswerThenDuplicate(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	users := map[string]string{} // email -> id
	var creates atomic.Int32
	srv, log := pcServer(t, func(w http.ResponseWriter, r *http.Request, pr pcReq) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodPost:
			m := map[string]any{}
			if err := json.Unmarshal([]byte(pr.body), &m); err != nil {
				w.WriteHeader(400)
				return
			}
			email, _ := m["email"].(string)
			if id, ok := users[email]; ok {
				pcJSON(w, 409, `{"code":"already_exists","field":"email","message":"email already exists"}`, "Location", "/users/"+id)
				return
			}
			creates.Add(1)
			users[email] = "u1"
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close() // created, answer lost
		case http.MethodGet:
			if r.URL.Path == "/users/u1" {
				pcJSON(w, 200, `{"id":"u1","email":"ana@example.com","name":"Ana"}`)
				return
			}
			pcJSON(w, 404, `{}`)
		}
	})
	c := New(WithLimits(Limits{BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond}))
	resp, body := do(t, c, newRequest(t, "POST", srv.URL+"/users", `{"email":"ana@example.com","name":"Ana"}`))
	if r := ResultOf(resp); r.Outcome != Adopted || resp.StatusCode != 201 || decode(t, body)["id"] != "u1" {
		t.Errorf("Result %+v, status %d, body %s: want the one user adopted", r, resp.StatusCode, body)
	}
	if n := creates.Load(); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	var posts []pcReq
	for _, r := range log.all() {
		if r.method == http.MethodPost {
			posts = append(posts, r)
		}
	}
	if len(posts) != 2 || posts[0].key == "" || posts[0].key != posts[1].key || posts[0].body != posts[1].body {
		t.Errorf("POSTs %+v: want two sends of one intent under one key", posts)
	}
}

// TestProbeCreateLostAnswerThenKeyInUse checks a create whose first send
// committed and lost its answer on a server that honours keys and is still
// finishing the first request when the retry arrives: the retry is answered
// 409 "key in use", the client waits, re-sends the same body under the same
// key, and gets the stored answer. Exactly one resource is created and the
// call reports Waited with that resource.
func TestProbeCreateLostAnswerThenKeyInUse(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var done time.Time // when the first request's key completes
	var stored, storedKey string
	var creates atomic.Int32
	srv, log := pcServer(t, func(w http.ResponseWriter, r *http.Request, pr pcReq) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case stored == "":
			creates.Add(1)
			stored, storedKey = `{"id":"o1","item":"book"}`, pr.key
			done = time.Now().Add(80 * time.Millisecond)
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case pr.key != storedKey:
			creates.Add(1)
			pcJSON(w, 201, `{"id":"o2","item":"book"}`)
		case time.Now().Before(done):
			pcJSON(w, 409, `{"error":"idempotency_key_in_use","message":"a request with this key is in progress"}`, "Retry-After", "0")
		default:
			pcJSON(w, 201, stored, "Idempotent-Replayed", "true")
		}
	})
	c := New(WithLimits(Limits{BackoffMin: 5 * time.Millisecond, BackoffMax: 10 * time.Millisecond, MaxWait: 20 * time.Millisecond, MaxElapsed: 5 * time.Second}))
	resp, body := do(t, c, newRequest(t, "POST", srv.URL+"/orders", `{"item":"book"}`))
	if r := ResultOf(resp); r.Outcome != Waited || resp.StatusCode != 201 || decode(t, body)["id"] != "o1" {
		t.Errorf("Result %+v, status %d, body %s: want the stored order after a wait", r, resp.StatusCode, body)
	}
	if n := creates.Load(); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	reqs := log.all()
	for _, r := range reqs {
		if r.key != reqs[0].key || r.body != reqs[0].body {
			t.Errorf("send %+v differs from the first %+v", r, reqs[0])
		}
	}
}

// TestProbeCreateLookupAnswerNotAdopted checks that the lookup of a
// duplicate create's existing resource is adopted only from a whole 200
// representation of the resource it named, that matches: a redirect (even
// to a matching resource on the same origin), a 404, a 200 with another
// user, a partial 206, an array, a non-JSON page, a truncated body each end
// in an error, with the create sent once and the redirect not followed.
func TestProbeCreateLookupAnswerNotAdopted(t *testing.T) {
	t.Parallel()
	match := `{"id":"u1","email":"ana@example.com","name":"Ana"}`
	cases := map[string]func(w http.ResponseWriter, r *http.Request){
		"redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/users/u2", http.StatusFound)
		},
		"redirect-307": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/users/u2", http.StatusTemporaryRedirect)
		},
		"not-found": func(w http.ResponseWriter, r *http.Request) { pcJSON(w, 404, `{"error":"not_found"}`) },
		"other-user": func(w http.ResponseWriter, r *http.Request) {
			pcJSON(w, 200, `{"id":"u1","email":"ana@example.com","name":"Mallory"}`)
		},
		"partial": func(w http.ResponseWriter, r *http.Request) {
			pcJSON(w, 206, match, "Content-Range", "bytes 0-10/100")
		},
		"array":    func(w http.ResponseWriter, r *http.Request) { pcJSON(w, 200, `[`+match+`]`) },
		"html":     func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>login</html>")) },
		"envelope": func(w http.ResponseWriter, r *http.Request) { pcJSON(w, 200, `{"data":`+match+`}`) },
		"truncated": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "500")
			w.WriteHeader(200)
			io.WriteString(w, match)
		},
	}
	for name, lookup := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, log := pcServer(t, func(w http.ResponseWriter, r *http.Request, pr pcReq) {
				switch {
				case r.Method == http.MethodPost:
					pcJSON(w, 409, `{"code":"already_exists","field":"email"}`, "Location", "/users/u1")
				case r.URL.Path == "/users/u2":
					pcJSON(w, 200, match)
				default:
					lookup(w, r)
				}
			})
			c := New(WithLimits(Limits{MaxElapsed: 2 * time.Second}))
			resp, err := c.Do(newRequest(t, "POST", srv.URL+"/users", `{"email":"ana@example.com","name":"Ana"}`))
			if err == nil {
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				t.Errorf("success: outcome %v, status %d, body %s", ResultOf(resp).Outcome, resp.StatusCode, got)
			}
			for _, r := range log.all() {
				if r.path == "/users/u2" {
					t.Errorf("the lookup followed a redirect to %s", r.path)
				}
			}
			if n := log.count(http.MethodPost); n != 1 {
				t.Errorf("POST sent %d times, want 1", n)
			}
		})
	}
}

// TestProbeCreateLocationEscapes checks more spellings of a duplicate's
// Location and existing id that try to move the adoption read out of the
// request's origin or collection (upper-case escapes, backslashes, a dot
// segment half escaped, another scheme or port of the same host, a
// scheme-relative URL): none is read, and none is adopted.
func TestProbeCreateLocationEscapes(t *testing.T) {
	t.Parallel()
	var outside atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outside.Add(1)
		pcJSON(w, 200, `{"email":"ana@example.com","name":"Ana"}`)
	}))
	t.Cleanup(other.Close)
	otherHost := strings.TrimPrefix(other.URL, "http://")
	var reply atomic.Value
	srv, log := pcServer(t, func(w http.ResponseWriter, r *http.Request, pr pcReq) {
		if r.Method == http.MethodPost {
			kv := reply.Load().([2]string)
			pcJSON(w, 409, kv[1], "Location", kv[0])
			return
		}
		clean := path.Clean(strings.ReplaceAll(r.URL.Path, `\`, "/"))
		if !strings.HasPrefix(clean, "/t/acme/users/") {
			outside.Add(1)
		}
		pcJSON(w, 200, `{"email":"ana@example.com","name":"Ana"}`)
	})
	host := strings.TrimPrefix(srv.URL, "http://")
	cases := [][2]string{
		{"/t/acme/users/%2E%2E/%2E%2E/other/users/u1", `{"code":"already_exists"}`},
		{"/t/acme/users/.%2e/.%2E/other/users/u1", `{"code":"already_exists"}`},
		{"/t/acme/users/..%5C..%5Cother%5Cusers%5Cu1", `{"code":"already_exists"}`},
		{"https://" + host + "/t/acme/users/u1", `{"code":"already_exists"}`},
		{"//" + otherHost + "/t/acme/users/u1", `{"code":"already_exists"}`},
		{"http://" + otherHost + "/t/acme/users/u1", `{"code":"already_exists"}`},
		{"", `{"code":"already_exists","existing_id":"..\\..\\other\\users\\u1"}`},
		{"", `{"code":"already_exists","existing_id":"%2e%2e/%2e%2e/other/users/u1"}`},
		{"", `{"code":"already_exists","existing_id":"acme/../../other/users/u1"}`},
		{"", `{"code":"already_exists","existing":{"id":"../../other/users/u1"}}`},
		{"", `{"code":"already_exists","location":"http://` + otherHost + `/t/acme/users/u1"}`},
	}
	for _, tc := range cases {
		reply.Store(tc)
		outside.Store(0)
		before := len(log.all())
		resp, err := New(WithLimits(Limits{MaxElapsed: 2 * time.Second})).Do(newRequest(t, "POST", srv.URL+"/t/acme/users", `{"email":"ana@example.com","name":"Ana"}`))
		if err == nil {
			resp.Body.Close()
			t.Errorf("%q %s: adopted %v", tc[0], tc[1], ResultOf(resp).Outcome)
		}
		if n := outside.Load(); n != 0 {
			var paths []string
			for _, r := range log.all()[before:] {
				paths = append(paths, r.method+" "+r.rawPath)
			}
			t.Errorf("%q %s: %d read(s) outside the collection: %v", tc[0], tc[1], n, paths)
		}
	}
}

// TestProbeCreateOneShotBody checks a create whose body cannot be sent again
// (no GetBody, larger than MaxBodyBuffer): a "key in use" or 423 stops with
// ErrNotReplayable, and a duplicate is not adopted (nothing shows what was
// sent), in each case with the create sent exactly once.
func TestProbeCreateOneShotBody(t *testing.T) {
	t.Parallel()
	for _, reply := range []string{"in-use", "locked", "duplicate"} {
		t.Run(reply, func(t *testing.T) {
			t.Parallel()
			srv, log := pcServer(t, func(w http.ResponseWriter, r *http.Request, pr pcReq) {
				switch {
				case r.Method == http.MethodGet:
					pcJSON(w, 200, `{"email":"ana@example.com","name":"Ana","bio":"`+strings.Repeat("x", 64)+`"}`)
				case reply == "in-use":
					pcJSON(w, 409, `{"error":"idempotency_key_in_use"}`, "Retry-After", "0")
				case reply == "locked":
					pcJSON(w, 423, `{"error":"locked"}`)
				default:
					pcJSON(w, 409, `{"code":"already_exists"}`, "Location", "/users/u1")
				}
			})
			body := `{"email":"ana@example.com","name":"Ana","bio":"` + strings.Repeat("x", 64) + `"}`
			req := newRequest(t, "POST", srv.URL+"/users", "")
			req.Body = io.NopCloser(strings.NewReader(body)) // no GetBody
			req.ContentLength = int64(len(body))
			c := New(WithLimits(Limits{MaxBodyBuffer: 16, MaxElapsed: 2 * time.Second, BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond}))
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("success: outcome %v, status %d", ResultOf(resp).Outcome, resp.StatusCode)
			}
			if reply != "duplicate" && !errors.Is(err, ErrNotReplayable) {
				t.Errorf("err = %v, want ErrNotReplayable", err)
			}
			if n := log.count(http.MethodPost); n != 1 {
				t.Errorf("POST sent %d times, want 1", n)
			}
		})
	}
}

// TestProbeCreateForeignAfterWait checks a create that waits out a key in
// use and is then answered 409 duplicate, with a Location naming a resource
// of other content: the call aborts as a foreign duplicate, sends the create
// no third time, and the Error carries the one key of every send.
func TestProbeCreateForeignAfterWait(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv, log := pcServer(t, func(w http.ResponseWriter, r *http.Request, pr pcReq) {
		switch {
		case r.Method == http.MethodGet:
			pcJSON(w, 200, `{"id":"u1","email":"ana@example.com","name":"Someone else"}`)
		case n.Add(1) == 1:
			pcJSON(w, 409, `{"error":"idempotency_key_in_use"}`, "Retry-After", "0")
		default:
			pcJSON(w, 409, `{"code":"already_exists","field":"email"}`, "Location", "/users/u1")
		}
	})
	c := New(WithLimits(Limits{BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond, MaxElapsed: 2 * time.Second}))
	resp, err := c.Do(newRequest(t, "POST", srv.URL+"/users", `{"email":"ana@example.com","name":"Ana"}`))
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, errForeign) {
		if err == nil {
			resp.Body.Close()
		}
		t.Fatalf("err = %v, want a foreign duplicate", err)
	}
	if e.Attempts != 2 || len(e.Keys) != 1 || e.IdempotencyKey == "" {
		t.Errorf("Error attempts %d keys %v, want 2 attempts under one key", e.Attempts, e.Keys)
	}
	if n := log.count(http.MethodPost); n != 2 {
		t.Errorf("POST sent %d times, want 2", n)
	}
}

// TestProbeCreateLocationOtherQueryScope checks a duplicate whose Location
// names the existing resource in another scope of a query-scoped API
// (POST /users?tenant=acme answered with Location /users/u1?tenant=other,
// as a server with an email unique across tenants does). Where the scope is
// in the path (/t/acme/users vs /t/other/users) the lookup refuses to leave
// the collection; with the scope in the query the same resource of another
// tenant must not be adopted as this create's result either: the user does
// not exist in tenant acme, so success would report a create that did not
// happen.
func TestProbeCreateLocationOtherQueryScope(t *testing.T) {
	t.Parallel()
	var foreign atomic.Int32
	srv, _ := pcServer(t, func(w http.ResponseWriter, r *http.Request, pr pcReq) {
		if r.Method == http.MethodPost {
			pcJSON(w, 409, `{"code":"already_exists","field":"email"}`, "Location", "/users/u1?tenant=other")
			return
		}
		if r.URL.Query().Get("tenant") != "acme" {
			foreign.Add(1)
		}
		pcJSON(w, 200, `{"id":"u1","tenant":"other","email":"ana@example.com","name":"Ana"}`)
	})
	resp, err := New().Do(newRequest(t, "POST", srv.URL+"/users?tenant=acme", `{"email":"ana@example.com","name":"Ana"}`))
	if err == nil {
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Errorf("adopted (outcome %v, Location %q) another tenant's user: %s", ResultOf(resp).Outcome, resp.Header.Get("Location"), got)
	}
	if n := foreign.Load(); n != 0 {
		t.Errorf("%d lookup read(s) outside tenant acme", n)
	}
}
