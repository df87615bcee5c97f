package journal_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/journal"
	"github.com/go-conflict/conflict/jsonmerge"
)

// A write recorded by a run that died before sending it is sent by the
// next run's Replay, and merged against the base it was recorded with.
func Example() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	dir, err := os.MkdirTemp("", "journal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "writes.journal")
	client := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
	ctx := context.Background()

	// A create through a journal: recorded with its idempotency key before
	// it is sent, and marked done.
	j, err := journal.Open(path, client)
	if err != nil {
		log.Fatal(err)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/orders", strings.NewReader(`{"item":"book"}`))
	resp, err := j.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("create:", resp.Status)

	// An update built on version 1, recorded but never sent: the process
	// died right after recording it.
	srv.PutDocument("doc1", `{"title":"draft","body":"hello"}`)
	base, _, _ := srv.Document("doc1")
	ours := strings.Replace(string(base), `"draft"`, `"final"`, 1)
	req, _ = http.NewRequest("PUT", srv.URL+"/documents/doc1", strings.NewReader(ours))
	req.Header.Set("If-Match", `"1"`)
	j.Close()
	recordOnly(path, req, base)

	// Meanwhile another writer changes the body.
	srv.PutDocument("doc1", `{"title":"draft","body":"hello, world"}`)

	// The next run replays it.
	j, err = journal.Open(path, client)
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close()
	reports, err := j.Replay(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range reports {
		fmt.Println("replay:", r.Intent.Method, strings.TrimPrefix(r.Intent.URL, srv.URL), r.State, r.Result)
	}
	doc, _, _ := srv.Document("doc1")
	fmt.Println("server:", string(doc))
	// Output:
	// create: 201 Created
	// replay: PUT /documents/doc1 applied merged
	// server: {"body":"hello, world","title":"final","version":3}
}

// recordOnly records req in the journal file at path as Do would, and
// sends nothing, as if the process died right after.
func recordOnly(path string, req *http.Request, base []byte) {
	fs, err := journal.OpenFile(path)
	if err != nil {
		log.Fatal(err)
	}
	defer fs.Close()
	body, _ := io.ReadAll(req.Body)
	rec := &journal.Record{ID: "died-after-recording", Method: req.Method, URL: req.URL.String(),
		Header: req.Header, Body: body, Base: base}
	if err := fs.Append(context.Background(), rec); err != nil {
		log.Fatal(err)
	}
}
