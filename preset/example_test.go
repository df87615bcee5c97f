package preset_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/preset"
)

// serveAt serves srv's API at another URL layout (see mount).
func serveAt(srv *conflicttest.Server, routes ...string) (url string, close func()) {
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
	return front.URL, front.Close
}

// do sends through c and prints the status, what the client did, and the
// body.
func do(ctx context.Context, c *conflict.Client, method, url, body string, hdr ...string) *http.Response {
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if body == "" {
		req, _ = http.NewRequestWithContext(ctx, method, url, nil)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		fmt.Println("error:", err)
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if r := conflict.ResultOf(resp); r != nil && r.Conflict != nil {
		fmt.Printf("%s %s: %d, %s after %s\n", method, req.URL.Path, resp.StatusCode, r.Outcome, r.Conflict.Kind)
	}
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return resp
}

// A write on a stale _rev is merged with the other writer's change.
func ExampleCouchDB() {
	srv := conflicttest.NewServer(conflicttest.WithDialect(conflicttest.CouchDB),
		conflicttest.WithVersionIn(conflicttest.VersionBody),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "/_rev"}))
	defer srv.Close()
	srv.PutDocument("doc1", `{"title":"draft","tags":[]}`)

	c := conflict.New(preset.CouchDB("/")...)
	do(context.Background(), c, "GET", srv.URL+"/documents/doc1", "") // _rev 1, remembered
	srv.PutDocument("doc1", `{"title":"draft","tags":["urgent"]}`)    // _rev 2
	do(context.Background(), c, "PUT", srv.URL+"/documents/doc1", `{"title":"final","tags":[],"_rev":1}`)
	doc, _, _ := srv.Document("doc1")
	fmt.Println(string(doc))
	// Output:
	// PUT /documents/doc1: 200, merged after stale_version
	// {"_rev":3,"tags":["urgent"],"title":"final"}
}

// A ConfigMap updated on a stale resourceVersion is merged; a create whose
// name exists adopts the existing object when it holds what was sent.
func ExampleKubernetes() {
	srv := conflicttest.NewServer(conflicttest.WithDialect(conflicttest.Kubernetes), conflicttest.WithLocation(false),
		conflicttest.WithVersionIn(conflicttest.VersionBody),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "/metadata/resourceVersion"}))
	defer srv.Close()
	api, stop := serveAt(srv, "/api/v1/namespaces/default/configmaps/", "/documents/", "/api/v1/namespaces/default/users", "/users")
	defer stop()
	srv.PutDocument("cm", `{"metadata":{"name":"cm"},"data":{"a":"1","b":"1"}}`)

	c := conflict.New(preset.Kubernetes("")...)
	ctx := context.Background()
	do(ctx, c, "GET", api+"/api/v1/namespaces/default/configmaps/cm", "")
	srv.PutDocument("cm", `{"metadata":{"name":"cm"},"data":{"a":"1","b":"2"}}`)
	do(ctx, c, "PUT", api+"/api/v1/namespaces/default/configmaps/cm", `{"metadata":{"name":"cm","resourceVersion":"1"},"data":{"a":"ours","b":"1"}}`)
	doc, _, _ := srv.Document("cm")
	fmt.Println(string(doc))

	do(ctx, c, "POST", api+"/api/v1/namespaces/default/users", `{"email":"ada@example.com"}`)
	do(ctx, c, "POST", api+"/api/v1/namespaces/default/users", `{"email":"ada@example.com"}`)
	// Output:
	// PUT /api/v1/namespaces/default/configmaps/cm: 200, merged after stale_version
	// {"data":{"a":"ours","b":"2"},"metadata":{"name":"cm","resourceVersion":3}}
	// POST /api/v1/namespaces/default/users: 201, adopted after duplicate
}

// A blob written on a stale ETag is merged; the account's path comes
// first in path-style URLs (Azurite's).
func ExampleAzureBlob() {
	srv := conflicttest.NewServer(conflicttest.WithDialect(conflicttest.AzureStorage), conflicttest.WithVersionIn(conflicttest.VersionHeader))
	defer srv.Close()
	account, stop := serveAt(srv, "/devstoreaccount1/docs/", "/documents/")
	defer stop()
	srv.PutDocument("report.json", `{"title":"draft","pages":1}`)

	c := conflict.New(preset.AzureBlob("/devstoreaccount1")...)
	ctx := context.Background()
	blob := account + "/devstoreaccount1/docs/report.json?sv=2021-12-02&sig=..."
	etag := do(ctx, c, "GET", blob, "").Header.Get("ETag")
	srv.PutDocument("report.json", `{"title":"draft","pages":2}`)
	do(ctx, c, "PUT", blob, `{"title":"final","pages":1,"version":1}`, "If-Match", etag, "x-ms-blob-type", "BlockBlob")
	doc, _, _ := srv.Document("report.json")
	fmt.Println(string(doc))
	// Output:
	// PUT /devstoreaccount1/docs/report.json: 200, merged after stale_version
	// {"pages":2,"title":"final","version":3}
}

// Lease codes are Locked: a write on a leased blob is waited out, not
// merged.
func ExampleAzureBlobReasons() {
	reasons := preset.AzureBlobReasons()
	for _, code := range []string{"LeaseIdMissing", "LeaseAlreadyPresent", "LeaseIdMismatchWithLeaseOperation"} {
		fmt.Println(code, reasons[code])
	}
	// Your own reasons beside the preset's: one classifier holds them all.
	reasons["QuotaLocked"] = conflict.Locked
	_ = conflict.New(append(preset.AzureBlob("/"), conflict.WithClassifier(conflict.Classifier{Reasons: reasons}))...)
	// Output:
	// LeaseIdMissing locked
	// LeaseAlreadyPresent locked
	// LeaseIdMismatchWithLeaseOperation invalid_transition
}

// An upload on a stale generation is refreshed from the object's media
// URL, merged, and sent again under the current generation.
func ExampleGCS() {
	srv := conflicttest.NewServer(conflicttest.WithDialect(conflicttest.Google), conflicttest.WithVersionIn(conflicttest.VersionQuery),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "-", Query: "ifGenerationMatch", Header: "X-Goog-Generation"}))
	defer srv.Close()
	storage, stop := serveAt(srv, "/upload/storage/v1/b/bkt/o", "/documents", "/storage/v1/b/bkt/o/", "/documents/")
	defer stop()
	srv.PutDocument("settings.json", `{"theme":"light","lang":"en"}`)

	c := conflict.New(preset.GCS("")...)
	ctx := context.Background()
	gen := do(ctx, c, "GET", storage+"/storage/v1/b/bkt/o/settings.json?alt=media", "").Header.Get("X-Goog-Generation")
	srv.PutDocument("settings.json", `{"theme":"light","lang":"fr"}`)
	do(ctx, c, "POST", storage+"/upload/storage/v1/b/bkt/o?uploadType=media&name=settings.json&ifGenerationMatch="+gen, `{"theme":"dark","lang":"en"}`)
	doc, g, _ := srv.Document("settings.json")
	fmt.Println(string(doc), "generation", g)
	// Output:
	// POST /upload/storage/v1/b/bkt/o: 200, merged after stale_version
	// {"lang":"fr","theme":"dark"} generation 3
}

// Elasticsearch's GET wraps the document; the merge unwraps it.
func ExampleElasticsearch() {
	es := &esServer{docs: map[string]string{}, seq: map[string]int{}}
	es.Server = httptest.NewServer(http.HandlerFunc(es.serve))
	defer es.Close()
	es.put("1", `{"title":"draft","views":1}`)

	c := conflict.New(preset.Elasticsearch("/")...)
	ctx := context.Background()
	do(ctx, c, "GET", es.URL+"/idx/_doc/1", "") // _seq_no 0
	es.put("1", `{"title":"draft","views":2}`)  // _seq_no 1
	do(ctx, c, "PUT", es.URL+"/idx/_doc/1?if_seq_no=0&if_primary_term=1", `{"title":"final","views":1}`)
	fmt.Println(es.docs["1"])
	// Output:
	// PUT /idx/_doc/1: 200, merged after stale_version
	// {"title":"final","views":2}
}

// MergeSource merges a bare document against enveloped base and theirs.
func ExampleMergeSource() {
	base := []byte(`{"_id":"1","_seq_no":0,"found":true,"_source":{"title":"draft","views":1}}`)
	theirs := []byte(`{"_id":"1","_seq_no":1,"found":true,"_source":{"title":"draft","views":2}}`)
	out, err := preset.MergeSource(base, []byte(`{"title":"final","views":1}`), theirs)
	fmt.Println(string(out), err)
	// Output:
	// {"title":"final","views":2} <nil>
}

// WebDAV's bare 409 means a missing parent; a MKCOL answered 405 finds the
// collection there and adopts it.
func ExampleWebDAV() {
	srv := conflicttest.NewServer(conflicttest.WithBareConflicts(true), conflicttest.WithVersionIn(conflicttest.VersionHeader))
	defer srv.Close()
	dav, stop := serveAt(srv, "/dav/", "/")
	defer stop()
	srv.PutDocument("notes", `{}`)

	c := conflict.New(preset.WebDAV("/dav")...)
	ctx := context.Background()
	do(ctx, c, "MKCOL", dav+"/dav/documents/notes", "")
	do(ctx, c, "POST", dav+"/dav/categories", `{"name":"a"}`)
	req, _ := http.NewRequest("PUT", dav+"/dav/categories/c_1", strings.NewReader(`{"name":"a","parent":"missing"}`))
	_, err := c.Do(req)
	var e *conflict.Error
	if errors.As(err, &e) {
		fmt.Println(e.Conflict.Status, e.Conflict.Kind)
	}
	// Output:
	// MKCOL /dav/documents/notes: 201, adopted after duplicate
	// 409 dependency
}
