package conflicttest_test

import "testing"

func TestCategories(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	r := do(t, srv, "POST", "/categories", `{"name":"root","parent":null}`)
	wantStatus(t, r, 201)
	if string(r.body) != `{"id":"c_1","name":"root","parent":null}` || r.header.Get("Location") != "/categories/c_1" {
		t.Errorf("create = %s %v", r.body, r.header)
	}
	wantStatus(t, do(t, srv, "POST", "/categories", `{"name":"a","parent":"c_1"}`), 201)
	wantStatus(t, do(t, srv, "POST", "/categories", `{"name":"b","parent":"c_2"}`), 201)

	r = do(t, srv, "POST", "/categories", `{"name":"x","parent":"c_9"}`)
	wantStatus(t, r, 409)
	if m := r.json(t); str(m, "code") != "dependency_conflict" || str(m, "field") != "parent" {
		t.Errorf("missing parent = %s", r.body)
	}

	// c_1 <- c_2 <- c_3: making c_3 (or c_1 itself) the parent of c_1 is a cycle.
	for _, parent := range []string{"c_3", "c_1"} {
		r = do(t, srv, "PUT", "/categories/c_1", `{"name":"root","parent":"`+parent+`"}`)
		wantStatus(t, r, 409)
		if m := r.json(t); str(m, "code") != "dependency_conflict" || str(m, "field") != "parent" {
			t.Errorf("cycle via %s = %s", parent, r.body)
		}
	}
	wantStatus(t, do(t, srv, "PUT", "/categories/c_3", `{"name":"b","parent":"c_9"}`), 409)
	r = do(t, srv, "PUT", "/categories/c_3", `{"name":"b2","parent":"c_1"}`)
	wantStatus(t, r, 200)
	if string(r.body) != `{"id":"c_3","name":"b2","parent":"c_1"}` {
		t.Errorf("PUT = %s", r.body)
	}
	wantStatus(t, do(t, srv, "PUT", "/categories/c_9", `{"name":"z"}`), 404)
	wantStatus(t, do(t, srv, "PUT", "/categories/c_1", `{"name":""}`), 400)
	wantStatus(t, do(t, srv, "POST", "/categories", `{"name":"n","parent":5}`), 400)
	r = do(t, srv, "GET", "/categories/c_2", "")
	if string(r.body) != `{"id":"c_2","name":"a","parent":"c_1"}` {
		t.Errorf("GET = %s", r.body)
	}
	wantStatus(t, do(t, srv, "GET", "/categories/c_9", ""), 404)
}
