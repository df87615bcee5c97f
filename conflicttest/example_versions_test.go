package conflicttest_test

import (
	"fmt"

	"github.com/go-conflict/conflict/conflicttest"
)

// The version travels in a query parameter, as Cloud Storage's
// ifGenerationMatch: 0 creates only if the document is absent.
func ExampleWithVersionIn_query() {
	srv := conflicttest.NewServer(conflicttest.WithVersionIn(conflicttest.VersionQuery))
	defer srv.Close()

	resp, body := call(srv.Client(), "POST", srv.URL+"/documents?name=report&ifVersionMatch=0", `{"title":"draft"}`)
	fmt.Println(resp.StatusCode, string(body))
	resp, _ = call(srv.Client(), "POST", srv.URL+"/documents?name=report&ifVersionMatch=0", `{"title":"other"}`)
	fmt.Println(resp.StatusCode, "the document exists")
	resp, body = call(srv.Client(), "PUT", srv.URL+"/documents/report?ifVersionMatch=1", `{"title":"final"}`)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 201 {"title":"draft","version":1}
	// 412 the document exists
	// 200 {"title":"final","version":2}
}

// The version travels in a custom header, sent and replied.
func ExampleWithVersionIn_customHeader() {
	srv := conflicttest.NewServer(conflicttest.WithVersionIn(conflicttest.VersionCustomHeader))
	defer srv.Close()
	srv.PutDocument("doc1", `{"title":"draft"}`)

	resp, body := call(srv.Client(), "GET", srv.URL+"/documents/doc1", "")
	fmt.Println(resp.Header.Get("X-Version"), string(body))
	resp, _ = call(srv.Client(), "PUT", srv.URL+"/documents/doc1", `{"title":"final"}`, "X-Version", "1")
	fmt.Println(resp.StatusCode, resp.Header.Get("X-Version"))
	// Output:
	// 1 {"title":"draft"}
	// 200 2
}

// A Server that keeps its version where Kubernetes does.
func ExampleWithVersionNames() {
	srv := conflicttest.NewServer(
		conflicttest.WithVersionIn(conflicttest.VersionBody),
		conflicttest.WithVersionNames(conflicttest.VersionNames{Field: "/metadata/resourceVersion"}))
	defer srv.Close()
	srv.PutDocument("cm", `{"metadata":{"name":"cm"},"data":{"k":"v"}}`)

	_, body := call(srv.Client(), "GET", srv.URL+"/documents/cm", "")
	fmt.Println(string(body))
	resp, _ := call(srv.Client(), "PUT", srv.URL+"/documents/cm", `{"metadata":{"name":"cm","resourceVersion":"7"}}`)
	fmt.Println(resp.StatusCode)
	// Output:
	// {"data":{"k":"v"},"metadata":{"name":"cm","resourceVersion":1}}
	// 409
}

// The first read after a write has a weak ETag, as inside the second of a
// write on a server whose tags come from a modification time.
func ExampleWithWeakETags() {
	srv := conflicttest.NewServer(conflicttest.WithWeakETags(1))
	defer srv.Close()
	srv.PutDocument("doc1", `{"title":"draft"}`)
	for range 2 {
		resp, _ := call(srv.Client(), "GET", srv.URL+"/documents/doc1", "")
		fmt.Println(resp.Header.Get("ETag"))
	}
	// Output:
	// W/"1"
	// "1"
}

// Conflicts without a body, as WebDAV servers send them.
func ExampleWithBareConflicts() {
	srv := conflicttest.NewServer(conflicttest.WithBareConflicts(true))
	defer srv.Close()
	resp, body := call(srv.Client(), "POST", srv.URL+"/categories", `{"name":"shoes","parent":"missing"}`)
	fmt.Printf("%d %q\n", resp.StatusCode, body)
	// Output:
	// 409 ""
}
