// Presets shows package preset configuring a client for three well-known
// servers, each played by an embedded conflicttest server that speaks its
// shape (error replies, URL layout, where the version travels):
//
//  1. CouchDB: a write on a stale _rev is merged with another writer's
//     change (preset.CouchDB);
//  2. Kubernetes: an update on a stale metadata.resourceVersion is merged,
//     and a create whose name exists adopts the existing object
//     (preset.Kubernetes);
//  3. Google Cloud Storage: an upload on a stale ifGenerationMatch is
//     refreshed from the object's media URL and merged (preset.GCS).
//
// Run it with:
//
//	go run ./examples/presets
//
// It exits with a non-zero status if any step does not turn out as printed.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/preset"
)

func main() {
	log.SetFlags(0)
	couchDB()
	kubernetes()
	cloudStorage()
	fmt.Println("\nEach server's conflicts were recovered by its preset alone.")
}

// 1. CouchDB keeps the version in "_rev" and answers a stale one with 409
// {"error":"conflict"}, without the current document.
func couchDB() {
	fmt.Println("1. CouchDB: conflict.New(preset.CouchDB(\"/\")...)")
	srv := conflicttest.NewServer(
		conflicttest.WithDialect(conflicttest.CouchDB),
		conflicttest.WithVersionIn(conflicttest.VersionBody),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "/_rev"}))
	defer srv.Close()
	srv.PutDocument("invoice", `{"customer":"ACME","total":100,"paid":false}`)

	client := conflict.New(preset.CouchDB("/")...)
	doc := srv.URL + "/documents/invoice" // /{db}/{id}
	read := call(client, "GET", doc, "")
	srv.PutDocument("invoice", `{"customer":"ACME","total":100,"paid":true}`) // someone records the payment
	// We correct the total on the _rev we read.
	call(client, "PUT", doc, strings.Replace(read, `"total":100`, `"total":120`, 1))
	expect(srv, "invoice", `{"_rev":3,"customer":"ACME","paid":true,"total":120}`)
}

// 2. Kubernetes keeps the version in metadata.resourceVersion, answers a
// stale one with a Status of reason Conflict, and a create of an existing
// name with reason AlreadyExists and details.name.
func kubernetes() {
	fmt.Println("\n2. Kubernetes: conflict.New(preset.Kubernetes(\"\")...)")
	srv := conflicttest.NewServer(
		conflicttest.WithDialect(conflicttest.Kubernetes),
		conflicttest.WithLocation(false),
		conflicttest.WithVersionIn(conflicttest.VersionBody),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "/metadata/resourceVersion"}))
	defer srv.Close()
	api := serveAt(srv,
		"/api/v1/namespaces/default/configmaps/", "/documents/",
		"/apis/example.com/v1/namespaces/default/users", "/users")
	srv.PutDocument("settings", `{"kind":"ConfigMap","metadata":{"name":"settings"},"data":{"replicas":"2","log":"info"}}`)

	client := conflict.New(preset.Kubernetes("")...)
	cm := api + "/api/v1/namespaces/default/configmaps/settings"
	read := call(client, "GET", cm, "")
	srv.PutDocument("settings", `{"kind":"ConfigMap","metadata":{"name":"settings"},"data":{"replicas":"2","log":"debug"}}`)
	call(client, "PUT", cm, strings.Replace(read, `"replicas":"2"`, `"replicas":"3"`, 1))
	expect(srv, "settings", `{"data":{"log":"debug","replicas":"3"},"kind":"ConfigMap","metadata":{"name":"settings","resourceVersion":3}}`)

	// A create retried after its answer was lost: the object exists.
	users := api + "/apis/example.com/v1/namespaces/default/users"
	call(client, "POST", users, `{"email":"ada@example.com","name":"Ada"}`)
	call(client, "POST", users, `{"email":"ada@example.com","name":"Ada"}`)
	if n := srv.Stats().Creates["ada@example.com"]; n != 1 {
		log.Fatalf("   %d users created, want 1", n)
	}
}

// 3. Cloud Storage takes the generation as ?ifGenerationMatch= on the
// upload URL, which cannot be read; the object's media URL carries the
// content and x-goog-generation.
func cloudStorage() {
	fmt.Println("\n3. Cloud Storage: conflict.New(preset.GCS(\"\")...)")
	srv := conflicttest.NewServer(
		conflicttest.WithDialect(conflicttest.Google),
		conflicttest.WithVersionIn(conflicttest.VersionQuery),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "-", Query: "ifGenerationMatch", Header: "X-Goog-Generation"}))
	defer srv.Close()
	storage := serveAt(srv,
		"/upload/storage/v1/b/assets/o", "/documents",
		"/storage/v1/b/assets/o/", "/documents/")
	srv.PutDocument("manifest.json", `{"version":"1.0","files":["a.js"]}`)

	client := conflict.New(preset.GCS("")...)
	resp, _ := do(client, "GET", storage+"/storage/v1/b/assets/o/manifest.json?alt=media", "")
	gen := resp.Header.Get("X-Goog-Generation")
	srv.PutDocument("manifest.json", `{"version":"1.0","files":["a.js","b.js"]}`) // another deploy
	call(client, "POST", storage+"/upload/storage/v1/b/assets/o?uploadType=media&name=manifest.json&ifGenerationMatch="+gen,
		`{"version":"1.1","files":["a.js"]}`)
	expect(srv, "manifest.json", `{"files":["a.js","b.js"],"version":"1.1"}`)
}

// call sends a request through client, prints what happened, and returns
// the body.
func call(client *conflict.Client, method, url, body string) string {
	resp, out := do(client, method, url, body)
	line := fmt.Sprintf("   %s /%s -> %d", method, strings.SplitN(url[strings.Index(url, "//")+2:], "/", 2)[1], resp.StatusCode)
	if r := conflict.ResultOf(resp); r != nil && r.Conflict != nil {
		line += fmt.Sprintf(" (%s after %s %d, %d attempts)", r.Outcome, r.Conflict.Kind, r.Conflict.Status, r.Attempts)
	}
	fmt.Println(line)
	return out
}

func do(client *conflict.Client, method, url, body string) (*http.Response, string) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		log.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		log.Fatalf("   %s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		log.Fatalf("   %s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return resp, string(b)
}

// expect checks what the server holds.
func expect(srv *conflicttest.Server, id, want string) {
	got, _, _ := srv.Document(id)
	if string(got) != want {
		log.Fatalf("   server holds %s, want %s", got, want)
	}
	fmt.Println("   server holds", string(got))
}

// serveAt serves srv's API at another server's URL layout: each pair maps
// a path prefix of that layout to a conflicttest path.
func serveAt(srv *conflicttest.Server, routes ...string) string {
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
	return front.URL // closed when the program exits
}
