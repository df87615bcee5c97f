package conflict

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// noWait skips waits but records them.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) option() Option {
	return withWait(func(ctx context.Context, d time.Duration) error {
		w.mu.Lock()
		w.d = append(w.d, d)
		w.mu.Unlock()
		return ctx.Err()
	})
}

func newRequest(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// do sends req through c and returns the status and body.
func do(t *testing.T, c *Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
	return m
}

var docRule = WithRule("PUT /documents/{id}", Rule{Merge: jsonmerge.Merge})

// staleWrite reads d1 through c, lets another writer change "body", then
// writes "title" on the version c read.
func staleWrite(t *testing.T, srv *conflicttest.Server, c *Client, useField bool) (*http.Response, string, error) {
	t.Helper()
	srv.PutDocument("d1", `{"title":"draft","body":"old"}`)
	resp, _ := do(t, c, newRequest(t, "GET", srv.URL+"/documents/d1", ""))
	etag := resp.Header.Get("ETag")
	srv.PutDocument("d1", `{"title":"draft","body":"theirs"}`) // another writer
	srv.ResetStats()
	var req *http.Request
	if useField {
		req = newRequest(t, "PUT", srv.URL+"/documents/d1", `{"title":"ours","body":"old","version":1}`)
	} else {
		req = newRequest(t, "PUT", srv.URL+"/documents/d1", `{"title":"ours","body":"old","version":1}`)
		req.Header.Set("If-Match", etag)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

func checkMerged(t *testing.T, srv *conflicttest.Server, resp *http.Response, got string, wantPuts, wantGets int) {
	t.Helper()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	doc, version, _ := srv.Document("d1")
	m := decode(t, string(doc))
	if m["title"] != "ours" || m["body"] != "theirs" || version != 3 {
		t.Errorf("server has %s (version %d), want our title and their body at version 3", doc, version)
	}
	if r := ResultOf(resp); r == nil || r.Outcome != Merged || r.Attempts != 2 {
		t.Errorf("ResultOf = %+v, want merged after 2 attempts", r)
	}
	st := srv.Stats()
	if st.Requests["PUT /documents/{id}"] != wantPuts || st.Requests["GET /documents/{id}"] != wantGets {
		t.Errorf("requests = %v, want %d PUT and %d GET", st.Requests, wantPuts, wantGets)
	}
}

// TestStaleMergedEveryDialect: a stale PUT is merged and lands, with one
// refresh GET, whatever dialect the server speaks.
func TestStaleMergedEveryDialect(t *testing.T) {
	t.Parallel()
	for _, d := range conflicttest.Dialects() {
		for _, field := range []bool{false, true} {
			name := fmt.Sprintf("%s/etag", d)
			opts := []conflicttest.Option{conflicttest.WithDialect(d)}
			rule := Rule{Merge: jsonmerge.Merge}
			if field {
				name = fmt.Sprintf("%s/field", d)
				opts = append(opts, conflicttest.WithVersionIn(conflicttest.VersionBody))
				rule.Versions = []Version{{Send: Field("/version")}}
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := conflicttest.NewServer(opts...)
				t.Cleanup(srv.Close)
				c := New(WithRule("PUT /documents/{id}", rule))
				resp, got, err := staleWrite(t, srv, c, field)
				if err != nil {
					t.Fatal(err)
				}
				checkMerged(t, srv, resp, got, 2, 1)
			})
		}
	}
}

// TestStaleMergedFromConflictBody: when the conflict carries the current
// representation, recovery costs exactly one extra request.
func TestStaleMergedFromConflictBody(t *testing.T) {
	t.Parallel()
	for _, d := range []conflicttest.Dialect{conflicttest.Problem, conflicttest.Plain} {
		for _, field := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/field=%v", d, field), func(t *testing.T) {
				t.Parallel()
				opts := []conflicttest.Option{conflicttest.WithDialect(d), conflicttest.WithCurrentInConflict(true)}
				rule := Rule{Merge: jsonmerge.Merge}
				if field {
					opts = append(opts, conflicttest.WithVersionIn(conflicttest.VersionBody))
					rule.Versions = []Version{{Send: Field("/version")}}
				}
				srv := conflicttest.NewServer(opts...)
				t.Cleanup(srv.Close)
				var steps []Step
				c := New(WithRule("PUT /documents/{id}", rule), WithHook(func(_ context.Context, e Event) { steps = append(steps, e.Step) }))
				resp, got, err := staleWrite(t, srv, c, field)
				if err != nil {
					t.Fatal(err)
				}
				checkMerged(t, srv, resp, got, 2, 0)
				want := []Step{StepConflict, StepRefresh, StepMerge, StepResend, StepDone}
				if fmt.Sprint(steps) != fmt.Sprint(want) {
					t.Errorf("steps = %v, want %v", steps, want)
				}
			})
		}
	}
}

func TestStaleWithoutRuleAborts(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	_, _, err := staleWrite(t, srv, New(), false)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrUnrecoverable) || e.Conflict.Kind != StaleVersion || e.Conflict.Status != 412 {
		t.Fatalf("err = %v, want an unrecoverable 412 stale version", err)
	}
	if srv.Stats().Commits != 0 {
		t.Error("a stale write was committed")
	}
}

func TestStaleWithoutBaseAborts(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.PutDocument("d1", `{"title":"a"}`)
	srv.PutDocument("d1", `{"title":"b"}`)
	c := New(docRule)
	req := newRequest(t, "PUT", srv.URL+"/documents/d1", `{"title":"ours"}`)
	req.Header.Set("If-Match", `"1"`) // never read through c
	_, err := c.Do(req)
	if !errors.Is(err, ErrNoBase) || !errors.Is(err, ErrUnrecoverable) {
		t.Fatalf("err = %v, want ErrNoBase", err)
	}
	// With the base given by the caller, the same write merges.
	req = newRequest(t, "PUT", srv.URL+"/documents/d1", `{"title":"ours","version":1}`)
	req.Header.Set("If-Match", `"1"`)
	req = req.WithContext(WithBase(context.Background(), []byte(`{"title":"a","version":1}`)))
	_, err = c.Do(req)
	if !errors.Is(err, ErrMergeConflict) {
		t.Fatalf("err = %v, want a merge conflict (both changed the title)", err)
	}
	var e *Error
	errors.As(err, &e)
	var mc *jsonmerge.ConflictError
	if !errors.As(err, &mc) || len(mc.Conflicts) != 1 || mc.Conflicts[0].Path != "/title" {
		t.Errorf("merge conflict = %v, want one at /title", mc)
	}
	if string(e.Base) != `{"title":"a","version":1}` || string(e.Ours) != `{"title":"ours","version":1}` || !strings.Contains(string(e.Theirs), `"b"`) {
		t.Errorf("Base/Ours/Theirs = %s / %s / %s", e.Base, e.Ours, e.Theirs)
	}
	if doc, v, _ := srv.Document("d1"); v != 2 {
		t.Errorf("document changed to %s (version %d)", doc, v)
	}
}

func TestResolutions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		res       Resolution
		outcome   Outcome
		wantTitle string
		wantBody  string
		wantErr   error
	}{
		{ClientWins, Overwrote, "ours", "old", nil},
		{ServerWins, ServerWon, "draft", "theirs", nil},
		{Manual, Aborted, "draft", "theirs", ErrUnrecoverable},
	} {
		t.Run(tc.res.String(), func(t *testing.T) {
			t.Parallel()
			srv := conflicttest.NewServer(conflicttest.WithVersionIn(conflicttest.VersionHeader))
			t.Cleanup(srv.Close)
			c := New(WithRule("PUT /documents/{id}", Rule{Resolve: tc.res}))
			resp, got, err := staleWrite(t, srv, c, false)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				var e *Error
				if errors.As(err, &e); e.Base == nil || e.Ours == nil || e.Theirs == nil {
					t.Errorf("manual abort lacks base/ours/theirs: %+v", e)
				}
			} else {
				if r := ResultOf(resp); r.Outcome != tc.outcome {
					t.Errorf("Outcome = %v, want %v", r.Outcome, tc.outcome)
				}
				if m := decode(t, got); m["title"] != tc.wantTitle {
					t.Errorf("response %s", got)
				}
			}
			doc, _, _ := srv.Document("d1")
			if m := decode(t, string(doc)); m["title"] != tc.wantTitle || m["body"] != tc.wantBody {
				t.Errorf("server has %s, want title %q body %q", doc, tc.wantTitle, tc.wantBody)
			}
		})
	}
}

// TestAdopt: a duplicate create is adopted when the existing resource is the
// one the request meant to create, in every dialect. Where the conflict
// names neither a location nor an id, the rule's Lookup finds it.
func TestAdopt(t *testing.T) {
	t.Parallel()
	for _, d := range conflicttest.Dialects() {
		for _, loc := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/location=%v", d, loc), func(t *testing.T) {
				t.Parallel()
				srv := conflicttest.NewServer(conflicttest.WithDialect(d), conflicttest.WithLocation(loc))
				t.Cleanup(srv.Close)
				c := New()
				first, body := do(t, c, newRequest(t, "POST", srv.URL+"/users", `{"email":"ana@example.com","name":"Ana"}`))
				if first.StatusCode != 201 {
					t.Fatalf("first create: %d %s", first.StatusCode, body)
				}
				id := decode(t, body)["id"]
				// A second process creates the same user with its own key.
				req := func() *http.Request {
					return newRequest(t, "POST", srv.URL+"/users", `{"email":"ana@example.com","name":"Ana"}`)
				}
				resp, err := c.Do(req())
				nameless := !loc && (d == conflicttest.CouchDB || d == conflicttest.AzureStorage || d == conflicttest.Stripe)
				if nameless {
					// Nothing says where the user is: abort, unless a
					// rule knows how to look it up.
					if !errors.Is(err, errNotFound) {
						t.Fatalf("err = %v, want errNotFound", err)
					}
					c = New(WithRule("POST /users", Rule{LocateExisting: func(ctx context.Context, cf *Conflict, r *http.Request) (string, error) {
						return "/users/" + id.(string), nil
					}}))
					resp, err = c.Do(req())
				}
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if r := ResultOf(resp); r == nil || r.Outcome != Adopted || resp.StatusCode != 201 || resp.Header.Get("Location") != "/users/"+id.(string) && !strings.HasSuffix(resp.Header.Get("Location"), "/users/"+id.(string)) {
					t.Fatalf("Result = %+v, status %d, want adopted", r, resp.StatusCode)
				}
				if decode(t, string(got))["id"] != id {
					t.Errorf("adopted %s, want id %v", got, id)
				}
				if n := srv.Stats().Creates["ana@example.com"]; n != 1 {
					t.Errorf("creates = %d, want 1", n)
				}
			})
		}
	}
}

func TestAdoptForeignDuplicate(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	c := New()
	do(t, c, newRequest(t, "POST", srv.URL+"/users", `{"email":"bo@example.com","name":"Bo"}`))
	_, err := c.Do(newRequest(t, "POST", srv.URL+"/users", `{"email":"bo@example.com","name":"Someone else"}`))
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, errForeign) || e.Conflict.Kind != Duplicate || e.Conflict.Field != "email" {
		t.Fatalf("err = %v, want a foreign duplicate on email", err)
	}
}

func TestAdoptByRecordedKey(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	c := New()
	ctx := WithIdempotencyKey(context.Background(), "order-42")
	req := newRequest(t, "POST", srv.URL+"/users", `{"email":"cy@example.com","name":"Cy"}`).WithContext(ctx)
	do(t, c, req)
	// The same intent, sent again with a changed name: the server replays
	// nothing (the fingerprint differs: 422), so try a fresh key on the
	// same email with the key recorded. The recorded key decides.
	req = newRequest(t, "POST", srv.URL+"/users", `{"email":"cy@example.com","name":"Cy (renamed)"}`)
	_, err := c.Do(req)
	if !errors.Is(err, errForeign) {
		t.Fatalf("err = %v: a resource recording another key must not be adopted", err)
	}
}

func TestCrossOriginLocationNotFollowed(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, `{"email":"a@example.com"}`)
	}))
	t.Cleanup(other.Close)
	srv := serve(t, reply{status: 409, header: map[string]string{"Content-Type": "application/json", "Location": other.URL + "/users/1"}, body: `{"error":"already_exists","field":"email"}`})
	req := newRequest(t, "POST", srv.URL+"/users", `{"email":"a@example.com"}`)
	req.Header.Set("Authorization", "Bearer secret")
	_, err := New().Do(req)
	if !errors.Is(err, errCrossOrigin) {
		t.Fatalf("err = %v, want the cross-origin refusal", err)
	}
	if hits.Load() != 0 {
		t.Errorf("the other origin got %d requests", hits.Load())
	}
}

// TestKeyInUseWaitedOut: a create whose key is still in flight is waited out
// and re-sent with the same key; the server creates once.
func TestKeyInUseWaitedOut(t *testing.T) {
	t.Parallel()
	for _, d := range conflicttest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			// The key stays in flight long enough for the other call to
			// meet it even on a loaded machine.
			srv := conflicttest.NewServer(conflicttest.WithDialect(d), conflicttest.WithFaults(conflicttest.Faults{InFlight: time.Second}))
			t.Cleanup(srv.Close)
			var events []Event
			var mu sync.Mutex
			c := New(WithLimits(Limits{MaxWait: 20 * time.Millisecond}), WithLimits(Limits{MaxAttempts: 200}), WithHook(func(_ context.Context, e Event) {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			}))
			ctx := WithIdempotencyKey(context.Background(), "key-in-flight")
			var wg sync.WaitGroup
			results := make([]*Result, 2)
			bodies := make([]string, 2)
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i == 1 && srv.Stats().Requests["POST /users"] == 0 {
						time.Sleep(time.Millisecond) // let the first take the key
					}
					req := newRequest(t, "POST", srv.URL+"/users", `{"email":"dee@example.com","name":"Dee"}`).WithContext(ctx)
					resp, err := c.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					results[i], bodies[i] = ResultOf(resp), string(b)
				}()
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			if n := srv.Stats().Creates["dee@example.com"]; n != 1 {
				t.Errorf("creates = %d, want 1", n)
			}
			// Either call may claim the key first (both are sent once the
			// first has reached the server); the other meets it in flight.
			waiter := results[1]
			if results[0].Attempts > results[1].Attempts {
				waiter = results[0]
			}
			if waiter.Attempts < 2 || waiter.IdempotencyKey != "key-in-flight" || len(waiter.Keys) != 1 {
				t.Errorf("the call that met the key in flight: %+v, want several attempts under the one key", waiter)
			}
			if decode(t, bodies[0])["id"] != decode(t, bodies[1])["id"] {
				t.Errorf("bodies differ: %s vs %s", bodies[0], bodies[1])
			}
			var waited bool
			for _, e := range events {
				if e.Step == StepWait {
					waited = true
					if (e.Kind != IdempotencyInUse && e.Kind != Locked) || e.Wait > 20*time.Millisecond {
						t.Errorf("wait event %+v", e)
					}
				}
			}
			if !waited {
				t.Error("no wait event")
			}
		})
	}
}

func TestInvalidTransitionAborts(t *testing.T) {
	t.Parallel()
	for _, d := range conflicttest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			srv := conflicttest.NewServer(conflicttest.WithDialect(d))
			t.Cleanup(srv.Close)
			c := New()
			_, body := do(t, c, newRequest(t, "POST", srv.URL+"/orders", `{"item":"book"}`))
			id := decode(t, body)["id"].(string)
			for _, a := range []string{"pay", "ship"} {
				do(t, c, newRequest(t, "POST", srv.URL+"/orders/"+id+"/"+a, ""))
			}
			before := srv.Stats().Requests["POST /orders/{id}/{action}"]
			_, err := c.Do(newRequest(t, "POST", srv.URL+"/orders/"+id+"/cancel", ""))
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrUnrecoverable) {
				t.Fatalf("err = %v, want an unrecoverable conflict", err)
			}
			if e.Conflict.Kind != InvalidTransition {
				t.Errorf("Kind = %v (%s), want invalid_transition", e.Conflict.Kind, e.Conflict)
			}
			if d == conflicttest.Problem || d == conflicttest.Plain {
				if e.Conflict.CurrentState != "shipped" || fmt.Sprint(e.Conflict.AllowedTransitions) != "[deliver]" {
					t.Errorf("state %q, allowed %v", e.Conflict.CurrentState, e.Conflict.AllowedTransitions)
				}
			}
			if n := srv.Stats().Requests["POST /orders/{id}/{action}"] - before; n != 1 {
				t.Errorf("cancel sent %d times, want 1", n)
			}
		})
	}
}

func TestConflictForeverEndsAtBound(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"9"`)
		if r.Method == http.MethodGet {
			io.WriteString(w, `{"title":"theirs","n":1}`)
			return
		}
		hits.Add(1)
		w.WriteHeader(409)
		io.WriteString(w, `{"error":"version_conflict","current":{"title":"theirs","n":1}}`)
	}))
	t.Cleanup(srv.Close)
	c := New(WithRule("PUT /documents/{id}", Rule{Resolve: ClientWins}), WithLimits(Limits{MaxAttempts: 3}))
	req := newRequest(t, "PUT", srv.URL+"/documents/1", `{"title":"ours"}`)
	req.Header.Set("If-Match", `"1"`)
	_, err := c.Do(req)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrAttemptsExhausted) || e.Attempts != 3 {
		t.Fatalf("err = %v, want attempts exhausted after 3", err)
	}
	if hits.Load() != 3 {
		t.Errorf("server hit %d times, want 3", hits.Load())
	}
}

func TestCancelledDuringWait(t *testing.T) {
	t.Parallel()
	srv := serve(t, reply{status: 409, header: map[string]string{"Retry-After": "5", "Content-Type": "application/json"}, body: `{"error":"idempotency_key_in_use"}`})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := New().Do(newRequest(t, "POST", srv.URL+"/users", `{"a":1}`).WithContext(ctx))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("returned after %v, want at once after the cancel", el)
	}
}

func TestNonReplayableBody(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	c := New(docRule, WithLimits(Limits{MaxBodyBuffer: 16}))
	srv.PutDocument("d1", `{"title":"a"}`)
	resp, _ := do(t, c, newRequest(t, "GET", srv.URL+"/documents/d1", ""))
	srv.PutDocument("d1", `{"title":"a","other":1}`)
	body := `{"title":"a long title that does not fit the buffer"}`
	req := newRequest(t, "PUT", srv.URL+"/documents/d1", "")
	req.Body = io.NopCloser(strings.NewReader(body)) // no GetBody
	req.ContentLength = int64(len(body))
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	_, err := c.Do(req)
	if !errors.Is(err, ErrNotReplayable) {
		t.Fatalf("err = %v, want ErrNotReplayable", err)
	}
	if n := srv.Stats().Requests["PUT /documents/{id}"]; n != 1 {
		t.Errorf("PUT sent %d times, want once", n)
	}
}

func TestBufferedBodyReplayed(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	c := New(docRule)
	srv.PutDocument("d1", `{"title":"a","n":1}`)
	resp, _ := do(t, c, newRequest(t, "GET", srv.URL+"/documents/d1", ""))
	srv.PutDocument("d1", `{"title":"a","n":2}`)
	req := newRequest(t, "PUT", srv.URL+"/documents/d1", "")
	req.Body = io.NopCloser(strings.NewReader(`{"title":"b","n":1,"version":1}`)) // no GetBody: buffered
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	resp, got := do(t, c, req)
	if ResultOf(resp).Outcome != Merged || decode(t, got)["title"] != "b" || decode(t, got)["n"] != float64(2) {
		t.Errorf("got %s, %+v", got, ResultOf(resp))
	}
}

// TestTransportRetries: 5xx is retried for requests that are safe to re-send
// and never for a non-idempotent request without a key.
func TestTransportRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method string
		key    bool
		want   int32
	}{
		{"PUT", false, 3},
		{"POST", true, 3}, // New attaches a key
		{"PATCH", false, 1},
	} {
		t.Run(tc.method, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if hits.Add(1) < 3 {
					w.WriteHeader(503)
					return
				}
				w.WriteHeader(200)
			}))
			t.Cleanup(srv.Close)
			c := New(WithLimits(Limits{BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond}))
			resp, err := c.Do(newRequest(t, tc.method, srv.URL+"/x", `{"a":1}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if hits.Load() != tc.want {
				t.Errorf("server hit %d times, want %d", hits.Load(), tc.want)
			}
			if tc.want == 1 && resp.StatusCode != 503 {
				t.Errorf("status %d, want the 503 passed through", resp.StatusCode)
			}
		})
	}
}

// TestStandardClientPassesConflictThrough: through the RoundTripper, an
// unrecovered conflict is the server's response, body intact.
func TestStandardClientPassesConflictThrough(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	c := New()
	hc := c.StandardClient()
	resp, err := hc.Post(srv.URL+"/orders", "application/json", strings.NewReader(`{"item":"pen"}`))
	if err != nil {
		t.Fatal(err)
	}
	var order struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&order)
	resp.Body.Close()
	if r := ResultOf(resp); r == nil || r.Outcome != Sent || r.IdempotencyKey == "" {
		t.Errorf("ResultOf = %+v, want created with a key", r)
	}
	resp, err = hc.Post(srv.URL+"/orders/"+order.ID+"/deliver", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct {
		Code         string `json:"code"`
		CurrentState string `json:"current_state"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != 409 || p.Code != "invalid_transition" || p.CurrentState != "pending" {
		t.Fatalf("status %d, body %+v, %v; want the 409 problem intact", resp.StatusCode, p, err)
	}
	r := ResultOf(resp)
	if r == nil || r.Outcome != Aborted || r.Err == nil || r.Err.Conflict.Kind != InvalidTransition {
		t.Errorf("ResultOf = %+v", r)
	}
}

func TestZeroValueClient(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	var c Client
	resp, body := do(t, &c, newRequest(t, "POST", srv.URL+"/users", `{"email":"z@example.com","name":"Z"}`))
	if resp.StatusCode != 201 || decode(t, body)["idempotency_key"] == nil {
		t.Errorf("zero Client: %d %s, want a create with a key", resp.StatusCode, body)
	}
}

func TestCallerRequestNotMutated(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	req := newRequest(t, "POST", srv.URL+"/users", `{"email":"m@example.com","name":"M"}`)
	before := fmt.Sprint(req.Header)
	do(t, New(), req)
	if fmt.Sprint(req.Header) != before {
		t.Errorf("caller's headers changed: %v", req.Header)
	}
}

func TestCallerKeyKeptAndValidated(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	req := newRequest(t, "POST", srv.URL+"/users", `{"email":"k@example.com","name":"K"}`)
	req.Header.Set("Idempotency-Key", `"caller-key-1"`)
	resp, body := do(t, New(), req)
	if decode(t, body)["idempotency_key"] != "caller-key-1" || ResultOf(resp).IdempotencyKey != "caller-key-1" {
		t.Errorf("body %s, result %+v", body, ResultOf(resp))
	}
	req = newRequest(t, "POST", srv.URL+"/users", `{"email":"k2@example.com"}`)
	req.Header.Set("Idempotency-Key", "has space")
	if _, err := New().Do(req); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("err = %v, want ErrInvalidKey", err)
	}
	if n := srv.Stats().Requests["POST /users"]; n != 1 {
		t.Errorf("POST /users sent %d times, want 1 (the invalid key must not be sent)", n)
	}
}

func TestMalformedRulePanicsAtNew(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"PUT documents", "PUT /a/{id", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(WithRule(%q)) did not panic", p)
				}
			}()
			New(WithRule(p, Rule{}))
		}()
	}
}

// TestContention: 32 goroutines each apply 50 field-disjoint updates to one
// document through one client: each writer counts its own field up from 1
// to 50. At the end every field reads 50 and the document has at most one
// version per update (one write may carry several queued ones): nothing was
// lost, nothing applied twice.
func TestContention(t *testing.T) {
	t.Parallel()
	writers, updates := 32, 50
	if testing.Short() {
		writers, updates = 8, 10
	}
	srv := conflicttest.NewServer(conflicttest.WithCurrentInConflict(true))
	t.Cleanup(srv.Close)
	srv.PutDocument("hot", `{"title":"shared"}`)
	c := New(WithRule("PUT /documents/{id}", Rule{Merge: jsonmerge.Merge}), WithLimits(Limits{MaxAttempts: 1000}), WithLimits(Limits{MaxElapsed: 2 * time.Minute}))
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			field := fmt.Sprintf("w%d", g)
			for i := 1; i <= updates; i++ {
				resp, err := c.Do(newRequest(t, "GET", srv.URL+"/documents/hot", ""))
				if err != nil {
					t.Error(err)
					return
				}
				var doc map[string]json.RawMessage
				json.NewDecoder(resp.Body).Decode(&doc)
				resp.Body.Close()
				doc[field] = json.RawMessage(fmt.Sprint(i))
				b, _ := json.Marshal(doc)
				req := newRequest(t, "PUT", srv.URL+"/documents/hot", string(b))
				req.Header.Set("If-Match", resp.Header.Get("ETag"))
				resp, err = c.Do(req)
				if err != nil {
					t.Errorf("update %s=%d: %v", field, i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	doc, version, _ := srv.Document("hot")
	m := decode(t, string(doc))
	for g := range writers {
		if got := m[fmt.Sprintf("w%d", g)]; got != float64(updates) {
			t.Errorf("w%d = %v, want %d", g, got, updates)
		}
	}
	if version > 1+writers*updates {
		t.Errorf("version %d, want at most %d: more commits than updates", version, 1+writers*updates)
	}
	t.Logf("%d updates in %d commits", writers*updates, version-1)
}

func TestEventsRedacted(t *testing.T) {
	t.Parallel()
	srv := serve(t, reply{status: 409, header: map[string]string{"Content-Type": "application/json"}, body: `{"error":"invalid_transition","current_state":"secret-state"}`})
	var got []Event
	c := New(WithHook(func(_ context.Context, e Event) { got = append(got, e) }))
	req := newRequest(t, "POST", strings.Replace(srv.URL, "http://", "http://user:pw@", 1)+"/orders/1/cancel?token=abc", `{"reason":"private"}`)
	c.Do(req)
	if len(got) != 2 || got[0].Step != StepConflict || got[1].Step != StepAbort {
		t.Fatalf("events %+v", got)
	}
	for _, e := range got {
		if strings.Contains(e.URL, "token") || strings.Contains(e.URL, "pw") || !strings.HasSuffix(e.URL, "/orders/1/cancel") {
			t.Errorf("URL %q not redacted", e.URL)
		}
		if strings.Contains(fmt.Sprintf("%+v", e), "private") {
			t.Errorf("event carries the body: %+v", e)
		}
	}
}

// TestWaitHonoursRetryAfterCapped: a 409 key-in-use waits for Retry-After,
// capped, then for jittered backoff when the server gives none, and stops at
// the attempt bound.
func TestWaitHonoursRetryAfterCapped(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch hits.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "120")
		case 2:
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(409)
		io.WriteString(w, `{"error":"idempotency_key_in_use"}`)
	}))
	t.Cleanup(srv.Close)
	var w waits
	c := New(w.option(), WithLimits(Limits{MaxWait: 5 * time.Second}), WithLimits(Limits{BackoffMin: 100 * time.Millisecond, BackoffMax: 400 * time.Millisecond}), WithLimits(Limits{MaxAttempts: 4}))
	_, err := c.Do(newRequest(t, "POST", srv.URL+"/users", `{"a":1}`))
	if !errors.Is(err, ErrAttemptsExhausted) {
		t.Fatalf("err = %v, want attempts exhausted", err)
	}
	if len(w.d) != 3 || w.d[0] != 5*time.Second || w.d[1] != time.Second || w.d[2] < 100*time.Millisecond || w.d[2] > 400*time.Millisecond {
		t.Errorf("waits = %v, want [5s 1s backoff]", w.d)
	}
	if hits.Load() != 4 {
		t.Errorf("server hit %d times, want 4", hits.Load())
	}
}

// TestAdoptCreateByPut: a PUT with If-None-Match: * that finds the document
// there adopts it when it holds what the request meant to write.
func TestAdoptCreateByPut(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.PutDocument("new", `{"title":"made by an earlier attempt"}`)
	c := New()
	put := func(body string) (*http.Response, error) {
		req := newRequest(t, "PUT", srv.URL+"/documents/new", body)
		req.Header.Set("If-None-Match", "*")
		return c.Do(req)
	}
	resp, err := put(`{"title":"made by an earlier attempt"}`)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := ResultOf(resp); r.Outcome != Adopted || r.Conflict.Status != 412 {
		t.Errorf("Result %+v, want adopted after a 412", r)
	}
	if _, err := put(`{"title":"something else"}`); !errors.Is(err, errForeign) {
		t.Errorf("err = %v, want a foreign duplicate", err)
	}
}

func TestRulePatterns(t *testing.T) {
	t.Parallel()
	set := newRuleSet([]rule{
		{pattern: "PUT /documents/{id}", Rule: Rule{Versions: []Version{{Send: Field("/a")}}}},
		{pattern: "PUT api.example.com/documents/{id}", Rule: Rule{Versions: []Version{{Send: Field("/b")}}}},
		{pattern: "/orders/{id}/{action}", Rule: Rule{Versions: []Version{{Send: Field("/c")}}}},
	})
	for _, tc := range []struct{ method, url, want string }{
		{"PUT", "http://other.example/documents/1", "/a"},
		{"PUT", "https://api.example.com/documents/1", "/b"},
		{"GET", "http://other.example/documents/1", ""},
		{"POST", "http://x/orders/7/cancel", "/c"},
		{"POST", "http://x/orders/7", ""},
	} {
		req := newRequest(t, tc.method, tc.url, "")
		got := ""
		if r := set.match(req); r != nil {
			got = r.Versions[0].Send.name
		}
		if got != tc.want {
			t.Errorf("%s %s matched %q, want %q", tc.method, tc.url, got, tc.want)
		}
	}
	if r := set.matchOtherMethod(newRequest(t, "GET", "http://other.example/documents/1", "")); r == nil || r.Versions[0].Send.name != "/a" {
		t.Errorf("matchOtherMethod(GET) = %+v, want the PUT rule's path", r)
	}
}

// TestVersionFieldWithIfMatch: a request that carries both a body version
// and If-Match is rebuilt with both fresh.
func TestVersionFieldWithIfMatch(t *testing.T) {
	t.Parallel()
	for _, current := range []bool{false, true} {
		t.Run(fmt.Sprintf("current=%v", current), func(t *testing.T) {
			t.Parallel()
			srv := conflicttest.NewServer(conflicttest.WithCurrentInConflict(current))
			t.Cleanup(srv.Close)
			c := New(WithRule("PUT /documents/{id}", Rule{Merge: jsonmerge.Merge, Versions: []Version{{Send: Field("/version")}}}))
			resp, got, err := staleWrite(t, srv, c, false) // If-Match and "version":1
			if err != nil {
				t.Fatal(err)
			}
			checkMerged(t, srv, resp, got, 2, map[bool]int{false: 1, true: 0}[current])
		})
	}
}

// TestTransportRetryEvents: every transport retry is reported, connection
// errors included, and the call ends with a done event.
func TestTransportRetryEvents(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch hits.Add(1) {
		case 1: // drop the connection
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case 2:
			w.WriteHeader(502)
		default:
			w.WriteHeader(200)
		}
	}))
	t.Cleanup(srv.Close)
	var events []Event
	c := New(WithLimits(Limits{BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond}), WithHook(func(_ context.Context, e Event) { events = append(events, e) }))
	resp, _ := do(t, c, newRequest(t, "PUT", srv.URL+"/x", `{}`))
	if resp.StatusCode != 200 || len(events) != 3 {
		t.Fatalf("status %d, events %+v", resp.StatusCode, events)
	}
	if e := events[0]; e.Step != StepTransportRetry || e.Status != 0 || e.Err == nil || e.CallID != 1 {
		t.Errorf("first retry %+v, want a connection error", e)
	}
	if e := events[1]; e.Step != StepTransportRetry || e.Status != 502 || e.Wait <= 0 {
		t.Errorf("second retry %+v, want the 502", e)
	}
	if e := events[2]; e.Step != StepDone || e.Outcome != Sent {
		t.Errorf("last event %+v, want done/updated", e)
	}
}

// TestWeakETagAborts: If-Match compares strongly, so a refresh that yields
// a weak ETag aborts instead of re-sending a write that can never match.
func TestWeakETagAborts(t *testing.T) {
	t.Parallel()
	var puts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `W/"2"`)
		if r.Method == http.MethodGet {
			io.WriteString(w, `{"title":"theirs"}`)
			return
		}
		puts.Add(1)
		w.WriteHeader(http.StatusPreconditionFailed)
	}))
	t.Cleanup(srv.Close)
	c := New(WithRule("PUT /doc", Rule{Resolve: ClientWins}))
	req := newRequest(t, "PUT", srv.URL+"/doc", `{"title":"ours"}`)
	req.Header.Set("If-Match", `"1"`)
	_, err := c.Do(req)
	if !errors.Is(err, errWeakETag) || puts.Load() != 1 {
		t.Fatalf("err = %v after %d PUTs, want the weak-ETag abort after 1", err, puts.Load())
	}
}

// TestRuleLimitsOverrideClient: a rule's MaxAttempts bounds its endpoint.
func TestRuleLimitsOverrideClient(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusLocked)
		io.WriteString(w, `{"error":"locked"}`)
	}))
	t.Cleanup(srv.Close)
	var w waits
	c := New(w.option(), WithLimits(Limits{MaxAttempts: 10}), WithRule("PUT /slow/{id}", Rule{MaxAttempts: 2}))
	_, err := c.Do(newRequest(t, "PUT", srv.URL+"/slow/1", `{}`))
	if !errors.Is(err, ErrAttemptsExhausted) || hits.Load() != 2 {
		t.Fatalf("err = %v after %d sends, want attempts exhausted after 2", err, hits.Load())
	}
	hits.Store(0)
	if _, err := c.Do(newRequest(t, "PUT", srv.URL+"/other", `{}`)); !errors.Is(err, ErrAttemptsExhausted) || hits.Load() != 10 {
		t.Fatalf("err = %v after %d sends, want the client's 10", err, hits.Load())
	}
}

// TestRefreshOnOtherOriginNotFollowed: a rule's Refresh URL on another
// origin is refused like a foreign Location.
func TestRefreshOnOtherOriginNotFollowed(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(other.Close)
	srv := serve(t, reply{status: 412})
	c := New(WithRule("PUT /doc", Rule{Resolve: ClientWins, Refresh: func(*http.Request) string { return other.URL + "/doc" }}))
	req := newRequest(t, "PUT", srv.URL+"/doc", `{"a":1}`)
	req.Header.Set("If-Match", `"1"`)
	if _, err := c.Do(req); !errors.Is(err, errCrossOrigin) {
		t.Fatalf("err = %v, want the cross-origin refusal", err)
	}
	if hits.Load() != 0 {
		t.Errorf("the other origin got %d requests", hits.Load())
	}
}

func TestBaseCacheBounded(t *testing.T) {
	t.Parallel()
	// Each entry costs its data and its key: 3+1 bytes here; a bound of
	// 17 holds four entries' worth, and put refuses one over a quarter.
	bc := newBaseCache(17)
	bc.put("1", []byte("one"), nil, 1)
	bc.put("2", []byte("two"), nil, 1)
	bc.get("1") // most recently used now
	bc.put("3", []byte("thr"), nil, 1)
	bc.put("4", []byte("fou"), nil, 1)
	bc.put("5", []byte("fiv"), nil, 1)
	if _, _, ok := bc.get("2"); ok {
		t.Error("the least recently used entry was kept past the bound")
	}
	for _, k := range []string{"1", "4", "5"} {
		if _, _, ok := bc.get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	bc.put("big", []byte("more than a quarter"), nil, 1)
	if _, _, ok := bc.get("big"); ok {
		t.Error("an entry over a quarter of the bound was kept")
	}
	if bc.bytes > 17 {
		t.Errorf("%d bytes held, bound 17", bc.bytes)
	}
	// One version read again keeps the tick of its first reading: it
	// existed by then.
	bc.put("4", []byte("fou"), nil, 9)
	if _, seen, _ := bc.get("4"); seen != 1 {
		t.Errorf("a version read again is stamped %d, want its first reading's 1", seen)
	}
	// A write's answer is a base only if it is the state the write left;
	// the check is made at its first use.
	wc := newBaseCache(1 << 10)
	check := func(answer []byte) bool { return answerShows(answer, []byte(`{"a":0,"b":2}`), []byte(`{"a":1,"b":2}`)) }
	wc.put("summary", []byte(`{"ok":true}`), check, 1)
	wc.put("old", []byte(`{"a":0,"b":2}`), check, 1)
	wc.put("whole", []byte(`{"b":2,"a":1,"v":3}`), check, 1)
	if _, _, ok := wc.get("old"); ok {
		t.Error("an answer without the write's change served as a base")
	}
	if _, _, ok := wc.get("summary"); ok {
		t.Error("a summary answer served as a base")
	}
	if _, _, ok := wc.get("whole"); !ok {
		t.Error("a whole answer did not serve as a base")
	}
	if want := int64(len("whole") + len(`{"b":2,"a":1,"v":3}`)); wc.bytes != want {
		t.Errorf("%d bytes held after the checks, want %d (the summary and the old state gone)", wc.bytes, want)
	}
	// A version read twice with two representations serves as no base;
	// read twice the same (in another spelling), it does.
	rc := newBaseCache(1 << 10)
	rc.put("same", []byte(`{"a":1,"b":2}`), nil, 1)
	rc.put("same", []byte(`{"b":2, "a":1}`), nil, 2)
	rc.put("reused", []byte(`{"a":1}`), nil, 1)
	rc.put("reused", []byte(`{"a":5}`), nil, 2)
	rc.put("reused", []byte(`{"a":1}`), nil, 3)
	if _, _, ok := rc.get("same"); !ok {
		t.Error("a version read twice alike served as no base")
	}
	if b, _, ok := rc.get("reused"); ok {
		t.Errorf("a version read with two representations served as a base: %s", b)
	}
}
