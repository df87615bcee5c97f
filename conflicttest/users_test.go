package conflicttest_test

import (
	"testing"

	"github.com/go-conflict/conflict/conflicttest"
)

func TestUsers(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	r := do(t, srv, "POST", "/users", `{"email":"a@example.com","name":"A"}`)
	wantStatus(t, r, 201)
	if loc := r.header.Get("Location"); loc != "/users/u_1" {
		t.Errorf("Location = %q", loc)
	}
	if got := string(r.body); got != `{"id":"u_1","email":"a@example.com","name":"A"}` {
		t.Errorf("body = %s", got)
	}

	r = do(t, srv, "POST", "/users", `{"email":"a@example.com","name":"B"}`)
	wantStatus(t, r, 409)
	m := r.json(t)
	if str(m, "code") != "duplicate" || str(m, "field") != "email" || str(m, "existing_id") != "u_1" {
		t.Errorf("409 body = %s", r.body)
	}
	if loc := r.header.Get("Location"); loc != "/users/u_1" {
		t.Errorf("409 Location = %q", loc)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Error("409 without X-Request-Id")
	}

	wantStatus(t, do(t, srv, "POST", "/users", `{"email":"b@example.com"}`), 201)
	wantStatus(t, do(t, srv, "POST", "/users", `{"name":"no email"}`), 400)
	wantStatus(t, do(t, srv, "POST", "/users", `{"email":"c@example.com","name":7}`), 400)

	r = do(t, srv, "GET", "/users?email=a@example.com", "")
	wantStatus(t, r, 200)
	if got := string(r.body); got != `{"items":[{"id":"u_1","email":"a@example.com","name":"A"}]}` {
		t.Errorf("lookup = %s", got)
	}
	if r := do(t, srv, "GET", "/users?email=zz@example.com", ""); string(r.body) != `{"items":[]}` {
		t.Errorf("empty lookup = %s", r.body)
	}
	if r := do(t, srv, "GET", "/users", ""); len(get(r.json(t), "items").([]any)) != 2 {
		t.Errorf("list = %s", r.body)
	}
	wantStatus(t, do(t, srv, "GET", "/users/u_2", ""), 200)
	wantStatus(t, do(t, srv, "GET", "/users/u_9", ""), 404)

	st := srv.Stats()
	if st.Creates["a@example.com"] != 1 || st.Creates["b@example.com"] != 1 || st.Commits != 2 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestUsersDuplicateWithoutLocationOrID(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithLocation(false), conflicttest.WithExistingID(false))
	do(t, srv, "POST", "/users", `{"email":"a@example.com"}`)
	r := do(t, srv, "POST", "/users", `{"email":"a@example.com"}`)
	wantStatus(t, r, 409)
	if loc := r.header.Get("Location"); loc != "" {
		t.Errorf("Location = %q with WithLocation(false)", loc)
	}
	m := r.json(t)
	if m["existing_id"] != nil || str(m, "code") != "duplicate" {
		t.Errorf("body = %s with WithExistingID(false)", r.body)
	}
	for _, d := range conflicttest.Dialects() {
		srv := newServer(t, conflicttest.WithDialect(d), conflicttest.WithExistingID(false))
		do(t, srv, "POST", "/users", `{"email":"a@example.com"}`)
		r := do(t, srv, "POST", "/users", `{"email":"a@example.com"}`)
		if contains(r.body, "u_1") {
			t.Errorf("%s: body names the existing id with WithExistingID(false): %s", d, r.body)
		}
		if r.header.Get("Location") != "/users/u_1" {
			t.Errorf("%s: Location = %q", d, r.header.Get("Location"))
		}
	}
}

func contains(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}
