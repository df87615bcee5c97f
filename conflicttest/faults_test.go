package conflicttest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-conflict/conflict/conflicttest"
)

// freshClient opens a new connection per request, so that net/http's own
// resend on a reused connection cannot hide a dropped response.
func freshClient(srv *conflicttest.Server) *http.Client {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &http.Client{Transport: tr}
}

func TestFaultDropAfterCommit(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithFaults(conflicttest.Faults{DropAfterCommit: 1, Routes: []string{"POST /users"}}))
	c := freshClient(srv)
	_, err := send(c, srv.URL, "POST", "/users", `{"email":"a@example.com"}`, "Idempotency-Key", "k1")
	if err == nil {
		t.Fatal("dropped response: err = nil")
	}
	st := srv.Stats()
	if st.Commits != 1 || st.Creates["a@example.com"] != 1 || len(st.Conflicts) != 0 {
		t.Fatalf("after drop: %+v", st)
	}

	// The retry with the same key is replayed, not created again.
	srv.SetFaults(conflicttest.Faults{})
	r, err := send(c, srv.URL, "POST", "/users", `{"email":"a@example.com"}`, "Idempotency-Key", "k1")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, r, 201)
	if r.header.Get("Idempotent-Replayed") != "true" || r.header.Get("Location") != "/users/u_1" {
		t.Errorf("retry not replayed: %v %s", r.header, r.body)
	}
	// Without a key the retry is a duplicate.
	r, _ = send(c, srv.URL, "POST", "/users", `{"email":"a@example.com"}`)
	wantStatus(t, r, 409)
	if st := srv.Stats(); st.Creates["a@example.com"] != 1 || st.Commits != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestFaultDropDocumentWrite(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithFaults(conflicttest.Faults{DropAfterCommit: 1}))
	srv.PutDocument("d1", `{"a":1}`)
	c := freshClient(srv)
	if _, err := send(c, srv.URL, "PUT", "/documents/d1", `{"a":2}`, "If-Match", `"1"`); err == nil {
		t.Fatal("err = nil")
	}
	// The write committed; a blind retry is now stale.
	if _, v, _ := srv.Document("d1"); v != 2 {
		t.Fatalf("version = %d, want 2", v)
	}
	srv.SetFaults(conflicttest.Faults{})
	r, _ := send(c, srv.URL, "PUT", "/documents/d1", `{"a":2}`, "If-Match", `"1"`)
	wantStatus(t, r, 412)
	// Reads are not in the default scope.
	srv.SetFaults(conflicttest.Faults{DropAfterCommit: 1})
	r, err := send(c, srv.URL, "GET", "/documents/d1", "")
	if err != nil || r.status != 200 {
		t.Errorf("GET under write faults: %v %d", err, r.status)
	}
}

func TestFaultFailBeforeCommit(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithFaults(conflicttest.Faults{FailBeforeCommit: 1}))
	r := do(t, srv, "POST", "/users", `{"email":"a@example.com"}`, "Idempotency-Key", "k1")
	wantStatus(t, r, 503)
	if r.header.Get("Retry-After") != "0" || str(r.json(t), "code") != "unavailable" {
		t.Errorf("503 = %v %s", r.header, r.body)
	}
	if st := srv.Stats(); st.Commits != 0 || st.Conflicts[503] != 1 {
		t.Errorf("Stats = %+v", st)
	}
	// The key was not recorded: the retry runs for the first time.
	srv.SetFaults(conflicttest.Faults{})
	r = do(t, srv, "POST", "/users", `{"email":"a@example.com"}`, "Idempotency-Key", "k1")
	wantStatus(t, r, 201)
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Error("replayed a key that failed before commit")
	}
}

func TestFaultRoutesAndLatency(t *testing.T) {
	t.Parallel()
	srv := newServer(t,
		conflicttest.WithFaults(conflicttest.Faults{FailBeforeCommit: 1, Routes: []string{"PUT /documents/{id}", "GET /orders/{id}"}}),
		conflicttest.WithLatency(30*time.Millisecond))
	srv.PutDocument("d1", `{}`)
	wantStatus(t, do(t, srv, "POST", "/orders", `{"item":"x"}`), 201)
	wantStatus(t, do(t, srv, "PATCH", "/documents/d1", `{"b":1}`, "If-Match", `"1"`), 200)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{}`, "If-Match", `"2"`), 503)
	wantStatus(t, do(t, srv, "GET", "/orders/o_1", ""), 503)

	start := time.Now()
	wantStatus(t, do(t, srv, "GET", "/orders/o_1", ""), 503)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("latency: request took %v, want >= 30ms", d)
	}
	start = time.Now()
	wantStatus(t, do(t, srv, "GET", "/documents/d1", ""), 200)
	if d := time.Since(start); d >= 30*time.Millisecond {
		t.Logf("out-of-scope GET took %v (slow machine?)", d)
	}
}

func TestFaultsReproducible(t *testing.T) {
	t.Parallel()
	run := func(seed int64) string {
		srv := newServer(t, conflicttest.WithFaults(conflicttest.Faults{Seed: seed, FailBeforeCommit: 0.5}))
		var b strings.Builder
		for range 32 {
			r := do(t, srv, "POST", "/orders", `{"item":"x"}`)
			b.WriteString(map[int]string{201: "+", 503: "x"}[r.status])
		}
		return b.String()
	}
	a, b := run(7), run(7)
	if a != b {
		t.Errorf("same seed, different faults:\n%s\n%s", a, b)
	}
	if !strings.Contains(a, "+") || !strings.Contains(a, "x") {
		t.Errorf("p=0.5 gave %s", a)
	}
	// SetFaults reseeds, so the sequence restarts.
	srv := newServer(t)
	srv.SetFaults(conflicttest.Faults{Seed: 7, FailBeforeCommit: 0.5})
	var c strings.Builder
	for range 32 {
		r := do(t, srv, "POST", "/orders", `{"item":"x"}`)
		c.WriteString(map[int]string{201: "+", 503: "x"}[r.status])
	}
	if c.String() != a {
		t.Errorf("SetFaults sequence %s, want %s", c.String(), a)
	}
}

func TestFaultsUnknownRoutePanics(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "unknown fault route") {
			t.Errorf("recover() = %v", r)
		}
	}()
	srv.SetFaults(conflicttest.Faults{Routes: []string{"POST /user"}})
}

// TestHandlerMounted serves the API from another server, faults included.
func TestHandlerMounted(t *testing.T) {
	t.Parallel()
	api := conflicttest.NewUnstartedServer(conflicttest.WithFaults(conflicttest.Faults{DropAfterCommit: 1}))
	other := httptest.NewServer(api.Handler())
	defer other.Close()
	if api.URL != "" {
		t.Errorf("unstarted URL = %q", api.URL)
	}
	resp, err := other.Client().Post(other.URL+"/orders", "application/json", strings.NewReader(`{"item":"x"}`))
	if err == nil {
		resp.Body.Close()
		t.Fatal("dropped response: err = nil")
	}
	if st := api.Stats(); st.Commits != 1 || st.Requests["POST /orders"] < 1 {
		t.Errorf("Stats = %+v", st)
	}
	api.SetFaults(conflicttest.Faults{})
	api.Start()
	defer api.Close()
	r := do(t, api, "GET", "/orders/o_1", "")
	wantStatus(t, r, 200)
}
