package conflicttest_test

import (
	"testing"

	"github.com/go-conflict/conflict/conflicttest"
)

// TestVersionQuery: ?ifVersionMatch=N is the precondition; 0 creates, and a
// create that finds the document is a 412 stale version.
func TestVersionQuery(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithVersionIn(conflicttest.VersionQuery))

	// A conditional create, by PUT.
	r := do(t, srv, "PUT", "/documents/d1?ifVersionMatch=0", `{"title":"a"}`)
	wantStatus(t, r, 201)
	if et, xv := r.header.Get("ETag"), r.header.Get("X-Version"); et != "" || xv != "1" {
		t.Errorf("ETag %q, X-Version %q in query mode; want none and 1", et, xv)
	}
	if num(r.json(t), "version") != 1 {
		t.Errorf("body %s, want version 1", r.body)
	}
	// The same create again: the document exists.
	r = do(t, srv, "PUT", "/documents/d1?ifVersionMatch=0", `{"title":"b"}`)
	wantStatus(t, r, 412)
	if m := r.json(t); str(m, "code") != "version_conflict" || num(m, "current_version") != 1 {
		t.Errorf("412 body = %s", r.body)
	}
	// Update on the current version; a stale one is 412.
	wantStatus(t, do(t, srv, "PUT", "/documents/d1?ifVersionMatch=1", `{"title":"c"}`), 200)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1?ifVersionMatch=1", `{"title":"d"}`), 412)
	// If-Match and the body's version are not preconditions here: 428.
	r = do(t, srv, "PUT", "/documents/d1", `{"title":"e","version":2}`, "If-Match", `"2"`)
	wantStatus(t, r, 428)
	if m := r.json(t); str(m, "field") != "ifVersionMatch" {
		t.Errorf("428 body = %s", r.body)
	}
	wantStatus(t, do(t, srv, "PUT", "/documents/d1?ifVersionMatch=x", `{}`), 400)
	wantStatus(t, do(t, srv, "PUT", "/documents/nope?ifVersionMatch=3", `{}`), 404)
	// PATCH and DELETE honour it too.
	wantStatus(t, do(t, srv, "PATCH", "/documents/d1?ifVersionMatch=1", `{"n":1}`), 412)
	wantStatus(t, do(t, srv, "PATCH", "/documents/d1?ifVersionMatch=2", `{"n":1}`), 200)
	wantStatus(t, do(t, srv, "PATCH", "/documents/new?ifVersionMatch=0", `{"n":1}`), 404)
	wantStatus(t, do(t, srv, "DELETE", "/documents/d1?ifVersionMatch=3", ""), 204)
	if st := srv.Stats(); st.Conflicts[412] != 3 || st.Commits != 4 {
		t.Errorf("stats %+v", st)
	}
}

// TestInsertDocument: POST /documents?name= creates or replaces, as an
// upload; under VersionQuery, ifVersionMatch=0 makes it a conditional create.
func TestInsertDocument(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithVersionIn(conflicttest.VersionQuery))
	r := do(t, srv, "POST", "/documents?name=d1&ifVersionMatch=0", `{"title":"a"}`)
	wantStatus(t, r, 201)
	if loc := r.header.Get("Location"); loc != "/documents/d1" {
		t.Errorf("Location %q", loc)
	}
	wantStatus(t, do(t, srv, "POST", "/documents?name=d1&ifVersionMatch=0", `{"title":"b"}`), 412)
	wantStatus(t, do(t, srv, "POST", "/documents?name=d1", `{"title":"b"}`), 428)
	wantStatus(t, do(t, srv, "POST", "/documents?name=d1&ifVersionMatch=1", `{"title":"b"}`), 200)
	wantStatus(t, do(t, srv, "POST", "/documents?name=d2", `{"title":"new"}`), 201) // a new name needs no precondition
	wantStatus(t, do(t, srv, "POST", "/documents", `{"title":"b"}`), 400)
	if body, v, _ := srv.Document("d1"); v != 2 || string(body) != `{"title":"b","version":2}` {
		t.Errorf("d1 = %s at version %d", body, v)
	}
	if n := srv.Stats().Requests["POST /documents"]; n != 6 {
		t.Errorf("%d POST /documents counted, want 6", n)
	}
}

// TestVersionCustomHeader: X-Version is sent and replied instead of an
// ETag; the body's version field still works and is not in replies.
func TestVersionCustomHeader(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithVersionIn(conflicttest.VersionCustomHeader))
	r := do(t, srv, "PUT", "/documents/d1", `{"title":"a"}`, "X-Version", "0")
	wantStatus(t, r, 201)
	if r.header.Get("X-Version") != "1" || r.header.Get("ETag") != "" || string(r.body) != `{"title":"a"}` {
		t.Errorf("reply %v %s, want X-Version 1, no ETag, no version field", r.header, r.body)
	}
	r = do(t, srv, "GET", "/documents/d1", "")
	if r.header.Get("X-Version") != "1" {
		t.Errorf("GET X-Version = %q", r.header.Get("X-Version"))
	}
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"title":"b"}`, "X-Version", "0"), 412)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"title":"b"}`, "X-Version", "2"), 412)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"title":"b"}`, "If-Match", `"1"`), 428)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"title":"b","version":7}`), 409)
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"title":"b","version":1}`), 200)
	r = do(t, srv, "PUT", "/documents/d1", `{"title":"c"}`, "X-Version", "2")
	wantStatus(t, r, 200)
	if r.header.Get("X-Version") != "3" {
		t.Errorf("X-Version = %q, want 3", r.header.Get("X-Version"))
	}
	if body, v, _ := srv.Document("d1"); v != 3 || string(body) != `{"title":"c"}` {
		t.Errorf("Document = %s, %d", body, v)
	}
	// The stale reply carries the current version header with
	// WithCurrentInConflict.
	srv2 := newServer(t, conflicttest.WithVersionIn(conflicttest.VersionCustomHeader), conflicttest.WithCurrentInConflict(true))
	srv2.PutDocument("d1", `{"title":"a"}`)
	r = do(t, srv2, "PUT", "/documents/d1", `{}`, "X-Version", "9")
	if r.status != 412 || r.header.Get("X-Version") != "1" {
		t.Errorf("stale reply %d X-Version %q", r.status, r.header.Get("X-Version"))
	}
}

// TestVersionNames: the field, parameter and header can take another API's
// names, and the field may be nested.
func TestVersionNames(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithVersionIn(conflicttest.VersionBody),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "/metadata/resourceVersion"}))
	srv.PutDocument("cm", `{"metadata":{"name":"cm","resourceVersion":"99"},"data":{"k":"v"}}`)
	r := do(t, srv, "GET", "/documents/cm", "")
	if string(r.body) != `{"data":{"k":"v"},"metadata":{"name":"cm","resourceVersion":1}}` {
		t.Errorf("GET = %s", r.body)
	}
	wantStatus(t, do(t, srv, "PUT", "/documents/cm", `{"metadata":{"name":"cm","resourceVersion":"7"},"data":{}}`), 409)
	wantStatus(t, do(t, srv, "PUT", "/documents/cm", `{"metadata":{"name":"cm","resourceVersion":"1"},"data":{}}`), 200)
	wantStatus(t, do(t, srv, "PUT", "/documents/cm", `{"metadata":{"name":"cm","resourceVersion":2},"data":{"x":1}}`), 200)
	if body, v, _ := srv.Document("cm"); v != 3 || string(body) != `{"data":{"x":1},"metadata":{"name":"cm","resourceVersion":3}}` {
		t.Errorf("Document = %s, %d", body, v)
	}

	q := newServer(t, conflicttest.WithVersionIn(conflicttest.VersionQuery),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "/generation", Query: "ifGenerationMatch"}))
	r = do(t, q, "POST", "/documents?name=o&ifGenerationMatch=0", `{"a":1}`)
	wantStatus(t, r, 201)
	if string(r.body) != `{"a":1,"generation":1}` {
		t.Errorf("insert = %s", r.body)
	}
	wantStatus(t, do(t, q, "POST", "/documents?name=o&ifGenerationMatch=0", `{"a":2}`), 412)
	wantStatus(t, do(t, q, "POST", "/documents?name=o&ifVersionMatch=1", `{"a":2}`), 428)

	// "-": no version in bodies; the header says it.
	g := newServer(t, conflicttest.WithVersionIn(conflicttest.VersionQuery),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "-", Query: "ifGenerationMatch", Header: "X-Goog-Generation"}))
	r = do(t, g, "POST", "/documents?name=o&ifGenerationMatch=0", `{"a":1,"version":5}`)
	if r.status != 201 || string(r.body) != `{"a":1,"version":5}` || r.header.Get("X-Goog-Generation") != "1" {
		t.Errorf("no-field create: %d %s %v", r.status, r.body, r.header)
	}
	wantStatus(t, do(t, g, "POST", "/documents?name=o&ifGenerationMatch=1", `{"a":2}`), 200)
	func() {
		defer func() {
			if recover() == nil {
				t.Error(`Field "-" with VersionBody did not panic`)
			}
		}()
		conflicttest.NewUnstartedServer(conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "-"}))
	}()

	h := newServer(t, conflicttest.WithVersionIn(conflicttest.VersionCustomHeader),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Header: "X-Goog-Generation"}))
	r = do(t, h, "PUT", "/documents/o", `{"a":1}`, "X-Goog-Generation", "0")
	if r.status != 201 || r.header.Get("X-Goog-Generation") != "1" {
		t.Errorf("custom header create: %d %v", r.status, r.header)
	}

	defer func() {
		if recover() == nil {
			t.Error("a malformed field pointer did not panic")
		}
	}()
	conflicttest.NewUnstartedServer(conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "version"}))
}

// TestWeakETags: the first reads after a write carry a weak ETag, later
// ones a strong one; a weak tag never satisfies If-Match.
func TestWeakETags(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithWeakETags(2))
	srv.PutDocument("d1", `{"title":"a"}`)
	for i, want := range []string{`W/"1"`, `W/"1"`, `"1"`, `"1"`} {
		if et := do(t, srv, "GET", "/documents/d1", "").header.Get("ETag"); et != want {
			t.Errorf("read %d: ETag %q, want %q", i+1, et, want)
		}
	}
	wantStatus(t, do(t, srv, "PUT", "/documents/d1", `{"title":"b"}`, "If-Match", `W/"1"`), 412)
	r := do(t, srv, "PUT", "/documents/d1", `{"title":"b"}`, "If-Match", `"1"`)
	if r.status != 200 || r.header.Get("ETag") != `"2"` {
		t.Errorf("write reply %d ETag %q, want a strong tag on the write's own reply", r.status, r.header.Get("ETag"))
	}
	if et := do(t, srv, "GET", "/documents/d1", "").header.Get("ETag"); et != `W/"2"` {
		t.Errorf("read after the write: %q", et)
	}
}

// TestBareConflicts: conflict replies carry no body and no Content-Type;
// other errors keep theirs.
func TestBareConflicts(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithBareConflicts(true), conflicttest.WithDialect(conflicttest.AzureStorage))
	srv.PutDocument("d1", `{"title":"a"}`)
	srv.PutDocument("d1", `{"title":"b"}`)
	for _, r := range []response{
		do(t, srv, "PUT", "/documents/d1", `{}`, "If-Match", `"1"`),
		do(t, srv, "PUT", "/documents/d1", `{"version":1}`),
		do(t, srv, "POST", "/categories", `{"name":"x","parent":"missing"}`),
	} {
		if (r.status != 409 && r.status != 412) || len(r.body) != 0 || r.header.Get("Content-Type") != "" || r.header.Get("X-Ms-Error-Code") != "" {
			t.Errorf("reply %d %v %q, want a bare conflict", r.status, r.header, r.body)
		}
	}
	if r := do(t, srv, "GET", "/documents/nope", ""); r.status != 404 || len(r.body) == 0 {
		t.Errorf("404 %q, want its body", r.body)
	}
}
