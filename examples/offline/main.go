// Offline shows a write surviving a restart with
// github.com/go-conflict/conflict/journal: an edge client edits a note while
// the server cannot be reached, the write is queued in a journal on disk,
// the program "restarts" (the journal is closed and opened again, and
// everything in memory is gone), another writer changes the note meanwhile,
// and when the server is back Replay merges the queued edit against the
// version it was made on. Both changes survive.
//
// Run it with:
//
//	go run ./examples/offline
//
// It runs against an embedded conflicttest server and exits with a
// non-zero status if anything does not turn out as printed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/journal"
	"github.com/go-conflict/conflict/jsonmerge"
)

func main() {
	log.SetFlags(0)
	ctx := context.Background()

	// The API, served on an address we can take down and bring back.
	api := conflicttest.NewUnstartedServer()
	defer api.Close()
	server := serve(api.Handler(), "127.0.0.1:0")
	addr := server.addr
	base := "http://" + addr
	api.PutDocument("note", `{"title":"Shopping","items":"milk"}`)

	dir, err := os.MkdirTemp("", "journal-offline")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "edge.journal")

	// The client merges stale JSON documents; it does not retry a refused
	// connection, so that going offline is noticed at once.
	newClient := func() *conflict.Client {
		return conflict.New(
			conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}),
			conflict.WithLimits(conflict.Limits{TransportRetries: -1}),
		)
	}
	j, err := journal.Open(path, newClient(), journal.WithOfflineQueue())
	if err != nil {
		log.Fatal(err)
	}

	// 1. Online: read the note through the journal, which remembers it as
	// the base of a later write.
	resp, err := j.Do(mustRequest("GET", base+"/documents/note", "", nil))
	if err != nil {
		log.Fatal(err)
	}
	note := readBody(resp)
	etag := resp.Header.Get("ETag")
	fmt.Printf("1. read        %s (ETag %s)\n", note, etag)

	// 2. Offline: the server goes away; our edit is queued on disk.
	server.stop()
	ours := strings.Replace(note, `"Shopping"`, `"Weekend shopping"`, 1)
	_, err = j.Do(mustRequest("PUT", base+"/documents/note", ours, http.Header{"If-Match": {etag}}))
	if !errors.Is(err, journal.ErrQueued) {
		log.Fatalf("the offline write was not queued: %v", err)
	}
	fmt.Printf("2. offline     title = \"Weekend shopping\": queued (%v)\n", errors.Is(err, journal.ErrQueued))

	// 3. Restart: the journal is closed; nothing survives in memory.
	if err := j.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("3. restart     journal closed; the program's memory is gone")

	// 4. Meanwhile another writer adds eggs.
	v := api.PutDocument("note", `{"title":"Shopping","items":"milk, eggs"}`)
	fmt.Printf("4. they write  items = \"milk, eggs\" (version %d)\n", v)

	// 5. The server is back on the same address; the program opens its
	// journal again and replays.
	server = serve(api.Handler(), addr)
	defer server.stop()
	j, err = journal.Open(path, newClient(), journal.WithOfflineQueue())
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close()
	pending, _ := j.Pending(ctx)
	fmt.Printf("5. reopen      %d write pending, recorded with its base (%d bytes)\n", len(pending), len(pending[0].Base))
	reports, err := j.Replay(ctx)
	if err != nil {
		log.Fatal(err)
	}
	r := reports[0]
	fmt.Printf("6. replay      %s %s → %s (%s, status %d)\n", r.Intent.Method, strings.TrimPrefix(r.Intent.URL, base), r.State, r.Result, r.Status)

	doc, version, _ := api.Document("note")
	fmt.Printf("7. server has  %s (version %d)\n", doc, version)
	if r.State != journal.Applied || r.Result != "merged" ||
		!strings.Contains(string(doc), `"Weekend shopping"`) || !strings.Contains(string(doc), `"milk, eggs"`) {
		log.Fatal("the queued write was not merged as shown")
	}
	fmt.Println("\nThe write made offline survived the restart, and both changes are on the server.")
}

// server serves a handler on an address until stopped.
type server struct {
	addr string
	srv  *http.Server
}

func serve(h http.Handler, addr string) *server {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		log.Fatal(err)
	}
	s := &server{addr: ln.Addr().String(), srv: &http.Server{Handler: h}}
	go s.srv.Serve(ln)
	return s
}

func (s *server) stop() { s.srv.Close() }

func mustRequest(method, url, body string, h http.Header) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		log.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func readBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	return string(b)
}
