package conflicttest_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/go-conflict/conflict/conflicttest"
)

func TestDocumentGet(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	if v := srv.PutDocument("d1", `{"title":"a","big":12345678901234567890,"f":1.50}`); v != 1 {
		t.Fatalf("PutDocument version = %d, want 1", v)
	}
	r := do(t, srv, "GET", "/documents/d1", "")
	wantStatus(t, r, 200)
	if got := r.header.Get("ETag"); got != `"1"` {
		t.Errorf("ETag = %q, want %q", got, `"1"`)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	// Numbers survive exactly.
	want := `{"big":12345678901234567890,"f":1.50,"title":"a","version":1}`
	if string(r.body) != want {
		t.Errorf("body = %s, want %s", r.body, want)
	}
	body, v, ok := srv.Document("d1")
	if !ok || v != 1 || string(body) != want {
		t.Errorf("Document = %s, %d, %v", body, v, ok)
	}

	r = do(t, srv, "GET", "/documents/nope", "")
	wantStatus(t, r, 404)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("404 Content-Type = %q", ct)
	}
	if _, _, ok := srv.Document("nope"); ok {
		t.Error("Document(nope) ok = true")
	}
}

func TestDocumentPutIfMatch(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.PutDocument("d1", `{"title":"a"}`)

	// The server owns "version": whatever the client sends is overwritten
	// (here the body's version is no precondition: see TestDocumentBodyVersion).
	r := do(t, srv, "PUT", "/documents/d1", `{"title":"b"}`, "If-Match", `"1"`)
	wantStatus(t, r, 200)
	if got := r.header.Get("ETag"); got != `"2"` {
		t.Errorf("ETag = %q, want \"2\"", got)
	}
	if got := string(r.body); got != `{"title":"b","version":2}` {
		t.Errorf("body = %s", got)
	}

	// Stale If-Match: 412, no ETag on the reply, nothing committed.
	r = do(t, srv, "PUT", "/documents/d1", `{"title":"c"}`, "If-Match", `"1"`)
	wantStatus(t, r, 412)
	m := r.json(t)
	if str(m, "code") != "version_conflict" || num(m, "current_version") != 2 {
		t.Errorf("412 body = %s", r.body)
	}
	if m["current"] != nil {
		t.Errorf("412 body carries current without WithCurrentInConflict: %s", r.body)
	}
	if et := r.header.Get("ETag"); et != "" {
		t.Errorf("412 carries ETag %q without WithCurrentInConflict", et)
	}

	// A list with the current tag matches; If-Match: * matches any version.
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"title":"d"}`, "If-Match", `"7", "2"`), 200)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"title":"e"}`, "If-Match", `*`), 200)

	// Weak tags never match, even with the right version.
	r = do(t, srv, "PUT", "/documents/d1", `{"title":"f"}`, "If-Match", `W/"4"`)
	wantStatus(t, r, 412)
	// Malformed tags match nothing.
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"title":"f"}`, "If-Match", `4`), 412)

	if _, v, _ := srv.Document("d1"); v != 4 {
		t.Errorf("version = %d, want 4", v)
	}
	st := srv.Stats()
	if st.Commits != 3 {
		t.Errorf("Commits = %d, want 3", st.Commits)
	}
	if !reflect.DeepEqual(st.Versions["d1"], []int{1, 2, 3, 4}) {
		t.Errorf("Versions = %v", st.Versions["d1"])
	}
	if st.Conflicts[412] != 3 {
		t.Errorf("Conflicts[412] = %d, want 3", st.Conflicts[412])
	}
}

func TestDocumentBodyVersion(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.PutDocument("d1", `{"title":"a"}`)
	srv.PutDocument("d1", `{"title":"b"}`)

	r := do(t, srv, "PUT", "/documents/d1", `{"title":"x","version":1}`)
	wantStatus(t, r, 409)
	m := r.json(t)
	if str(m, "code") != "version_conflict" || str(m, "field") != "version" || num(m, "current_version") != 2 {
		t.Errorf("409 body = %s", r.body)
	}
	if str(m, "type") != "/problems/version-conflict" || str(m, "instance") != "/documents/d1" || num(m, "status") != 409 {
		t.Errorf("409 problem members = %s", r.body)
	}
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"title":"x","version":2}`), 200)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"title":"x","version":"3"}`), 400)

	// Both preconditions: If-Match is evaluated first (412), then the body (409).
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"version":3}`, "If-Match", `"1"`), 412)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"version":1}`, "If-Match", `"3"`), 409)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"version":3}`, "If-Match", `"3"`), 200)
}

func TestDocumentCurrentInConflict(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithCurrentInConflict(true))
	srv.PutDocument("d1", `{"title":"a"}`)
	srv.PutDocument("d1", `{"title":"b"}`)
	for _, tc := range []struct {
		name    string
		headers []string
		body    string
		status  int
	}{
		{"if-match", []string{"If-Match", `"1"`}, `{"title":"x"}`, 412},
		{"body", nil, `{"title":"x","version":1}`, 409},
	} {
		r := do(t, srv, "PUT", "/documents/d1", tc.body, tc.headers...)
		wantStatus(t, r, tc.status)
		m := r.json(t)
		if str(m, "current", "title") != "b" || num(m, "current", "version") != 2 || num(m, "current_version") != 2 {
			t.Errorf("%s: body = %s", tc.name, r.body)
		}
		if et := r.header.Get("ETag"); et != `"2"` {
			t.Errorf("%s: ETag = %q, want the real current ETag", tc.name, et)
		}
	}
}

func TestDocumentPreconditionRequired(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode    conflicttest.VersionIn
		headers []string
		body    string
		want    int
	}{
		{conflicttest.VersionEither, nil, `{"a":1}`, 428},
		{conflicttest.VersionEither, []string{"If-Match", `"1"`}, `{"a":1}`, 200},
		{conflicttest.VersionEither, nil, `{"a":1,"version":1}`, 200},
		{conflicttest.VersionHeader, nil, `{"a":1,"version":1}`, 428},
		{conflicttest.VersionHeader, []string{"If-Match", `"1"`}, `{"a":1,"version":7}`, 200},
		{conflicttest.VersionBody, []string{"If-Match", `"1"`}, `{"a":1}`, 428},
		{conflicttest.VersionBody, []string{"If-Match", `"9"`}, `{"a":1,"version":1}`, 200},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			srv := newServer(t, conflicttest.WithVersionIn(tc.mode))
			srv.PutDocument("d1", `{}`)
			r := do(t, srv, "PUT", "/documents/d1", tc.body, tc.headers...)
			wantStatus(t, r, tc.want)
			if tc.want == 428 && str(r.json(t), "code") != "precondition_required" {
				t.Errorf("body = %s", r.body)
			}
			if et := r.header.Get("ETag"); tc.want == 200 && (et == "") != (tc.mode == conflicttest.VersionBody) {
				t.Errorf("ETag = %q in mode %v", et, tc.mode)
			}
		})
	}

	srv := newServer(t, conflicttest.WithRequirePrecondition(false))
	srv.PutDocument("d1", `{}`)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"blind":true}`), 200)
	wantStatus(t, do(t, srv, "PATCH", "/documents/d1", `{"blind":false}`), 200)
	wantStatus(t, do(t, srv, "DELETE", "/documents/d1", ""), 204)
}

func TestDocumentIfNoneMatchCreate(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	// Without If-None-Match: * a missing document is not created.
	wantStatus(t, do(t, srv, "PUT", "/documents/new", `{"a":1}`, "If-Match", `"1"`), 404)
	r := do(t, srv, "PUT", "/documents/new", `{"a":1}`, "If-None-Match", "*")
	wantStatus(t, r, 201)
	if r.header.Get("Location") != "/documents/new" || r.header.Get("ETag") != `"1"` {
		t.Errorf("201 headers = %v", r.header)
	}
	r = do(t, srv, "PUT", "/documents/new", `{"a":2}`, "If-None-Match", "*")
	wantStatus(t, r, 412)
	m := r.json(t)
	if str(m, "code") != "duplicate" || str(m, "existing_id") != "new" {
		t.Errorf("412 body = %s", r.body)
	}
	if r.header.Get("Location") != "/documents/new" {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}
}

func TestDocumentPatch(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.PutDocument("d1", `{"title":"a","tags":{"x":1,"y":2},"keep":[1,2]}`)
	r := do(t, srv, "PATCH", "/documents/d1", `{"title":"b","tags":{"x":null,"z":3},"version":1}`,
		"Content-Type", "application/merge-patch+json")
	wantStatus(t, r, 200)
	want := `{"keep":[1,2],"tags":{"y":2,"z":3},"title":"b","version":2}`
	if string(r.body) != want {
		t.Errorf("body = %s, want %s", r.body, want)
	}
	wantStatus(t, do(t, srv, "PATCH", "/documents/d1", `{"title":"c"}`, "If-Match", `"1"`), 412)
	wantStatus(t, do(t, srv, "PATCH", "/documents/d1", `{"title":"c"}`), 428)
	wantStatus(t, do(t, srv, "PATCH", "/documents/d1", `[{"op":"add"}]`,
		"Content-Type", "application/json-patch+json", "If-Match", `"2"`), 415)
	wantStatus(t, do(t, srv, "PATCH", "/documents/nope", `{}`, "If-Match", `"1"`), 404)
	wantStatus(t, do(t, srv, "PATCH", "/documents/d1", `[1]`, "If-Match", `"2"`), 400)
}

func TestDocumentDelete(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.PutDocument("d1", `{"a":1}`)
	wantStatus(t, do(t, srv, "DELETE", "/documents/d1", ""), 428)
	wantStatus(t, do(t, srv, "DELETE", "/documents/d1", "", "If-Match", `"2"`), 412)
	wantStatus(t, do(t, srv, "DELETE", "/documents/d1", `{"version":2}`), 409)
	wantStatus(t, do(t, srv, "DELETE", "/documents/d1", "", "If-Match", `"1"`), 204)
	wantStatus(t, do(t, srv, "GET", "/documents/d1", ""), 404)
	wantStatus(t, do(t, srv, "DELETE", "/documents/d1", "", "If-Match", `"1"`), 404)

	// Re-created, the document continues its version sequence, so an old
	// If-Match "1" cannot match the new document.
	r := do(t, srv, "PUT", "/documents/d1", `{"b":2}`, "If-None-Match", "*")
	wantStatus(t, r, 201)
	if r.header.Get("ETag") != `"2"` {
		t.Errorf("re-created ETag = %q, want \"2\"", r.header.Get("ETag"))
	}
	if v := srv.Stats().Versions["d1"]; !reflect.DeepEqual(v, []int{1, 2}) {
		t.Errorf("Versions = %v", v)
	}
}

func TestDocumentBadRequests(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.PutDocument("d1", `{}`)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"a":`, "If-Match", `"1"`), 400)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{} {}`, "If-Match", `"1"`), 400)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `"str"`, "If-Match", `"1"`), 400)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `a=1`, "If-Match", `"1"`, "Content-Type", "text/plain"), 415)
	big := `{"a":"` + strings.Repeat("x", 1<<20) + `"}`
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", big, "If-Match", `"1"`), http.StatusRequestEntityTooLarge)
	if st := srv.Stats(); st.Commits != 0 {
		t.Errorf("Commits = %d after bad requests", st.Commits)
	}
}

func TestPutDocumentPanicsOnNonObject(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	defer func() {
		if recover() == nil {
			t.Error("PutDocument with an array did not panic")
		}
	}()
	srv.PutDocument("d1", `[1]`)
}
