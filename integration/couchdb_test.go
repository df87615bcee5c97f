package integration_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// couchDB creates a database with a unique name and deletes it at the end.
func couchDB(t *testing.T) string {
	t.Helper()
	requireCouch(t)
	db := couchURL() + "/" + unique("conflict_it_")
	must(t, "PUT", db, nil, nil, 201)
	t.Cleanup(func() { must(t, "DELETE", db, nil, nil, 200) })
	return db
}

// CouchDB's version is the document's "_rev", in the body; pouchdb-server
// answers reads with a weak ETag of the body, and a stale write with 409
// {"error":"conflict"} that carries neither the current document nor its
// rev (PROBE.md B5, B6).
var couchDocs = endpoint{pattern: "PUT /{db}/{id}", mergeJSON: true, versionField: "/_rev"}

// couchPreset configures a client with preset.CouchDB alone.
func couchPreset() serverPreset { return serverPreset{name: "couchdb", base: couchURL()} }

// pouchdb-server ignores a body that is not sent as application/json: the
// PUT succeeds and stores an empty document.
var couchJSON = map[string]string{"Content-Type": "application/json", "Accept": "application/json"}

// A write built on a stale _rev is merged with another writer's change to a
// different field, and lands with both: the client is configured by
// preset.CouchDB alone.
func TestCouchDBStaleRevMerged(t *testing.T) {
	db := couchDB(t)
	doc := db + "/doc1"
	must(t, "PUT", doc, []byte(`{"title":"draft","body":"hello","n":1}`), couchJSON, 201)

	cnt := newCounter()
	c := newPresetClient(t, cnt, couchPreset())

	// We read it through the client, which remembers it as the base.
	resp, ours, err := send(t, c, "GET", doc, nil, couchJSON)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	mine := decode(t, ours)
	rev1 := mine["_rev"].(string)

	// Another writer changes the body.
	theirs := decode(t, ours)
	theirs["body"] = "hello, world"
	must(t, "PUT", doc, encode(t, theirs), couchJSON, 201)

	// We change the title on rev 1: stale.
	mine["title"] = "final"
	cnt.reset()
	c.resetSteps()
	resp, out, err := send(t, c, "PUT", doc, encode(t, mine), couchJSON)
	logRecovery(t, "stale _rev PUT", cnt, c)
	if err != nil {
		t.Fatalf("stale PUT: %v", err)
	}
	if resp.StatusCode != 201 {
		t.Fatalf("stale PUT: status %d, body %s", resp.StatusCode, out)
	}
	r, ok := resultOf(resp)
	if !ok || r.Outcome != "merged" || r.Kind != "stale_version" {
		t.Errorf("result = %+v (ok %v), want outcome merged after a stale_version", r, ok)
	}
	// One PUT refused, one GET to refresh (the 409 has no current rev), one
	// PUT that lands.
	if n := cnt.count(); n != 3 {
		t.Errorf("%d requests for the recovery, want 3 (PUT 409, GET, PUT 201)", n)
	}

	_, final := must(t, "GET", doc, nil, couchJSON, 200)
	got := decode(t, final)
	if got["title"] != "final" || got["body"] != "hello, world" || got["n"] != float64(1) {
		t.Errorf("final document %s: want our title and their body", final)
	}
	if got["_rev"] == rev1 || got["_rev"].(string)[:2] != "3-" {
		t.Errorf("final _rev %v, want a third revision", got["_rev"])
	}
}

// Eight writers each increment their own counter twenty times in one
// document, through Update with default limits: every increment must land
// exactly once.
func TestCouchDBUpdateContention(t *testing.T) {
	const writers, updates = 8, 20
	db := couchDB(t)
	doc := db + "/counters"
	must(t, "PUT", doc, []byte(`{"kind":"counters"}`), couchJSON, 201)

	cnt := newCounter()
	c := newLibClient(t, cnt, couchDocs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var wg sync.WaitGroup
	landed := make([]int, writers)
	aborted := make([]int, writers)
	errs := make([][]string, writers)
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			field := fmt.Sprintf("w%d", w)
			for range updates {
				_, err := update(ctx, c, doc, func(d *map[string]any) error {
					n, _ := (*d)[field].(float64)
					(*d)[field] = n + 1
					return nil
				})
				if err != nil {
					aborted[w]++
					if a, ok := abortOf(err); ok {
						errs[w] = append(errs[w], fmt.Sprintf("%s/%s after %d", a.Kind, a.Reason, a.Attempts))
					} else {
						errs[w] = append(errs[w], err.Error())
					}
					continue
				}
				landed[w]++
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	_, final := must(t, "GET", doc, nil, couchJSON, 200)
	got := decode(t, final)
	total, totalAborted := 0, 0
	for w := range writers {
		field := fmt.Sprintf("w%d", w)
		n, _ := got[field].(float64)
		total += landed[w]
		totalAborted += aborted[w]
		// No lost update and no doubled one, whatever aborted.
		if int(n) != landed[w] {
			t.Errorf("%s = %v in the document, but %d of its updates returned success", field, n, landed[w])
		}
		if aborted[w] > 0 {
			t.Logf("%s: %d/%d aborted: %v", field, aborted[w], updates, errs[w])
		}
	}
	t.Logf("%d writers × %d updates: %d landed, %d aborted, %d requests, %s, final _rev %v",
		writers, updates, total, totalAborted, cnt.count(), elapsed.Round(time.Millisecond), got["_rev"])
	if totalAborted > 0 {
		t.Errorf("%d of %d updates aborted under contention with default limits; want none", totalAborted, writers*updates)
	}
}

// A database created again (412 file_exists, a bodiless create) is
// adopted through preset.CouchDB: PUT 412, GET the database.
func TestCouchDBDatabaseExistsAdopted(t *testing.T) {
	db := couchDB(t)
	cnt := newCounter()
	c := newPresetClient(t, cnt, couchPreset())
	resp, out, err := send(t, c, "PUT", db, nil, couchJSON)
	logRecovery(t, "create existing db", cnt, c)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	r, ok := resultOf(resp)
	if !ok || r.Outcome != "adopted" || r.Kind != "duplicate" || resp.StatusCode != 201 {
		t.Errorf("status %d, result %+v (ok %v), want 201 adopted after a duplicate", resp.StatusCode, r, ok)
	}
	if got := decode(t, out); got["db_name"] == nil {
		t.Errorf("adopted %s, want the database's info", out)
	}
	if n := cnt.count(); n != 2 {
		t.Errorf("%d requests, want 2 (PUT 412, GET)", n)
	}
}

// The conflicts a CouchDB client also meets, which the library cannot
// recover: a document created twice (409 conflict, indistinguishable from
// a stale write, with no base to merge on) and a DELETE whose version
// travels in ?rev= (no merge for a delete). Whatever the library makes of
// them, it must not overwrite or delete anything; the log says what it
// did. (A database created twice is adopted: see
// TestCouchDBDatabaseExistsAdopted.)
func TestCouchDBOtherConflicts(t *testing.T) {
	db := couchDB(t)
	doc := db + "/doc1"
	_, created := must(t, "PUT", doc, []byte(`{"title":"theirs"}`), couchJSON, 201)
	rev1 := decode(t, created)["rev"].(string)
	must(t, "PUT", doc, []byte(`{"title":"theirs","n":2,"_rev":"`+rev1+`"}`), couchJSON, 201)

	cnt := newCounter()
	c := newPresetClient(t, cnt, couchPreset())

	try := func(what, method, u string, body []byte) {
		t.Helper()
		cnt.reset()
		c.resetSteps()
		resp, out, err := send(t, c, method, u, body, couchJSON)
		logRecovery(t, what, cnt, c)
		if a, ok := abortOf(err); ok {
			t.Logf("%s: aborted as %s/%s: %s", what, a.Kind, a.Reason, a.Message)
			return
		}
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		r, _ := resultOf(resp)
		t.Logf("%s: %d %s, result %+v", what, resp.StatusCode, out, r)
	}
	// Created again without a _rev: another writer's document is there.
	try("create existing doc", "PUT", doc, []byte(`{"title":"ours"}`))
	// Deleted on the first revision: stale.
	try("delete on stale ?rev=", "DELETE", doc+"?rev="+rev1, nil)

	_, final := must(t, "GET", doc, nil, couchJSON, 200)
	if got := decode(t, final); got["title"] != "theirs" || got["n"] != float64(2) {
		t.Errorf("the other writer's document became %s", final)
	}
}
