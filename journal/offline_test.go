package journal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/go-conflict/conflict/journal"
)

// The offline test: 100 updates made while the server cannot be reached
// are queued, built on what was read before; another writer changes the
// same documents meanwhile; the process restarts; the server comes back on
// the same address. Replay merges every update against its recorded base,
// and nothing is lost. The updates that cannot merge (both sides changed
// the title) are reported with base, ours and theirs, and change nothing.
func TestOfflineQueueAndReplay(t *testing.T) {
	api := newAPI(t)
	srv := newSwitchable(t, api.Handler())
	const nDocs, nUpdates = 10, 100
	for d := 0; d < nDocs; d++ {
		api.PutDocument(fmt.Sprintf("o%d", d), `{"title":"original"}`)
	}
	path := filepath.Join(t.TempDir(), "edge.journal")
	j := openJournal(t, path, offlineClient(nil), journal.WithOfflineQueue())
	ctx := context.Background()

	// Read every document while online.
	type read struct {
		etag string
		body []byte
	}
	reads := map[int]read{}
	for d := 0; d < nDocs; d++ {
		resp, err := j.Do(request(t, ctx, "GET", fmt.Sprintf("%s/documents/o%d", srv.URL(), d), ""))
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		reads[d] = read{resp.Header.Get("ETag"), body}
	}

	// Offline: 100 updates, each adding its own field to what was read; a
	// few also change the title.
	srv.Stop()
	retitle := map[int]bool{3: true, 17: true, 45: true, 62: true, 88: true} // docs 3, 7, 5, 2, 8
	for i := 0; i < nUpdates; i++ {
		d := i % nDocs
		var doc map[string]any
		json.Unmarshal(reads[d].body, &doc)
		doc[fmt.Sprintf("mine%d", i)] = i
		if retitle[i] {
			doc["title"] = fmt.Sprintf("ours-%d", i)
		}
		body, _ := json.Marshal(doc)
		_, err := j.Do(request(t, ctx, "PUT", fmt.Sprintf("%s/documents/o%d", srv.URL(), d), string(body), "If-Match", reads[d].etag))
		var pe *journal.PendingError
		if !errors.Is(err, journal.ErrQueued) || !errors.As(err, &pe) || !pe.Queued {
			t.Fatalf("update %d: %v, want ErrQueued", i, err)
		}
	}

	// Meanwhile another writer changes every document, and the titles of
	// those we retitled.
	for d := 0; d < nDocs; d++ {
		id := fmt.Sprintf("o%d", d)
		cur, _, _ := api.Document(id)
		var doc map[string]any
		json.Unmarshal(cur, &doc)
		doc[fmt.Sprintf("theirs%d", d)] = d
		for i := range retitle {
			if i%nDocs == d {
				doc["title"] = "theirs"
			}
		}
		body, _ := json.Marshal(doc)
		api.PutDocument(id, string(body))
	}

	// The edge client restarts: what it read is gone from memory.
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openJournal(t, path, offlineClient(nil), journal.WithOfflineQueue())
	defer j.Close()
	if p, _ := j.Pending(ctx); len(p) != nUpdates {
		t.Fatalf("%d pending after the restart, want %d", len(p), nUpdates)
	}

	// The server comes back on the same address.
	srv.Start()
	reports, err := j.Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != nUpdates {
		t.Fatalf("%d reports, want %d", len(reports), nUpdates)
	}
	merged, failed := 0, 0
	for i, r := range reports {
		d := i % nDocs
		if retitle[i] {
			if r.State != journal.Failed || !isMergeConflict(r.Err) || abortOf(r.Err) == nil {
				t.Errorf("update %d: %v %v, want a merge conflict", i, r.State, r.Err)
				continue
			}
			if !bytes.Equal(r.Base, reads[d].body) || !bytes.Contains(r.Ours, []byte(fmt.Sprintf(`"ours-%d"`, i))) ||
				!bytes.Contains(r.Theirs, []byte(`"theirs"`)) {
				t.Errorf("update %d: base %s\nours %s\ntheirs %s", i, r.Base, r.Ours, r.Theirs)
			}
			failed++
			continue
		}
		if r.State != journal.Applied || r.Result != "merged" || r.Err != nil {
			t.Errorf("update %d: %+v", i, r)
		}
		merged++
	}
	t.Logf("%d merged, %d merge conflicts reported", merged, failed)

	// Nothing lost: every merged update's field and every change of the
	// other writer are there; the unmergeable updates changed nothing.
	for d := 0; d < nDocs; d++ {
		doc, _, _ := api.Document(fmt.Sprintf("o%d", d))
		if !bytes.Contains(doc, []byte(fmt.Sprintf(`"theirs%d":%d`, d, d))) {
			t.Errorf("o%d lost the other writer's change: %s", d, doc)
		}
		for i := d; i < nUpdates; i += nDocs {
			has := bytes.Contains(doc, []byte(fmt.Sprintf(`"mine%d":%d`, i, i)))
			if has == retitle[i] {
				t.Errorf("o%d: update %d applied = %v: %s", d, i, has, doc)
			}
		}
		if bytes.Contains(doc, []byte(`"ours-`)) {
			t.Errorf("o%d: an unmergeable title was written: %s", d, doc)
		}
	}
	if p, _ := j.Pending(ctx); len(p) != 0 {
		t.Fatalf("%d still pending", len(p))
	}
}
