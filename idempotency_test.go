package conflict

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// TestExactlyOnceUnderFaults: 1,000 creates through one client, with 30% of
// responses dropped after the server committed and 10% of requests answered
// 503 before committing: exactly 1,000 users exist, none doubled, none lost.
func TestExactlyOnceUnderFaults(t *testing.T) {
	t.Parallel()
	n := 1000
	if testing.Short() {
		n = 200
	}
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.SetFaults(conflicttest.Faults{Seed: 7, DropAfterCommit: 0.3, FailBeforeCommit: 0.1, Routes: []string{"POST /users"}})
	c := New(WithLimits(Limits{TransportRetries: 20}), WithLimits(Limits{BackoffMin: time.Millisecond, BackoffMax: 4 * time.Millisecond}))

	var wg sync.WaitGroup
	work := make(chan int)
	var mu sync.Mutex
	var failed []string
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				email := fmt.Sprintf("user%04d@example.com", i)
				req := newRequest(t, "POST", srv.URL+"/users", fmt.Sprintf(`{"email":%q,"name":"User %d"}`, email, i))
				resp, err := c.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 201 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					failed = append(failed, email+": "+err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()

	st := srv.Stats()
	var doubled, lost int
	for i := range n {
		switch st.Creates[fmt.Sprintf("user%04d@example.com", i)] {
		case 0:
			lost++
		case 1:
		default:
			doubled++
		}
	}
	if doubled != 0 || lost != 0 || len(failed) != 0 {
		t.Fatalf("%d doubled, %d lost, %d calls failed (first: %v)", doubled, lost, len(failed), failed[:min(len(failed), 3)])
	}
	t.Logf("%d creates: %d requests, %d faults answered 503, 0 doubled, 0 lost", n, st.Requests["POST /users"], st.Conflicts[503])
}

// keyRecorder is a server that records the idempotency key of every
// request and answers from a script, then 201.
func keyRecorder(t *testing.T, script ...reply) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		i := len(keys) - 1
		mu.Unlock()
		if i < len(script) {
			for k, v := range script[i].header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(script[i].status)
			io.WriteString(w, script[i].body)
			return
		}
		w.WriteHeader(201)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), keys...)
	}
}

func TestKeyUnchangedAcrossRetriesAndWaits(t *testing.T) {
	t.Parallel()
	inUse := reply{status: 409, header: map[string]string{"Content-Type": "application/json", "Retry-After": "0"}, body: `{"error":"idempotency_key_in_use"}`}
	srv, keys := keyRecorder(t, reply{status: 503}, inUse, reply{status: 502}, inUse)
	var w waits
	c := New(w.option(), WithLimits(Limits{BackoffMin: time.Millisecond, BackoffMax: time.Millisecond}))
	resp, _ := do(t, c, newRequest(t, "POST", srv.URL+"/things", `{"a":1}`))
	got := keys()
	if resp.StatusCode != 201 || len(got) != 5 {
		t.Fatalf("status %d after %d requests, want 201 after 5", resp.StatusCode, len(got))
	}
	for _, k := range got {
		if k != got[0] || validateKey(k) != nil {
			t.Fatalf("keys %q: want one valid key on every send", got)
		}
	}
	if r := ResultOf(resp); r.IdempotencyKey != got[0] || len(r.Keys) != 1 || r.Attempts != 3 {
		t.Errorf("Result %+v, want key %s over 3 attempts", r, got[0])
	}
}

func TestKeyFormats(t *testing.T) {
	t.Parallel()
	srv, keys := keyRecorder(t)
	ctx := WithIdempotencyKey(context.Background(), "k-123")
	do(t, New(WithIdempotencyHeader("", true)), newRequest(t, "POST", srv.URL+"/a", `{}`).WithContext(ctx))
	do(t, New(), newRequest(t, "POST", srv.URL+"/a", `{}`).WithContext(ctx))
	do(t, New(), newRequest(t, "PUT", srv.URL+"/a", `{}`).WithContext(ctx)) // a key the caller gave goes on any method
	do(t, New(WithRule("PUT /a", Rule{Idempotent: true, IdempotencyHeader: "Idempotency-Key"})), newRequest(t, "PUT", srv.URL+"/a", `{}`).WithContext(ctx))
	if got := keys(); fmt.Sprint(got) != `["k-123" k-123 k-123 k-123]` {
		t.Errorf("keys sent = %q", got)
	}
}

func TestKeyHeaderPerRule(t *testing.T) {
	t.Parallel()
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	t.Cleanup(srv.Close)
	c := New(WithRule("POST /charges", Rule{IdempotencyHeader: "X-Idempotency-Key"}))
	do(t, c, newRequest(t, "POST", srv.URL+"/charges", `{}`))
	if got.Get("X-Idempotency-Key") == "" || got.Get("Idempotency-Key") != "" {
		t.Errorf("headers %v, want only X-Idempotency-Key", got)
	}
}

func TestDeterministicKeyAcrossClients(t *testing.T) {
	t.Parallel()
	// The derivation is part of the contract: every version of the library
	// must give the same key for the same intent.
	if got := KeyFor("create-order", "ext-1"); got != "ba60be61-9867-5868-87f2-46a61af77f4b" {
		t.Fatalf("KeyFor changed: %s", got)
	}
	a, b := KeyFor("create-order", "ext-1"), KeyFor("create-order", "ext-1")
	if a != b || validateKey(a) != nil {
		t.Fatalf("KeyFor not stable: %s vs %s", a, b)
	}
	if KeyFor("create-order", "ext-2") == a || KeyFor("create-refund", "ext-1") == a || KeyFor("ab", "c") == KeyFor("a", "bc") {
		t.Fatal("KeyFor collides")
	}
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	for range 2 {
		ctx := WithIdempotencyKey(context.Background(), a)
		resp, _ := do(t, New(), newRequest(t, "POST", srv.URL+"/orders", `{"item":"lamp"}`).WithContext(ctx))
		if ResultOf(resp).IdempotencyKey != a {
			t.Errorf("key %s, want %s", ResultOf(resp).IdempotencyKey, a)
		}
	}
	if n := srv.Stats().Creates["key:"+a]; n != 1 {
		t.Errorf("orders created under the key: %d, want 1", n)
	}
}

// TestMergeGetsDerivedKey: a merged write is a new payload, so it is sent
// under a new key derived from the first, the same in every process.
func TestMergeGetsDerivedKey(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	var events []Event
	c := New(WithRule("PUT /documents/{id}", Rule{Merge: jsonmerge.Merge, Idempotent: true}), WithHook(func(_ context.Context, e Event) { events = append(events, e) }))
	resp, _, err := staleWrite(t, srv, c, false)
	if err != nil {
		t.Fatal(err)
	}
	r := ResultOf(resp)
	if len(r.Keys) != 2 || r.Keys[1] != deriveKey(r.Keys[0], 1) || r.IdempotencyKey != r.Keys[1] || r.Keys[0] == r.Keys[1] {
		t.Fatalf("keys %q (last %s), want the first and one derived from it", r.Keys, r.IdempotencyKey)
	}
	var resend *Event
	for i := range events {
		if events[i].Step == StepResend {
			resend = &events[i]
		}
	}
	if resend == nil || resend.IdempotencyKey != r.Keys[1] {
		t.Errorf("resend event %+v, want the derived key", resend)
	}
}

// TestKeyReusedWithOtherPayload: 422 (or Stripe's 400) is a caller bug: a
// typed error at once, never a retry.
func TestKeyReusedWithOtherPayload(t *testing.T) {
	t.Parallel()
	for _, d := range conflicttest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			srv := conflicttest.NewServer(conflicttest.WithDialect(d))
			t.Cleanup(srv.Close)
			c := New()
			ctx := WithIdempotencyKey(context.Background(), "reused-key")
			do(t, c, newRequest(t, "POST", srv.URL+"/users", `{"email":"r@example.com","name":"R"}`).WithContext(ctx))
			_, err := c.Do(newRequest(t, "POST", srv.URL+"/users", `{"email":"other@example.com","name":"O"}`).WithContext(ctx))
			var e *Error
			if !errors.As(err, &e) || e.Conflict.Kind != IdempotencyMismatch || !errors.Is(err, ErrUnrecoverable) || e.IdempotencyKey != "reused-key" {
				t.Fatalf("err = %v, want an idempotency mismatch", err)
			}
			if n := srv.Stats().Requests["POST /users"]; n != 2 {
				t.Errorf("POST /users sent %d times, want 2 (no retry)", n)
			}
		})
	}
}

func TestInvalidKeysRejected(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"", strings.Repeat("k", 256), "a b", "é", "a\"b", "tab\t"} {
		if err := validateKey(k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("validateKey(%q) = %v", k, err)
		}
	}
	srv, keys := keyRecorder(t)
	_, err := New().Do(newRequest(t, "POST", srv.URL, `{}`).WithContext(WithIdempotencyKey(context.Background(), "bad key")))
	if !errors.Is(err, ErrInvalidKey) || len(keys()) != 0 {
		t.Errorf("err = %v after %d requests, want ErrInvalidKey before any", err, len(keys()))
	}
}
