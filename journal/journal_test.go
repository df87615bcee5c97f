package journal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/journal"
)

// spyStore records what a Journal appends and marks done.
type spyStore struct {
	journal.Store
	mu       sync.Mutex
	appended []journal.Record
	outcomes map[string]journal.Outcome
}

func (s *spyStore) Append(ctx context.Context, rec *journal.Record) error {
	err := s.Store.Append(ctx, rec)
	s.mu.Lock()
	s.appended = append(s.appended, *rec)
	s.mu.Unlock()
	return err
}

func (s *spyStore) Done(ctx context.Context, id string, o journal.Outcome) error {
	s.mu.Lock()
	if s.outcomes == nil {
		s.outcomes = map[string]journal.Outcome{}
	}
	s.outcomes[id] = o
	s.mu.Unlock()
	return s.Store.Done(ctx, id, o)
}

func newSpy(t *testing.T) (*spyStore, string) {
	path := filepath.Join(t.TempDir(), "writes.journal")
	fs, err := journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return &spyStore{Store: fs}, path
}

// A create's key is on disk before the server sees it, and the outcomes of
// a create, an update merged against the base read through the journal, an
// abort and a 404 are recorded.
func TestDoRecordsBeforeSendAndOutcomes(t *testing.T) {
	api := newAPI(t)
	spy, path := newSpy(t)
	var mu sync.Mutex
	var onDisk []bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key := r.Header.Get("Idempotency-Key"); key != "" {
			data, _ := os.ReadFile(path)
			mu.Lock()
			onDisk = append(onDisk, bytes.Contains(data, []byte(key)))
			mu.Unlock()
		}
		api.Handler().ServeHTTP(w, r)
	})
	srv := newSwitchable(t, h)
	j, err := journal.New(spy, newClient(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()

	// A create: key generated, recorded, sent.
	resp, err := j.Do(request(t, ctx, "POST", srv.URL()+"/orders", `{"item":"book"}`))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	if len(onDisk) != 1 || !onDisk[0] {
		t.Fatalf("the key was not on disk when the server saw it: %v", onDisk)
	}
	create := spy.appended[0]
	if create.IdempotencyKey == "" || spy.outcomes[create.ID].State != journal.Applied || spy.outcomes[create.ID].Result != "sent" {
		t.Fatalf("create recorded as %+v, outcome %+v", create, spy.outcomes[create.ID])
	}

	// An update built on a read through the journal, stale by the time it
	// is sent: its base is recorded, and the merge keeps both changes.
	api.PutDocument("d1", `{"title":"draft","body":"x"}`)
	resp, err = j.Do(request(t, ctx, "GET", srv.URL()+"/documents/d1", ""))
	if err != nil {
		t.Fatal(err)
	}
	base := readAll(t, resp)
	etag := resp.Header.Get("ETag")
	api.PutDocument("d1", `{"title":"draft","body":"theirs"}`)
	ours := strings.Replace(string(base), `"draft"`, `"final"`, 1)
	resp, err = j.Do(request(t, ctx, "PUT", srv.URL()+"/documents/d1", ours, "If-Match", etag))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	update := spy.appended[1]
	if !bytes.Equal(update.Base, base) {
		t.Fatalf("recorded base %s, want %s", update.Base, base)
	}
	if o := spy.outcomes[update.ID]; o.State != journal.Applied || o.Result != "merged" {
		t.Fatalf("update outcome %+v", o)
	}
	if doc, _, _ := api.Document("d1"); !bytes.Contains(doc, []byte(`"final"`)) || !bytes.Contains(doc, []byte(`"theirs"`)) {
		t.Fatalf("merged document %s", doc)
	}

	// An invalid transition: the client aborts; recorded as failed.
	_, err = j.Do(request(t, ctx, "POST", srv.URL()+"/orders/o_1/deliver", ""))
	if abortOf(err) == nil {
		t.Fatalf("deliver a pending order: err %v, want a *conflict.Error", err)
	}
	abort := spy.appended[2]
	if o := spy.outcomes[abort.ID]; o.State != journal.Failed || o.Kind != "invalid_transition" || o.Reason == "" {
		t.Fatalf("abort outcome %+v", o)
	}

	// A 404 is an outcome too.
	resp, err = j.Do(request(t, ctx, "PUT", srv.URL()+"/documents/nope", `{}`, "If-Match", `"1"`))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if o := spy.outcomes[spy.appended[3].ID]; o.State != journal.Rejected || o.Status != 404 {
		t.Fatalf("404 outcome %+v", o)
	}
	if p, _ := j.Pending(ctx); len(p) != 0 {
		t.Fatalf("pending after outcomes: %d", len(p))
	}
}

// A create whose responses are all lost stays pending with its key; the
// replay sends the same key and the server answers with the one order.
func TestReplayLostCreate(t *testing.T) {
	api := newAPI(t, conflicttest.WithFaults(conflicttest.Faults{Seed: 1, DropAfterCommit: 1, Routes: []string{"POST /orders"}}))
	srv := newSwitchable(t, api.Handler())
	path := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, path, offlineClient(nil))
	ctx := context.Background()
	_, err := j.Do(request(t, ctx, "POST", srv.URL()+"/orders", `{"item":"lamp"}`, "Idempotency-Key", `"caller-key-1"`))
	var pe *journal.PendingError
	if !errors.As(err, &pe) || errors.Is(err, journal.ErrQueued) {
		t.Fatalf("Do: %v, want a pending (not queued) error", err)
	}
	if api.Stats().Creates["key:caller-key-1"] != 1 {
		t.Fatalf("the create was not committed: %v", api.Stats().Creates)
	}
	j.Close()

	// A restart, with the network healed.
	api.SetFaults(conflicttest.Faults{})
	j = openJournal(t, path, offlineClient(nil))
	defer j.Close()
	reports, err := j.Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].State != journal.Applied || reports[0].Intent.IdempotencyKey != "caller-key-1" {
		t.Fatalf("reports %+v", reports)
	}
	if n := api.Stats().Creates["key:caller-key-1"]; n != 1 {
		t.Fatalf("creates with the key: %d", n)
	}
	if r, _ := j.Replay(ctx); len(r) != 0 {
		t.Fatalf("second replay: %+v", r)
	}
}

// Writes to one URL made while offline are queued, a later one behind the
// earlier without being sent, and replayed in the order they were made.
func TestOfflineOrderPerURL(t *testing.T) {
	api := newAPI(t, conflicttest.WithRequirePrecondition(false))
	var mu sync.Mutex
	var seen []string
	srv := newSwitchable(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "PUT" {
			var v struct{ N json.Number }
			json.NewDecoder(r.Body).Decode(&v)
			r.Body.Close()
			mu.Lock()
			seen = append(seen, r.URL.Path+"="+v.N.String())
			mu.Unlock()
			r.Body = nopBody(fmt.Sprintf(`{"n":%s}`, v.N))
			r.ContentLength = -1
		}
		api.Handler().ServeHTTP(w, r)
	}))
	api.PutDocument("d0", `{}`)
	api.PutDocument("d1", `{}`)
	j := openJournal(t, filepath.Join(t.TempDir(), "j"), offlineClient(nil), journal.WithOfflineQueue())
	defer j.Close()
	ctx := context.Background()
	srv.Stop()
	for i := 0; i < 6; i++ {
		doc := fmt.Sprintf("/documents/d%d", i%2)
		_, err := j.Do(request(t, ctx, "PUT", srv.URL()+doc, fmt.Sprintf(`{"n":%d}`, i)))
		if !errors.Is(err, journal.ErrQueued) {
			t.Fatalf("write %d: %v, want ErrQueued", i, err)
		}
	}
	srv.Start()
	reports, err := j.Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reports {
		if r.State != journal.Applied || r.Intent.Seq != uint64(i+1) {
			t.Fatalf("report %d: %+v", i, r)
		}
	}
	want := map[string][]string{
		"/documents/d0": {"/documents/d0=0", "/documents/d0=2", "/documents/d0=4"},
		"/documents/d1": {"/documents/d1=1", "/documents/d1=3", "/documents/d1=5"},
	}
	for doc, w := range want {
		var got []string
		for _, s := range seen {
			if strings.HasPrefix(s, doc+"=") {
				got = append(got, s)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Fatalf("%s received %v, want %v", doc, got, w)
		}
	}
	if doc, _, _ := api.Document("d0"); !bytes.Contains(doc, []byte(`"n":4`)) {
		t.Fatalf("d0 = %s", doc)
	}
}

// Without the offline queue, a write after a pending one on the same URL
// sends the earlier one first.
func TestDoSendsEarlierFirst(t *testing.T) {
	api := newAPI(t, conflicttest.WithRequirePrecondition(false))
	srv := newSwitchable(t, api.Handler())
	api.PutDocument("a", `{}`)
	j := openJournal(t, filepath.Join(t.TempDir(), "j"), offlineClient(nil))
	defer j.Close()
	ctx := context.Background()
	srv.Stop()
	_, err := j.Do(request(t, ctx, "PUT", srv.URL()+"/documents/a", `{"n":1}`))
	var pe *journal.PendingError
	if !errors.As(err, &pe) || errors.Is(err, journal.ErrQueued) {
		t.Fatalf("offline write: %v", err)
	}
	srv.Start()
	resp, err := j.Do(request(t, ctx, "PUT", srv.URL()+"/documents/a", `{"n":2}`))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if v := api.Stats().Versions["a"]; len(v) != 3 {
		t.Fatalf("versions %v, want 3", v)
	}
	if doc, _, _ := api.Document("a"); !bytes.Contains(doc, []byte(`"n":2`)) {
		t.Fatalf("a = %s, want the later write last", doc)
	}
	if p, _ := j.Pending(ctx); len(p) != 0 {
		t.Fatalf("pending: %+v", p)
	}
}

// No credential reaches the journal file: not the Authorization or
// X-Api-Key values, nor cookies, tokens, URL user information or
// credential query parameters. The replay gets its credentials from the
// client's transport.
func TestNoCredentialsOnDisk(t *testing.T) {
	const auth, apiKey = "Bearer sEcReT-aUtH-7f3a91", "apikey-9d8c7b6a5f"
	api := newAPI(t)
	var mu sync.Mutex
	seen := 0
	srv := newSwitchable(t, requireAuth(api.Handler(), auth, apiKey, &seen, &mu))
	tr := &credTransport{base: http.DefaultTransport.(*http.Transport).Clone(), auth: auth, apiKey: apiKey}
	path := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, path, offlineClient(tr), journal.WithOfflineQueue())
	ctx := context.Background()
	srv.Stop()
	u := strings.Replace(srv.URL(), "http://", "http://alice:pa55word-user-info@", 1) + "/orders?access_token=tok-qs-123&x=1"
	_, err := j.Do(request(t, ctx, "POST", u, `{"item":"pen"}`,
		"Authorization", auth, "X-Api-Key", apiKey, "Cookie", "sid=cookie-val-42",
		"X-Auth-Token", "xauth-val-77", "X-Session-Id", "sess-val-88", "X-Request-Signature", "sig-val-99",
		"Idempotency-Key", "my-own-key"))
	if !errors.Is(err, journal.ErrQueued) {
		t.Fatalf("Do: %v", err)
	}
	j.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{auth, "sEcReT-aUtH-7f3a91", apiKey, "cookie-val-42", "xauth-val-77", "sess-val-88",
		"sig-val-99", "pa55word-user-info", "alice", "tok-qs-123", "access_token"} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("the journal file contains %q", secret)
		}
	}
	if !bytes.Contains(data, []byte("my-own-key")) {
		t.Errorf("the idempotency key is not in the journal")
	}

	srv.Start()
	j = openJournal(t, path, offlineClient(tr))
	defer j.Close()
	reports, err := j.Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].State != journal.Applied || reports[0].Status != 201 {
		t.Fatalf("replay: %+v", reports)
	}
	if n := api.Stats().Creates["key:my-own-key"]; n != 1 {
		t.Fatalf("creates: %d", n)
	}
}

func TestIsCredential(t *testing.T) {
	for _, name := range []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "x-auth-token",
		"X-CSRF-Token", "Api-Secret", "X-Session", "X-Amz-Signature", "idempotency-key"} {
		if !journal.IsCredential(name) {
			t.Errorf("IsCredential(%q) = false", name)
		}
	}
	for _, name := range []string{"Content-Type", "If-Match", "Accept", "X-Request-Id", "User-Agent"} {
		if journal.IsCredential(name) {
			t.Errorf("IsCredential(%q) = true", name)
		}
	}
}

// Two replicas sharing one store replay at once: the claims make each
// intent go out once.
func TestReplicasReplayOnce(t *testing.T) {
	api := newAPI(t)
	srv := newSwitchable(t, api.Handler())
	fs, err := journal.OpenFile(filepath.Join(t.TempDir(), "shared"))
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	a, _ := journal.New(fs, offlineClient(nil), journal.WithOwner("replica-a"), journal.WithOfflineQueue())
	b, _ := journal.New(fs, offlineClient(nil), journal.WithOwner("replica-b"))
	ctx := context.Background()
	srv.Stop()
	const n = 20
	for i := 0; i < n; i++ {
		if _, err := a.Do(request(t, ctx, "POST", srv.URL()+"/orders", fmt.Sprintf(`{"item":"r%d"}`, i))); !errors.Is(err, journal.ErrQueued) {
			t.Fatal(err)
		}
	}
	srv.Start()
	var wg sync.WaitGroup
	var ra, rb []journal.Report
	wg.Add(2)
	go func() { defer wg.Done(); ra, _ = a.Replay(ctx) }()
	go func() { defer wg.Done(); rb, _ = b.Replay(ctx) }()
	wg.Wait()
	applied := map[string]int{}
	for _, r := range append(ra, rb...) {
		switch {
		case r.State == journal.Applied:
			applied[r.Intent.ID]++
		case r.State != journal.Pending || !errors.Is(r.Err, journal.ErrClaimed):
			t.Errorf("report %+v", r)
		}
	}
	if len(applied) != n {
		t.Fatalf("%d intents applied, want %d", len(applied), n)
	}
	for id, c := range applied {
		if c != 1 {
			t.Errorf("intent %s applied by %d replicas", id, c)
		}
	}
	if got := api.Stats().Requests["POST /orders"]; got != n {
		t.Fatalf("the server saw %d creates, want %d", got, n)
	}
}

// Discard ends a pending intent without sending it, and unblocks its URL.
func TestDiscard(t *testing.T) {
	api := newAPI(t, conflicttest.WithRequirePrecondition(false))
	api.PutDocument("d", `{}`)
	srv := newSwitchable(t, api.Handler())
	j := openJournal(t, filepath.Join(t.TempDir(), "j"), offlineClient(nil), journal.WithOfflineQueue())
	defer j.Close()
	ctx := context.Background()
	srv.Stop()
	_, err := j.Do(request(t, ctx, "PUT", srv.URL()+"/documents/d", `{"n":1}`))
	var pe *journal.PendingError
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	if err := j.Discard(ctx, pe.ID, "superseded"); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	resp, err := j.Do(request(t, ctx, "PUT", srv.URL()+"/documents/d", `{"n":2}`))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if v := api.Stats().Versions["d"]; len(v) != 2 {
		t.Fatalf("versions %v: the discarded write was sent", v)
	}
}

// WithOrderKey orders the actions on one order, which are different URLs:
// "ship" waits for "pay", queued before it.
func TestOrderKey(t *testing.T) {
	api := newAPI(t)
	srv := newSwitchable(t, api.Handler())
	byOrder := journal.WithOrderKey(func(r *journal.Record) string {
		if i := strings.Index(r.URL, "/orders/"); i >= 0 {
			rest := r.URL[i+len("/orders/"):]
			if k := strings.IndexByte(rest, '/'); k >= 0 {
				return r.URL[:i+len("/orders/")+k]
			}
		}
		return r.URL
	})
	j := openJournal(t, filepath.Join(t.TempDir(), "j"), offlineClient(nil), journal.WithOfflineQueue(), byOrder)
	defer j.Close()
	ctx := context.Background()
	resp, err := j.Do(request(t, ctx, "POST", srv.URL()+"/orders", `{"item":"chair"}`))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	srv.Stop()
	for _, action := range []string{"pay", "ship"} {
		if _, err := j.Do(request(t, ctx, "POST", srv.URL()+"/orders/o_1/"+action, "")); !errors.Is(err, journal.ErrQueued) {
			t.Fatalf("%s: %v", action, err)
		}
	}
	srv.Start()
	reports, err := j.Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		if r.State != journal.Applied {
			t.Fatalf("%s: %+v", r.Intent.URL, r)
		}
	}
	resp, err = j.Do(request(t, ctx, "GET", srv.URL()+"/orders/o_1", ""))
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); !bytes.Contains(body, []byte(`"state":"shipped"`)) {
		t.Fatalf("order %s", body)
	}
}

// TestRootContextValuesRecorded: a key and a base given with the root
// package's own WithIdempotencyKey and WithBase are recorded with the intent.
func TestRootContextValuesRecorded(t *testing.T) {
	api := newAPI(t)
	spy, _ := newSpy(t)
	srv := newSwitchable(t, api.Handler())
	j, err := journal.New(spy, newClient(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	key := conflict.KeyFor("create-order", "o-77")
	ctx := conflict.WithBase(conflict.WithIdempotencyKey(context.Background(), key), []byte(`{"item":"pen"}`))
	resp, err := j.Do(request(t, ctx, "POST", srv.URL()+"/orders", `{"item":"book"}`))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	rec := spy.appended[0]
	if rec.IdempotencyKey != key || string(rec.Base) != `{"item":"pen"}` {
		t.Errorf("recorded key %q base %s, want %q and the base given", rec.IdempotencyKey, rec.Base, key)
	}
}
