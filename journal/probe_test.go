package journal_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/journal"
)

// probeClient is a client with no transport retries and no kept-alive
// connections (so that net/http never re-sends a request on its own): a
// dropped answer is a transport error at once.
func probeClient(extra ...conflict.Option) *conflict.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	opts := append([]conflict.Option{conflict.WithLimits(conflict.Limits{TransportRetries: -1})}, extra...)
	return newClient(tr, opts...)
}

// dropAnswer closes the connection without an answer, as a network that
// loses the response after the server committed.
func dropAnswer(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("no hijacker")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// probeDocs is a store of JSON values by path, written by unconditional
// PUTs, that records every PUT body in the order it was applied.
type probeDocs struct {
	mu      sync.Mutex
	docs    map[string]string
	applied []string // path=body, in order of application
	// hold, if set, is called (without mu) before a PUT is applied; it may
	// block.
	hold func(path, body string)
}

func newProbeDocs() *probeDocs { return &probeDocs{docs: map[string]string{}} }

func (d *probeDocs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		d.mu.Lock()
		v, ok := d.docs[r.URL.Path]
		d.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, v)
	case http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		if d.hold != nil {
			d.hold(r.URL.Path, string(b))
		}
		d.mu.Lock()
		d.docs[r.URL.Path] = string(b)
		d.applied = append(d.applied, r.URL.Path+"="+string(b))
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

func (d *probeDocs) get(path string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.docs[path]
}

func (d *probeDocs) log() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.applied...)
}

// TestProbeIdempotentRuleKeyNotRecorded checks that a write the client
// gives an idempotency key of its own (an endpoint whose rule is marked
// Idempotent, here a PATCH that increments a counter) is sent with the same
// key at its first send and at its replay, so that a server that applied it
// and lost the answer does not apply it a second time.
func TestProbeIdempotentRuleKeyNotRecorded(t *testing.T) {
	var mu sync.Mutex
	count := 0
	seen := map[string]bool{}
	var keys []string
	first := true
	srv := newSwitchable(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPatch {
			http.NotFound(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		key := r.Header.Get("Idempotency-Key")
		mu.Lock()
		keys = append(keys, key)
		if key == "" || !seen[key] {
			count++
			seen[key] = key != ""
		}
		drop := first
		first = false
		n := count
		mu.Unlock()
		if drop {
			dropAnswer(w)
			return
		}
		fmt.Fprintf(w, `{"count":%d}`, n)
	}))
	rule := conflict.WithRule("PATCH /counters/{id}", conflict.Rule{Idempotent: true})
	path := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, path, probeClient(rule))
	ctx := context.Background()
	_, err := j.Do(request(t, ctx, "PATCH", srv.URL()+"/counters/c", `{"op":"increment"}`))
	var pe *journal.PendingError
	if !errors.As(err, &pe) {
		t.Fatalf("Do: %v, want a *PendingError (the answer was lost)", err)
	}
	j.Close()

	j = openJournal(t, path, probeClient(rule))
	defer j.Close()
	reports, err := j.Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].State != journal.Applied {
		t.Fatalf("replay: %+v", reports)
	}
	mu.Lock()
	defer mu.Unlock()
	if count != 1 {
		t.Errorf("the counter was incremented %d times by one write; keys sent %q, key recorded %q",
			count, keys, reports[0].Intent.IdempotencyKey)
	}
}

// TestProbePatchWithoutKeyDoubledOnReplay checks that a PATCH (not
// idempotent, RFC 5789) whose answer was lost is not applied twice by the
// replay, against a server that honours Idempotency-Key: the journal must
// give it a key before the first send, as it does for a POST.
func TestProbePatchWithoutKeyDoubledOnReplay(t *testing.T) {
	var mu sync.Mutex
	count := 0
	seen := map[string]bool{}
	first := true
	srv := newSwitchable(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		key := r.Header.Get("Idempotency-Key")
		mu.Lock()
		if key == "" || !seen[key] {
			count++
			seen[key] = key != ""
		}
		drop := first
		first = false
		mu.Unlock()
		if drop {
			dropAnswer(w)
			return
		}
		io.WriteString(w, `{}`)
	}))
	path := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, path, probeClient())
	ctx := context.Background()
	_, err := j.Do(request(t, ctx, "PATCH", srv.URL()+"/accounts/a1/balance", `{"add":100}`))
	var pe *journal.PendingError
	if !errors.As(err, &pe) {
		t.Fatalf("Do: %v, want a *PendingError", err)
	}
	j.Close()
	j = openJournal(t, path, probeClient())
	defer j.Close()
	reports, err := j.Replay(ctx)
	if err != nil || len(reports) != 1 || reports[0].State != journal.Applied {
		t.Fatalf("replay: %+v %v", reports, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if count != 1 {
		t.Errorf("one PATCH applied %d times (recorded key %q)", count, reports[0].Intent.IdempotencyKey)
	}
}

// TestProbeQuotedCallerKeyReplayedBare checks that the replay of a create
// sends the idempotency key exactly as the first send did. The caller
// wrote the key as a structured-field string ("k"), as the IETF draft
// specifies; a server that compares keys as it receives them must see one
// key, and make one order.
func TestProbeQuotedCallerKeyReplayedBare(t *testing.T) {
	var mu sync.Mutex
	creates := map[string]int{}
	first := true
	srv := newSwitchable(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		key := r.Header.Get("Idempotency-Key")
		mu.Lock()
		creates[key]++
		drop := first
		first = false
		mu.Unlock()
		if drop {
			dropAnswer(w)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"o_1"}`)
	}))
	path := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, path, probeClient())
	ctx := context.Background()
	_, err := j.Do(request(t, ctx, "POST", srv.URL()+"/orders", `{"item":"lamp"}`, "Idempotency-Key", `"order-lamp-1"`))
	var pe *journal.PendingError
	if !errors.As(err, &pe) {
		t.Fatalf("Do: %v", err)
	}
	j.Close()
	j = openJournal(t, path, probeClient())
	defer j.Close()
	if _, err := j.Replay(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(creates) != 1 {
		t.Errorf("one create sent under %d different keys: %q", len(creates), creates)
	}
}

// TestProbeRedirectedWriteRecordedApplied checks that a PUT the server
// did not apply, but answered with 301 Moved Permanently (which net/http
// follows with a GET that answers 200), is not recorded as Applied.
func TestProbeRedirectedWriteRecordedApplied(t *testing.T) {
	var mu sync.Mutex
	puts := 0
	srv := newSwitchable(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/documents/d":
			http.Redirect(w, r, "/v2/documents/d", http.StatusMovedPermanently)
		case r.Method == http.MethodPut:
			mu.Lock()
			puts++
			mu.Unlock()
			io.WriteString(w, `{}`)
		case r.Method == http.MethodGet:
			io.WriteString(w, `{"title":"old"}`)
		}
	}))
	spy, _ := newSpy(t)
	j, err := journal.New(spy, probeClient())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	resp, err := j.Do(request(t, context.Background(), "PUT", srv.URL()+"/documents/d", `{"title":"new"}`))
	if err == nil {
		drain(resp)
	}
	mu.Lock()
	applied := puts
	mu.Unlock()
	spy.mu.Lock()
	defer spy.mu.Unlock()
	if len(spy.appended) != 1 {
		t.Fatalf("appended %d intents", len(spy.appended))
	}
	o, ok := spy.outcomes[spy.appended[0].ID]
	if ok && o.State == journal.Applied && applied == 0 {
		t.Errorf("the PUT was never applied (the server redirected it, and net/http followed with a GET), "+
			"but its outcome is recorded as %+v", o)
	}
}

// TestProbeAzureSASSignatureOnDisk checks that the signature of an Azure
// SAS URL (the query parameter "sig", which the preset package's own
// examples use) is not written to the journal file: it is a credential
// that grants the write on its own.
func TestProbeAzureSASSignatureOnDisk(t *testing.T) {
	const sig = "c2VjcmV0LXNhcy1zaWduYXR1cmU%3D"
	srv := newSwitchable(t, newProbeDocs())
	path := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, path, probeClient(), journal.WithOfflineQueue())
	srv.Stop()
	u := srv.URL() + "/account/container/blob.json?sv=2021-12-02&sp=cw&se=2030-01-01T00%3A00%3A00Z&sig=" + sig
	if _, err := j.Do(request(t, context.Background(), "PUT", u, `{"a":1}`)); !errors.Is(err, journal.ErrQueued) {
		t.Fatalf("Do: %v", err)
	}
	j.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{sig, "c2VjcmV0LXNhcy1zaWduYXR1cmU"} {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the journal file holds the SAS signature %q", s)
		}
	}
}

// TestProbeHostOverrideLostOnReplay checks that a replayed write goes to
// the same virtual host as the write that was made: a request whose Host
// (req.Host) names a tenant on a shared address must not be replayed to
// another host, where it is refused and recorded as a final outcome.
func TestProbeHostOverrideLostOnReplay(t *testing.T) {
	var mu sync.Mutex
	var hosts []string
	srv := newSwitchable(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
		if r.Host != "tenant-a.example" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{}`)
	}))
	path := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, path, probeClient(), journal.WithOfflineQueue())
	ctx := context.Background()
	srv.Stop()
	req := request(t, ctx, "PUT", srv.URL()+"/documents/d", `{"a":1}`)
	req.Host = "tenant-a.example"
	if _, err := j.Do(req); !errors.Is(err, journal.ErrQueued) {
		t.Fatalf("Do: %v", err)
	}
	j.Close()
	srv.Start()
	j = openJournal(t, path, probeClient())
	defer j.Close()
	reports, err := j.Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 1 || reports[0].State != journal.Applied {
		t.Errorf("replay of a write to tenant-a.example: %v (status %d), server saw Host %q",
			reports[0].State, reports[0].Status, hosts)
	}
}

// TestProbeQueryRewrittenWhenCredentialDropped checks that dropping a
// credential query parameter from the recorded URL keeps every other
// parameter as it was: the replay must address the same resource with the
// same options ("fields=title;body" here), not a different write.
func TestProbeQueryRewrittenWhenCredentialDropped(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	srv := newSwitchable(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		io.WriteString(w, `{}`)
	}))
	path := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, path, probeClient(), journal.WithOfflineQueue())
	ctx := context.Background()
	srv.Stop()
	u := srv.URL() + "/documents/d?access_token=tok-123&fields=title;body&mode=replace"
	if _, err := j.Do(request(t, ctx, "PUT", u, `{"title":"t"}`)); !errors.Is(err, journal.ErrQueued) {
		t.Fatalf("Do: %v", err)
	}
	srv.Start()
	reports, err := j.Replay(ctx)
	j.Close()
	if err != nil || len(reports) != 1 {
		t.Fatalf("replay: %+v %v", reports, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(queries) != 1 || !strings.Contains(queries[0], "fields=title;body") || !strings.Contains(queries[0], "mode=replace") {
		t.Errorf("made with query %q less access_token; recorded URL %q; replayed with query %q",
			"fields=title;body&mode=replace", reports[0].Intent.URL, queries)
	}
}

// TestProbeReplayClaimedDoesNotBlockSuccessor checks the order of writes
// to one URL across replicas sharing a store: while replica A holds the
// claim on the earlier write X (its send failed a moment ago, its lease
// runs), replica B's Replay must not send the later write Y, or X, sent
// later by A, overwrites Y.
func TestProbeReplayClaimedDoesNotBlockSuccessor(t *testing.T) {
	docs := newProbeDocs()
	srv := newSwitchable(t, docs)
	fs, err := journal.OpenFile(filepath.Join(t.TempDir(), "shared"))
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	a, _ := journal.New(fs, probeClient(), journal.WithOwner("replica-a"), journal.WithOfflineQueue())
	b, _ := journal.New(fs, probeClient(), journal.WithOwner("replica-b"))
	ctx := context.Background()
	srv.Stop()
	for i := 1; i <= 2; i++ {
		if _, err := a.Do(request(t, ctx, "PUT", srv.URL()+"/documents/d", fmt.Sprintf(`{"n":%d}`, i))); !errors.Is(err, journal.ErrQueued) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	srv.Start()
	rb, err := b.Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := a.Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := docs.get("/documents/d"); got != `{"n":2}` {
		t.Errorf("the document is %s, want the later write {\"n\":2}; applied in order %q", got, docs.log())
		for _, r := range append(rb, ra...) {
			t.Logf("report seq %d %s: %v", r.Intent.Seq, r.State, r.Err)
		}
	}
}

// TestProbeDoIgnoresOtherReplicaPending checks that Do on one replica
// sends an earlier pending write to the same URL first, or waits for it,
// even when another replica sharing the store recorded it: the shared
// store, not this replica's memory, says what is earlier.
func TestProbeDoIgnoresOtherReplicaPending(t *testing.T) {
	docs := newProbeDocs()
	srv := newSwitchable(t, docs)
	fs, err := journal.OpenFile(filepath.Join(t.TempDir(), "shared"))
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	b, _ := journal.New(fs, probeClient(), journal.WithOwner("replica-b"))
	a, _ := journal.New(fs, probeClient(), journal.WithOwner("replica-a"), journal.WithOfflineQueue())
	ctx := context.Background()
	srv.Stop()
	if _, err := a.Do(request(t, ctx, "PUT", srv.URL()+"/documents/d", `{"n":1}`)); !errors.Is(err, journal.ErrQueued) {
		t.Fatalf("write 1: %v", err)
	}
	srv.Start()
	resp, err := b.Do(request(t, ctx, "PUT", srv.URL()+"/documents/d", `{"n":2}`))
	if err == nil {
		drain(resp)
	}
	if _, err := a.Replay(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Replay(ctx); err != nil {
		t.Fatal(err)
	}
	if got := docs.get("/documents/d"); got != `{"n":2}` {
		t.Errorf("the document is %s, want the later write {\"n\":2}; applied in order %q", got, docs.log())
	}
}

// TestProbeLeaseExpiresMidSend checks that a claim does not run out while
// its holder still sends the intent: replica A sends the earlier write X,
// the server is slow; once A's lease has passed, replica B replays the
// same store. X must reach the server once, and the later write Y must be
// the last one applied.
func TestProbeLeaseExpiresMidSend(t *testing.T) {
	docs := newProbeDocs()
	arrived := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	docs.hold = func(path, body string) {
		if body != `{"n":1}` {
			return
		}
		first := false
		once.Do(func() { first = true })
		if first {
			close(arrived)
			<-release
		}
	}
	srv := newSwitchable(t, docs)
	fs, err := journal.OpenFile(filepath.Join(t.TempDir(), "shared"))
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	const lease = 100 * time.Millisecond
	a, _ := journal.New(fs, probeClient(), journal.WithOwner("replica-a"), journal.WithLease(lease), journal.WithOfflineQueue())
	b, _ := journal.New(fs, probeClient(), journal.WithOwner("replica-b"), journal.WithLease(lease))
	ctx := context.Background()
	srv.Stop()
	for i := 1; i <= 2; i++ {
		if _, err := a.Do(request(t, ctx, "PUT", srv.URL()+"/documents/d", fmt.Sprintf(`{"n":%d}`, i))); !errors.Is(err, journal.ErrQueued) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	srv.Start()
	time.Sleep(2 * lease) // the claims of the failed sends run out
	done := make(chan []journal.Report)
	go func() { r, _ := a.Replay(ctx); done <- r }()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("X never reached the server")
	}
	time.Sleep(3 * lease) // A still sends X; its lease has passed
	rb, _ := b.Replay(ctx)
	close(release)
	ra := <-done
	var xs int
	for _, e := range docs.log() {
		if strings.HasSuffix(e, `={"n":1}`) {
			xs++
		}
	}
	if got := docs.get("/documents/d"); got != `{"n":2}` || xs != 1 {
		t.Errorf("X applied %d times, document %s (want X once and {\"n\":2} last); applied in order %q", xs, got, docs.log())
		for _, r := range append(rb, ra...) {
			t.Logf("report seq %d %s: %v", r.Intent.Seq, r.State, r.Err)
		}
	}
}

// probeStore wraps a Store: failDone makes Done fail, as a process that
// dies after the answer and before its outcome is written.
type probeStore struct {
	journal.Store
	mu       sync.Mutex
	failDone bool
}

func (s *probeStore) Done(ctx context.Context, id string, o journal.Outcome) error {
	s.mu.Lock()
	fail := s.failDone
	s.mu.Unlock()
	if fail {
		return errors.New("probe: the process died before the outcome was written")
	}
	return s.Store.Done(ctx, id, o)
}

// TestProbeCrashAfterApplyBeforeOutcome guards the replay of an update
// the server applied (with If-Match) whose outcome the journal never
// recorded: after a restart, and another writer's change to another field,
// the replay finds its If-Match stale and must merge against the recorded
// base: the counter it set is not applied twice, and the other writer's
// change is kept.
func TestProbeCrashAfterApplyBeforeOutcome(t *testing.T) {
	api := newAPI(t)
	srv := newSwitchable(t, api.Handler())
	api.PutDocument("d", `{"n":1,"title":"a"}`)
	path := filepath.Join(t.TempDir(), "j")
	fs, err := journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := &probeStore{Store: fs}
	j, err := journal.New(ps, newClient(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp, err := j.Do(request(t, ctx, "GET", srv.URL()+"/documents/d", ""))
	if err != nil {
		t.Fatal(err)
	}
	base := readAll(t, resp)
	etag := resp.Header.Get("ETag")
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	doc["n"] = 2
	ours, _ := json.Marshal(doc)
	ps.mu.Lock()
	ps.failDone = true
	ps.mu.Unlock()
	if _, err := j.Do(request(t, ctx, "PUT", srv.URL()+"/documents/d", string(ours), "If-Match", etag)); err == nil {
		t.Fatal("Do: no error although the outcome was not recorded")
	}
	if cur, _, _ := api.Document("d"); !bytes.Contains(cur, []byte(`"n":2`)) {
		t.Fatalf("the server did not apply the write: %s", cur)
	}
	fs.Close() // the crash: the Journal is abandoned, not closed

	cur, _, _ := api.Document("d")
	api.PutDocument("d", strings.Replace(string(cur), `"title":"a"`, `"title":"theirs"`, 1))
	j2 := openJournal(t, path, newClient(nil))
	defer j2.Close()
	reports, err := j2.Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].State != journal.Applied {
		t.Fatalf("replay: %+v", reports)
	}
	final, _, _ := api.Document("d")
	if !bytes.Contains(final, []byte(`"n":2`)) || !bytes.Contains(final, []byte(`"title":"theirs"`)) {
		t.Errorf("after the replay the document is %s, want n 2 and the other writer's title", final)
	}
}

// TestProbeStaleWithoutBaseNeverOverwrites guards the offline queue: an
// update made with If-Match on an ETag the journal never read (so no base
// is recorded), queued while offline, and stale when the server is back
// (another writer changed the same field) must fail, not overwrite.
func TestProbeStaleWithoutBaseNeverOverwrites(t *testing.T) {
	api := newAPI(t)
	srv := newSwitchable(t, api.Handler())
	api.PutDocument("d", `{"title":"v1"}`)
	// Read outside the journal: the journal knows no base.
	resp, err := http.Get(srv.URL() + "/documents/d")
	if err != nil {
		t.Fatal(err)
	}
	etag := resp.Header.Get("ETag")
	drain(resp)
	path := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, path, offlineClient(nil), journal.WithOfflineQueue())
	ctx := context.Background()
	srv.Stop()
	if _, err := j.Do(request(t, ctx, "PUT", srv.URL()+"/documents/d", `{"title":"ours"}`, "If-Match", etag)); !errors.Is(err, journal.ErrQueued) {
		t.Fatalf("Do: %v", err)
	}
	j.Close()
	api.PutDocument("d", `{"title":"theirs"}`)
	srv.Start()
	j = openJournal(t, path, offlineClient(nil), journal.WithOfflineQueue())
	defer j.Close()
	reports, err := j.Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].State == journal.Applied || reports[0].State == journal.Pending {
		t.Errorf("replay of a stale write with no base: %+v", reports)
	}
	if doc, _, _ := api.Document("d"); !bytes.Contains(doc, []byte(`"theirs"`)) {
		t.Errorf("the other writer's change was overwritten: %s", doc)
	}
}

// TestProbeMaxBodyRefusedNothingRecordedOrSent guards WithMaxBody: a body
// one byte over the limit is refused with ErrTooLarge, nothing is on disk
// or sent; a body at the limit is recorded whole and sent whole.
func TestProbeMaxBodyRefusedNothingRecordedOrSent(t *testing.T) {
	docs := newProbeDocs()
	srv := newSwitchable(t, docs)
	path := filepath.Join(t.TempDir(), "j")
	const limit = 64
	j := openJournal(t, path, probeClient(), journal.WithMaxBody(limit))
	defer j.Close()
	ctx := context.Background()
	over := `{"s":"` + strings.Repeat("x", limit-7) + `"}` // limit+1 bytes
	if len(over) != limit+1 {
		t.Fatalf("len %d", len(over))
	}
	_, err := j.Do(request(t, ctx, "PUT", srv.URL()+"/documents/big", over))
	if !errors.Is(err, journal.ErrTooLarge) {
		t.Fatalf("Do with %d bytes: %v, want ErrTooLarge", len(over), err)
	}
	if n := len(docs.log()); n != 0 {
		t.Fatalf("the server saw %d writes", n)
	}
	if p, _ := j.Pending(ctx); len(p) != 0 {
		t.Fatalf("pending: %+v", p)
	}
	if fs, ok := j.Store().(*journal.FileStore); !ok || fs.NextSeq() != 1 {
		t.Fatalf("something was recorded (next seq %d)", fs.NextSeq())
	}
	at := over[:limit-2] + `"}`
	resp, err := j.Do(request(t, ctx, "PUT", srv.URL()+"/documents/big", at))
	if err != nil {
		t.Fatal(err)
	}
	drain(resp)
	if got := docs.get("/documents/big"); got != at {
		t.Fatalf("the server got %q, want %q", got, at)
	}
}

// TestProbeDamagedFileNeverYieldsDifferentIntent guards the file format:
// for every single flipped byte and every truncation of a journal file
// holding three intents (one done), OpenFile either fails, or reports the
// damage (ErrCorrupt, a torn tail), or reads it cleanly; and every intent it
// reads is one that was recorded, field for field. An intact file must give
// back the two pending intents exactly.
func TestProbeDamagedFileNeverYieldsDifferentIntent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j")
	fs, err := journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	orig := map[string]journal.Record{}
	for i := 0; i < 3; i++ {
		rec := &journal.Record{
			ID:             fmt.Sprintf("%032x", i+1),
			Time:           time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
			Method:         "PUT",
			URL:            fmt.Sprintf("http://h/documents/d%d", i),
			Header:         http.Header{"Content-Type": {"application/json"}, "If-Match": {fmt.Sprintf(`"v%d"`, i)}},
			Body:           []byte(fmt.Sprintf(`{"n":%d}`, i)),
			IdempotencyKey: fmt.Sprintf("key-%d", i),
			Base:           []byte(`{"n":0}`),
		}
		if err := fs.Append(ctx, rec); err != nil {
			t.Fatal(err)
		}
		orig[rec.ID] = *rec
	}
	if err := fs.Done(ctx, fmt.Sprintf("%032x", 2), journal.Outcome{State: journal.Applied, Status: 200}); err != nil {
		t.Fatal(err)
	}
	fs.Close()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	same := func(a, b journal.Record) bool {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return bytes.Equal(ja, jb)
	}
	check := func(what string, data []byte, mustReadAll bool) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := journal.OpenFile(path)
		if s == nil {
			if err == nil {
				t.Fatalf("%s: nil store and nil error", what)
			}
			return
		}
		defer s.Close()
		rec := s.Recovery()
		reported := err != nil || rec.TornBytes > 0 || len(rec.Corrupt) > 0
		p, perr := s.Pending(ctx)
		if perr != nil {
			t.Fatalf("%s: Pending: %v", what, perr)
		}
		for _, r := range p {
			o, ok := orig[r.ID]
			if !ok || !same(o, r) {
				t.Errorf("%s: read an intent that was never recorded: %+v", what, r)
			}
		}
		if !reported && len(p) != 2 && mustReadAll {
			t.Errorf("%s: %d pending intents and no damage reported, want 2", what, len(p))
		}
	}
	check("intact", good, true)
	for off := 0; off < len(good); off++ {
		d := bytes.Clone(good)
		d[off] ^= 0x20
		check(fmt.Sprintf("byte %d flipped", off), d, true)
	}
	// Truncations that cut a frame must be reported; those on a frame
	// boundary are a clean (shorter) file.
	bounds := map[int]bool{8: true}
	for off := 8; off+8 <= len(good); {
		n := int(binary.BigEndian.Uint32(good[off:]))
		off += 8 + n
		bounds[off] = true
	}
	for n := 8; n < len(good); n++ {
		check(fmt.Sprintf("truncated to %d", n), good[:n], false)
		if !bounds[n] {
			os.WriteFile(path, good[:n], 0o600)
			s, _ := journal.OpenFile(path)
			if s != nil {
				if s.Recovery().TornBytes == 0 {
					t.Errorf("truncated to %d (inside a frame): no torn tail reported", n)
				}
				s.Close()
			}
		}
	}
}

// TestProbeCredentialsNotOnDiskAfterAbort guards the outcome frames: a
// write that the client aborts (an invalid transition) is recorded as
// Failed with a reason; neither the intent nor the reason may hold the
// caller's credentials: a header set under a non-canonical name, a token
// as the URL's user name, a token query parameter.
func TestProbeCredentialsNotOnDiskAfterAbort(t *testing.T) {
	api := newAPI(t)
	srv := newSwitchable(t, api.Handler())
	path := filepath.Join(t.TempDir(), "j")
	j := openJournal(t, path, newClient(nil))
	ctx := context.Background()
	resp, err := j.Do(request(t, ctx, "POST", srv.URL()+"/orders", `{"item":"book"}`))
	if err != nil {
		t.Fatal(err)
	}
	drain(resp)
	u := strings.Replace(srv.URL(), "http://", "http://ghp-user-token-5150@", 1) + "/orders/o_1/deliver?api_token=qs-tok-8080&x=1"
	req := request(t, ctx, "POST", u, "")
	req.Header["authorization"] = []string{"Bearer lower-case-bearer-4242"}
	req.Header["x-amz-security-token"] = []string{"amz-sec-tok-3131"}
	if _, err := j.Do(req); abortOf(err) == nil {
		t.Fatalf("deliver a pending order: %v, want an abort", err)
	}
	if p, _ := j.Pending(ctx); len(p) != 0 {
		t.Fatalf("pending: %+v", p)
	}
	j.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("invalid_transition")) {
		t.Fatalf("the abort's outcome is not in the file")
	}
	for _, s := range []string{"ghp-user-token-5150", "qs-tok-8080", "api_token", "lower-case-bearer-4242", "amz-sec-tok-3131"} {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the journal file holds %q", s)
		}
	}
}

// TestProbeReplayWhileDoSameURL guards the per-URL order in one process:
// an offline write X is pending; when the server is back, Replay and a Do
// of a later write Y to the same URL run at once. The server must apply X
// once, then Y once, whatever the interleaving.
func TestProbeReplayWhileDoSameURL(t *testing.T) {
	for round := 0; round < 5; round++ {
		docs := newProbeDocs()
		srv := newSwitchable(t, docs)
		j := openJournal(t, filepath.Join(t.TempDir(), "j"), probeClient(), journal.WithOfflineQueue())
		ctx := context.Background()
		srv.Stop()
		if _, err := j.Do(request(t, ctx, "PUT", srv.URL()+"/documents/d", `{"n":1}`)); !errors.Is(err, journal.ErrQueued) {
			t.Fatalf("X: %v", err)
		}
		srv.Start()
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			j.Replay(ctx)
		}()
		go func() {
			defer wg.Done()
			resp, err := j.Do(request(t, ctx, "PUT", srv.URL()+"/documents/d", `{"n":2}`))
			if err != nil {
				t.Errorf("Y: %v", err)
				return
			}
			drain(resp)
		}()
		wg.Wait()
		if got := fmt.Sprint(docs.log()); got != `[/documents/d={"n":1} /documents/d={"n":2}]` {
			t.Errorf("round %d: applied %s, want X then Y once each", round, got)
		}
		if p, _ := j.Pending(ctx); len(p) != 0 {
			t.Errorf("round %d: pending %+v", round, p)
		}
		j.Close()
		srv.Stop()
	}
}
