package conflicttest_test

import (
	"reflect"
	"testing"
)

func TestStats(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.PutDocument("d1", `{}`)
	do(t, srv, "GET", "/documents/d1", "")
	do(t, srv, "GET", "/documents/d1", "")
	do(t, srv, "HEAD", "/documents/d1", "")
	do(t, srv, "PUT", "/documents/d1", `{}`, "If-Match", `"1"`)
	do(t, srv, "PUT", "/documents/d1", `{}`, "If-Match", `"1"`)
	do(t, srv, "POST", "/users", `{"email":"a@example.com"}`)
	do(t, srv, "POST", "/users", `{"email":"a@example.com"}`)
	if r := do(t, srv, "GET", "/no/such/route", ""); r.header.Get("X-Request-Id") == "" {
		t.Error("unrouted 404 without X-Request-Id")
	}
	do(t, srv, "DELETE", "/users", "")

	st := srv.Stats()
	wantReq := map[string]int{"GET /documents/{id}": 3, "PUT /documents/{id}": 2, "POST /users": 2}
	if !reflect.DeepEqual(st.Requests, wantReq) {
		t.Errorf("Requests = %v, want %v", st.Requests, wantReq)
	}
	if st.Commits != 2 {
		t.Errorf("Commits = %d, want 2", st.Commits)
	}
	if !reflect.DeepEqual(st.Creates, map[string]int{"a@example.com": 1}) {
		t.Errorf("Creates = %v", st.Creates)
	}
	if !reflect.DeepEqual(st.Versions, map[string][]int{"d1": {1, 2}}) {
		t.Errorf("Versions = %v", st.Versions)
	}
	wantConf := map[int]int{412: 1, 409: 1, 404: 1, 405: 1}
	if !reflect.DeepEqual(st.Conflicts, wantConf) {
		t.Errorf("Conflicts = %v, want %v", st.Conflicts, wantConf)
	}

	// A deep copy: changing it changes nothing.
	st.Requests["x"] = 9
	st.Versions["d1"][0] = 99
	st.Creates["x"] = 1
	st.Conflicts[500] = 1
	again := srv.Stats()
	if again.Requests["x"] != 0 || again.Versions["d1"][0] != 1 || again.Creates["x"] != 0 || again.Conflicts[500] != 0 {
		t.Errorf("Stats shares memory with the server: %+v", again)
	}

	srv.ResetStats()
	st = srv.Stats()
	if len(st.Requests)+len(st.Creates)+len(st.Versions)+len(st.Conflicts)+st.Commits != 0 || st.Requests == nil {
		t.Errorf("after reset: %+v", st)
	}
	// Resources survive a reset.
	wantStatus(t, do(t, srv, "GET", "/documents/d1", ""), 200)
}
