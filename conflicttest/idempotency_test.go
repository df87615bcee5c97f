package conflicttest_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-conflict/conflict/conflicttest"
)

func TestIdempotencyReplay(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	first := do(t, srv, "POST", "/users", `{"email":"a@example.com","name":"A"}`, "Idempotency-Key", "k1")
	wantStatus(t, first, 201)
	if str(first.json(t), "idempotency_key") != "k1" {
		t.Errorf("resource does not record its key: %s", first.body)
	}
	if first.header.Get("Idempotent-Replayed") != "" {
		t.Error("first reply marked as replayed")
	}

	// The same key, in quoted sf-string form, with the JSON keys reordered
	// and spaced: the same request, replayed.
	again := do(t, srv, "POST", "/users", `{ "name": "A", "email": "a@example.com" }`, "Idempotency-Key", `"k1"`)
	wantStatus(t, again, 201)
	if string(again.body) != string(first.body) || again.header.Get("Location") != first.header.Get("Location") {
		t.Errorf("replay = %s %q, want %s %q", again.body, again.header.Get("Location"), first.body, first.header.Get("Location"))
	}
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay lacks Idempotent-Replayed: true")
	}
	if again.header.Get("X-Request-Id") == first.header.Get("X-Request-Id") {
		t.Error("replay reuses the first request id")
	}

	r := do(t, srv, "GET", "/users/u_1", "")
	if str(r.json(t), "idempotency_key") != "k1" {
		t.Errorf("GET = %s", r.body)
	}
	st := srv.Stats()
	if st.Creates["a@example.com"] != 1 || st.Commits != 1 || st.Requests["POST /users"] != 2 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestIdempotencyMismatch(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	wantStatus(t, do(t, srv, "POST", "/users", `{"email":"a@example.com"}`, "Idempotency-Key", "k1"), 201)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/users", `{"email":"b@example.com"}`},  // other body
		{"POST", "/orders", `{"email":"a@example.com"}`}, // other route
	} {
		r := do(t, srv, tc.method, tc.path, tc.body, "Idempotency-Key", "k1")
		wantStatus(t, r, 422)
		m := r.json(t)
		if str(m, "code") != "idempotency_key_mismatch" || str(m, "title") != "Idempotency-Key is already used" {
			t.Errorf("422 body = %s", r.body)
		}
	}

	stripe := newServer(t, conflicttest.WithDialect(conflicttest.Stripe))
	do(t, stripe, "POST", "/users", `{"email":"a@example.com"}`, "Idempotency-Key", "k1")
	r := do(t, stripe, "POST", "/users", `{"email":"b@example.com"}`, "Idempotency-Key", "k1")
	wantStatus(t, r, 400)
	if str(r.json(t), "error", "type") != "idempotency_error" {
		t.Errorf("Stripe body = %s", r.body)
	}
}

// inUse sends two creates with the same key at once, while keys stay in
// flight for a while, and returns the two replies sorted by status.
func inUse(t *testing.T, srv *conflicttest.Server, path, body string) (done, refused response) {
	t.Helper()
	return inUseWith(t, srv, "Idempotency-Key", path, body, "k1", "k1")
}

// inUseWith is inUse with a header name and the two keys' spellings.
func inUseWith(t *testing.T, srv *conflicttest.Server, header, path, body string, keys ...string) (done, refused response) {
	t.Helper()
	srv.SetFaults(conflicttest.Faults{InFlight: 300 * time.Millisecond})
	defer srv.SetFaults(conflicttest.Faults{})
	var wg sync.WaitGroup
	var rs [2]response
	var errs [2]error
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs[i], errs[i] = send(srv.Client(), srv.URL, "POST", path, body, header, keys[i])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if rs[0].status < rs[1].status {
		return rs[0], rs[1]
	}
	return rs[1], rs[0]
}

func TestIdempotencyInUse(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	done, refused := inUseWith(t, srv, "Idempotency-Key", "/users", `{"email":"a@example.com"}`, "k1", `"k1"`)
	wantStatus(t, done, 201)
	wantStatus(t, refused, 409)
	m := refused.json(t)
	if str(m, "code") != "idempotency_key_in_use" || str(m, "title") != "A request is outstanding for this Idempotency-Key" {
		t.Errorf("409 body = %s", refused.body)
	}
	if refused.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", refused.header.Get("Retry-After"))
	}
	// Once the first completed, the key replays.
	r := do(t, srv, "POST", "/users", `{"email":"a@example.com"}`, "Idempotency-Key", "k1")
	wantStatus(t, r, 201)
	if r.header.Get("Idempotent-Replayed") != "true" {
		t.Error("not replayed")
	}
	if st := srv.Stats(); st.Creates["a@example.com"] != 1 || st.Conflicts[409] != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestIdempotencyErrorsAreNotRemembered(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	do(t, srv, "POST", "/users", `{"email":"a@example.com"}`)
	// A duplicate is not stored under the key: the same request re-executes.
	for range 2 {
		r := do(t, srv, "POST", "/users", `{"email":"a@example.com"}`, "Idempotency-Key", "k2")
		wantStatus(t, r, 409)
		if r.header.Get("Idempotent-Replayed") != "" {
			t.Error("an error reply was replayed")
		}
	}
	// And a corrected request may use the key.
	wantStatus(t, do(t, srv, "POST", "/users", `{"email":"b@example.com"}`, "Idempotency-Key", "k2"), 201)
}

func TestIdempotencyAllPostRoutes(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithIdempotencyHeader("X-Idempotency-Key"))
	for _, tc := range []struct{ path, body string }{
		{"/orders", `{"item":"book"}`},
		{"/categories", `{"name":"root"}`},
		{"/orders/o_1/pay", ``},
	} {
		a := do(t, srv, "POST", tc.path, tc.body, "X-Idempotency-Key", "key"+tc.path)
		b := do(t, srv, "POST", tc.path, tc.body, "X-Idempotency-Key", "key"+tc.path)
		if a.status != b.status || string(a.body) != string(b.body) || b.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s: %d %s, then %d %s %v", tc.path, a.status, a.body, b.status, b.body, b.header)
		}
	}
	// The default header name means nothing to this server.
	wantStatus(t, do(t, srv, "POST", "/orders", `{"item":"book"}`, "Idempotency-Key", "x"), 201)
	wantStatus(t, do(t, srv, "POST", "/orders", `{"item":"book"}`, "Idempotency-Key", "x"), 201)
	st := srv.Stats()
	if st.Creates["key:key/orders"] != 1 || st.Creates["key:key/categories"] != 1 || st.Commits != 5 {
		t.Errorf("Stats = %+v", st)
	}
	r := do(t, srv, "GET", "/orders/o_1", "")
	if str(r.json(t), "state") != "paid" {
		t.Errorf("order = %s", r.body)
	}
	done, refused := inUseWith(t, srv, "X-Idempotency-Key", "/orders", `{"item":"x"}`, "same", "same")
	if done.status != 201 || refused.status != 409 ||
		str(refused.json(t), "title") != "A request is outstanding for this X-Idempotency-Key" {
		t.Errorf("in use with a custom header: %d, %d %s", done.status, refused.status, refused.body)
	}
}

func TestIdempotencyKeyForms(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	for _, tc := range []struct {
		key  string
		want int
	}{
		{`"quoted \"and\" escaped"`, 201},
		{`"unterminated`, 400},
		{`""`, 400},
		{`"a"b"`, 400},
		{`two words`, 400},
		{`"bad \x escape"`, 400},
	} {
		r := do(t, srv, "POST", "/orders", `{"item":"i"}`, "Idempotency-Key", tc.key)
		if r.status != tc.want {
			t.Errorf("key %s: status %d, want %d (%s)", tc.key, r.status, tc.want, r.body)
		}
	}
	// Two header lines are not one key.
	req, _ := http.NewRequest("POST", srv.URL+"/orders", nil)
	req.Header.Add("Idempotency-Key", "a")
	req.Header.Add("Idempotency-Key", "b")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("two keys: status %d, want 400", resp.StatusCode)
	}
}
