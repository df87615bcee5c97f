package preset_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/preset"
)

// mount serves srv's API at another server's URL layout: each route maps a
// path prefix of that layout onto a conflicttest path, and the query is
// kept. What answers is the conflicttest Server's own handler, state and
// statistics: a real HTTP server at another address, not a mock.
func mount(t testing.TB, srv *conflicttest.Server, routes ...string) string {
	t.Helper()
	h := srv.Handler()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(routes); i += 2 {
			if rest, ok := strings.CutPrefix(r.URL.Path, routes[i]); ok {
				r2 := r.Clone(r.Context())
				r2.URL.Path, r2.URL.RawPath = routes[i+1]+rest, ""
				h.ServeHTTP(w, r2)
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(front.Close)
	return front.URL
}

// send sends through c and returns the response with its body read.
func send(t testing.TB, c *conflict.Client, method, url, body string, hdr ...string) (*http.Response, string, error) {
	t.Helper()
	return sendCtx(context.Background(), t, c, method, url, body, hdr...)
}

func sendCtx(ctx context.Context, t testing.TB, c *conflict.Client, method, url, body string, hdr ...string) (*http.Response, string, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

func mustSend(t testing.TB, c *conflict.Client, want int, method, url, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	resp, got, err := send(t, c, method, url, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, got)
	}
	return resp, got
}

// wantOutcome checks what the client reports about resp.
func wantOutcome(t testing.TB, resp *http.Response, outcome conflict.Outcome, kind conflict.Kind, attempts int) {
	t.Helper()
	r := conflict.ResultOf(resp)
	if r == nil || r.Outcome != outcome || r.Attempts != attempts || r.Conflict == nil || r.Conflict.Kind != kind {
		t.Errorf("Result = %+v, want %s after %s in %d attempts", r, outcome, kind, attempts)
	}
}

// wantDoc checks a document's content (its version aside) and version.
func wantDoc(t testing.TB, srv *conflicttest.Server, id string, version int, members ...string) {
	t.Helper()
	doc, v, ok := srv.Document(id)
	if !ok || v != version {
		t.Errorf("%s at version %d (ok %v), want %d", doc, v, ok, version)
	}
	for _, m := range members {
		if !strings.Contains(string(doc), m) {
			t.Errorf("%s lacks %s", doc, m)
		}
	}
}

// TestCouchDB: a stale _rev is merged; the server speaks CouchDB's errors
// and keeps the version in "_rev", at /{db}/{id}.
func TestCouchDB(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer(conflicttest.WithDialect(conflicttest.CouchDB),
		conflicttest.WithVersionIn(conflicttest.VersionBody),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "/_rev"}))
	t.Cleanup(srv.Close)
	srv.PutDocument("d1", `{"title":"draft","body":"old"}`)
	c := conflict.New(preset.CouchDB("/")...)
	_, got := mustSend(t, c, 200, "GET", srv.URL+"/documents/d1", "")
	srv.PutDocument("d1", `{"title":"draft","body":"theirs"}`)

	resp, _ := mustSend(t, c, 200, "PUT", srv.URL+"/documents/d1", strings.Replace(got, `"draft"`, `"ours"`, 1))
	wantOutcome(t, resp, conflict.Merged, conflict.StaleVersion, 2)
	wantDoc(t, srv, "d1", 3, `"title":"ours"`, `"body":"theirs"`, `"_rev":3`)
	if st := srv.Stats(); st.Requests["GET /documents/{id}"] != 2 || st.Conflicts[409] != 1 {
		t.Errorf("stats %+v, want one 409 and one refresh", st)
	}
}

// TestCouchDBDatabaseExists: PUT /{db} on an existing database (412
// file_exists) is adopted, with pouchdb-server's replies.
func TestCouchDBDatabaseExists(t *testing.T) {
	t.Parallel()
	couch := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			io.WriteString(w, `{"db_name":"orders","doc_count":0,"update_seq":0}`)
			return
		}
		w.WriteHeader(http.StatusPreconditionFailed)
		io.WriteString(w, `{"error":"file_exists","reason":"The database could not be created."}`)
	}))
	t.Cleanup(couch.Close)
	resp, _ := mustSend(t, conflict.New(preset.CouchDB("/")...), 201, "PUT", couch.URL+"/orders", "")
	wantOutcome(t, resp, conflict.Adopted, conflict.Duplicate, 1)
}

// TestKubernetes: a stale resourceVersion is merged and a create whose
// name exists is adopted, with the API server's Status replies, at
// Kubernetes' paths.
func TestKubernetes(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer(conflicttest.WithDialect(conflicttest.Kubernetes),
		conflicttest.WithLocation(false), // the API server names the existing object in details.name only
		conflicttest.WithVersionIn(conflicttest.VersionBody),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "/metadata/resourceVersion"}))
	t.Cleanup(srv.Close)
	base := mount(t, srv,
		"/api/v1/namespaces/default/configmaps/", "/documents/",
		"/apis/example.com/v1/namespaces/default/users", "/users")
	c := conflict.New(preset.Kubernetes("")...)

	srv.PutDocument("cm", `{"kind":"ConfigMap","metadata":{"name":"cm"},"data":{"a":"1","b":"1"}}`)
	cm := base + "/api/v1/namespaces/default/configmaps/cm"
	_, got := mustSend(t, c, 200, "GET", cm, "")
	srv.PutDocument("cm", `{"kind":"ConfigMap","metadata":{"name":"cm"},"data":{"a":"1","b":"theirs"}}`)
	resp, _ := mustSend(t, c, 200, "PUT", cm, strings.Replace(got, `"a":"1"`, `"a":"ours"`, 1))
	wantOutcome(t, resp, conflict.Merged, conflict.StaleVersion, 2)
	wantDoc(t, srv, "cm", 3, `"a":"ours"`, `"b":"theirs"`, `"resourceVersion":3`)

	// A create whose name exists: AlreadyExists, details.name; the
	// existing object holds what was sent, and more.
	users := base + "/apis/example.com/v1/namespaces/default/users"
	mustSend(t, c, 201, "POST", users, `{"email":"ada@example.com","name":"Ada"}`)
	resp, got = mustSend(t, c, 201, "POST", users, `{"email":"ada@example.com","name":"Ada"}`)
	wantOutcome(t, resp, conflict.Adopted, conflict.Duplicate, 1)
	if !strings.Contains(got, `"id":"u_1"`) {
		t.Errorf("adopted %s, want u_1", got)
	}
	// Another object under that name is not adopted.
	_, _, err := send(t, c, "POST", users, `{"email":"ada@example.com","name":"Someone else"}`)
	if !errors.Is(err, conflict.ErrUnrecoverable) {
		t.Errorf("err = %v, want a foreign duplicate", err)
	}
}

// TestAzureBlob: a stale If-Match on a blob (412 ConditionNotMet) is
// merged, at the account's path-style URLs.
func TestAzureBlob(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer(conflicttest.WithDialect(conflicttest.AzureStorage),
		conflicttest.WithVersionIn(conflicttest.VersionHeader))
	t.Cleanup(srv.Close)
	base := mount(t, srv, "/devstoreaccount1/docs/", "/documents/")
	c := conflict.New(preset.AzureBlob("/devstoreaccount1")...)
	srv.PutDocument("d1", `{"title":"draft","body":"old"}`)
	blob := base + "/devstoreaccount1/docs/d1?sv=2021-12-02&sig=x"
	resp, got := mustSend(t, c, 200, "GET", blob, "")
	srv.PutDocument("d1", `{"title":"draft","body":"theirs"}`)
	resp, _ = mustSend(t, c, 200, "PUT", blob, strings.Replace(got, `"draft"`, `"ours"`, 1), "If-Match", resp.Header.Get("ETag"))
	wantOutcome(t, resp, conflict.Merged, conflict.StaleVersion, 2)
	wantDoc(t, srv, "d1", 3, `"title":"ours"`, `"body":"theirs"`)
}

// TestAzureBlobLeases: Azure's lease codes are Locked (waited out), or
// invalid transitions (aborted), as Azurite sends them.
func TestAzureBlobLeases(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		code   string
		want   conflict.Kind
	}{
		{412, "LeaseIdMissing", conflict.Locked},
		{412, "LeaseIdMismatchWithBlobOperation", conflict.Locked},
		{409, "LeaseAlreadyPresent", conflict.Locked},
		{409, "LeaseIdMismatchWithLeaseOperation", conflict.InvalidTransition},
		{412, "ConditionNotMet", conflict.StaleVersion},
	} {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			azure := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("x-ms-error-code", tc.code)
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tc.status)
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Error><Code>`+tc.code+`</Code><Message>The lease.
RequestId:1</Message></Error>`)
			}))
			t.Cleanup(azure.Close)
			c := conflict.New(append(preset.AzureBlob("/acct"),
				conflict.WithLimits(conflict.Limits{MaxAttempts: 3, BackoffMin: 1e6, BackoffMax: 2e6}))...)
			_, _, err := send(t, c, "PUT", azure.URL+"/acct/c/b.json", `{"a":1}`)
			var e *conflict.Error
			if !errors.As(err, &e) || e.Conflict.Kind != tc.want {
				t.Fatalf("err = %v, want a %s conflict", err, tc.want)
			}
			wantAttempts := 1
			if tc.want == conflict.Locked {
				wantAttempts = 3 // waited and re-sent until the attempts ran out
			}
			if e.Attempts != wantAttempts {
				t.Errorf("%d attempts, want %d", e.Attempts, wantAttempts)
			}
		})
	}
}

// TestGCS: an upload on a stale generation, and a create-only upload that
// finds the object, are refreshed from the object's media URL and merged,
// with Google's error replies at Cloud Storage's paths.
func TestGCS(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer(conflicttest.WithDialect(conflicttest.Google),
		conflicttest.WithVersionIn(conflicttest.VersionQuery),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "-", Query: "ifGenerationMatch", Header: "X-Goog-Generation"}))
	t.Cleanup(srv.Close)
	base := mount(t, srv,
		"/upload/storage/v1/b/bkt/o", "/documents",
		"/storage/v1/b/bkt/o/", "/documents/")
	c := conflict.New(preset.GCS("")...)

	srv.PutDocument("d1", `{"title":"draft","body":"old"}`)
	mustSend(t, c, 200, "GET", base+"/storage/v1/b/bkt/o/d1?alt=media", "") // generation 1, remembered
	srv.PutDocument("d1", `{"title":"draft","body":"theirs"}`)
	upload := base + "/upload/storage/v1/b/bkt/o?uploadType=media&name=d1&ifGenerationMatch=1"
	resp, _ := mustSend(t, c, 200, "POST", upload, `{"title":"ours","body":"old"}`)
	wantOutcome(t, resp, conflict.Merged, conflict.StaleVersion, 2)
	wantDoc(t, srv, "d1", 3, `"title":"ours"`, `"body":"theirs"`)
	if q := resp.Request.URL.Query(); q.Get("ifGenerationMatch") != "2" || q.Get("name") != "d1" {
		t.Errorf("re-sent with %v", q)
	}

	// Create only (ifGenerationMatch=0), but the object exists: merged
	// into it when the caller says the create was built on nothing.
	srv.PutDocument("d2", `{"body":"theirs"}`)
	ctx := conflict.WithBase(context.Background(), []byte(`{}`))
	resp, got, err := sendCtx(ctx, t, c, "POST", base+"/upload/storage/v1/b/bkt/o?uploadType=media&name=d2&ifGenerationMatch=0", `{"title":"ours"}`)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("create-only: %v %s", err, got)
	}
	wantOutcome(t, resp, conflict.Merged, conflict.StaleVersion, 2)
	wantDoc(t, srv, "d2", 2, `"title":"ours"`, `"body":"theirs"`)
	if st := srv.Stats(); st.Conflicts[412] != 2 {
		t.Errorf("%d 412s, want 2", st.Conflicts[412])
	}
}

// TestWebDAV: a stale If-Match is merged, a bare 409 (a missing parent)
// aborts as Dependency, and a MKCOL answered 405 adopts the collection,
// from a server that sends conflicts without bodies.
func TestWebDAV(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer(conflicttest.WithBareConflicts(true), conflicttest.WithVersionIn(conflicttest.VersionHeader))
	t.Cleanup(srv.Close)
	base := mount(t, srv, "/dav/", "/")
	c := conflict.New(preset.WebDAV("/dav")...)

	srv.PutDocument("d1", `{"title":"draft","body":"old"}`)
	resp, got := mustSend(t, c, 200, "GET", base+"/dav/documents/d1", "")
	srv.PutDocument("d1", `{"title":"draft","body":"theirs"}`)
	resp, _ = mustSend(t, c, 200, "PUT", base+"/dav/documents/d1", strings.Replace(got, `"draft"`, `"ours"`, 1), "If-Match", resp.Header.Get("ETag"))
	wantOutcome(t, resp, conflict.Merged, conflict.StaleVersion, 2)
	wantDoc(t, srv, "d1", 3, `"title":"ours"`, `"body":"theirs"`)

	// A category whose parent is missing: a bare 409.
	mustSend(t, c, 201, "POST", base+"/dav/categories", `{"name":"shoes"}`)
	_, _, err := send(t, c, "PUT", base+"/dav/categories/c_1", `{"name":"shoes","parent":"missing"}`)
	var e *conflict.Error
	if !errors.As(err, &e) || e.Conflict.Kind != conflict.Dependency || e.Attempts != 1 {
		t.Errorf("err = %v, want a Dependency abort", err)
	}
	// MKCOL on a mapped URL: 405, the resource exists.
	resp, _ = mustSend(t, c, 201, "MKCOL", base+"/dav/documents/d1", "")
	wantOutcome(t, resp, conflict.Adopted, conflict.Duplicate, 1)
}

// esServer is an Elasticsearch-shaped document store: GET wraps the
// document in an envelope with _seq_no and _primary_term; PUT takes it
// bare under if_seq_no and if_primary_term; _create refuses an existing
// id. A real HTTP server, in memory.
type esServer struct {
	*httptest.Server
	docs  map[string]string
	seq   map[string]int
	gets  int
	puts  int
	other func() // another writer, run before the next write is handled
}

func newES(t *testing.T) *esServer {
	s := &esServer{docs: map[string]string{}, seq: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *esServer) put(id, src string) {
	s.docs[id] = src
	s.seq[id]++
}

func (s *esServer) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/") // idx, _doc|_create, id
	if len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	id := parts[2]
	if r.Method == http.MethodGet {
		s.gets++
		src, ok := s.docs[id]
		if !ok || parts[1] != "_doc" || len(r.URL.Query()) > 0 {
			w.WriteHeader(404)
			io.WriteString(w, `{"_index":"idx","_id":"`+id+`","found":false}`)
			return
		}
		io.WriteString(w, `{"_index":"idx","_id":"`+id+`","_version":`+itoa(s.seq[id])+`,"_seq_no":`+itoa(s.seq[id]-1)+`,"_primary_term":1,"found":true,"_source":`+src+`}`)
		return
	}
	s.puts++
	if s.other != nil {
		s.other()
		s.other = nil
	}
	body, _ := io.ReadAll(r.Body)
	q := r.URL.Query()
	if _, exists := s.docs[id]; exists && (parts[1] == "_create" || q.Get("op_type") == "create") {
		w.WriteHeader(409)
		io.WriteString(w, `{"error":{"root_cause":[{"type":"version_conflict_engine_exception","reason":"[`+id+`]: version conflict, document already exists (current version [1])","index":"idx"}],"type":"version_conflict_engine_exception","reason":"[`+id+`]: version conflict, document already exists (current version [1])","index":"idx","_id":"`+id+`"},"status":409}`)
		return
	}
	if q.Has("if_seq_no") && (q.Get("if_seq_no") != itoa(s.seq[id]-1) || q.Get("if_primary_term") != "1") {
		w.WriteHeader(409)
		io.WriteString(w, `{"error":{"root_cause":[{"type":"version_conflict_engine_exception","reason":"[`+id+`]: version conflict, required seqNo [`+q.Get("if_seq_no")+`], primary term [1]. current document has seqNo [`+itoa(s.seq[id]-1)+`] and primary term [1]","index":"idx"}],"type":"version_conflict_engine_exception","reason":"[`+id+`]: version conflict, required seqNo [`+q.Get("if_seq_no")+`], primary term [1]. current document has seqNo [`+itoa(s.seq[id]-1)+`] and primary term [1]","index":"idx"},"status":409}`)
		return
	}
	s.put(id, string(body))
	w.WriteHeader(200)
	io.WriteString(w, `{"_index":"idx","_id":"`+id+`","_version":`+itoa(s.seq[id])+`,"result":"updated","_seq_no":`+itoa(s.seq[id]-1)+`,"_primary_term":1}`)
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestElasticsearch: a stale if_seq_no is refreshed from GET _doc (an
// envelope) and merged on _source; a _create of an existing id adopts it.
func TestElasticsearch(t *testing.T) {
	t.Parallel()
	es := newES(t)
	es.put("1", `{"title":"draft","body":"old"}`)
	c := conflict.New(preset.Elasticsearch("/")...)
	mustSend(t, c, 200, "GET", es.URL+"/idx/_doc/1", "") // seq_no 0, remembered
	es.put("1", `{"title":"draft","body":"theirs"}`)     // seq_no 1

	resp, _ := mustSend(t, c, 200, "PUT", es.URL+"/idx/_doc/1?if_seq_no=0&if_primary_term=1&refresh=true", `{"title":"ours","body":"old"}`)
	wantOutcome(t, resp, conflict.Merged, conflict.StaleVersion, 2)
	if got := es.docs["1"]; got != `{"body":"theirs","title":"ours"}` && got != `{"title":"ours","body":"theirs"}` {
		t.Errorf("stored %s, want the bare merged document", got)
	}
	if q := resp.Request.URL.Query(); q.Get("if_seq_no") != "1" || q.Get("refresh") != "true" {
		t.Errorf("re-sent with %v", q)
	}
	if es.gets != 2 {
		t.Errorf("%d GETs, want the read and one refresh (with no write parameters)", es.gets)
	}

	// _create of an id that exists with what we sent: adopted.
	resp, got := mustSend(t, c, 201, "PUT", es.URL+"/idx/_create/1", `{"title":"ours"}`)
	wantOutcome(t, resp, conflict.Adopted, conflict.Duplicate, 1)
	if !strings.Contains(got, `"_source"`) {
		t.Errorf("adopted %s, want the document's envelope", got)
	}
	if _, _, err := send(t, c, "PUT", es.URL+"/idx/_create/1", `{"title":"another"}`); !errors.Is(err, conflict.ErrUnrecoverable) {
		t.Errorf("err = %v, want a foreign duplicate", err)
	}
}
