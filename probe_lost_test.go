package conflict

// Adversarial probes: answers lost after commit, 503s before commit,
// cancellations mid-flight, against a real conflicttest server behind an
// httptest front that chooses which exchange to break. The invariant: a
// change lands exactly once, or its caller gets an error.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// probeAction is what the front does with one request.
type probeAction int

const (
	probePass probeAction = iota
	probeDrop             // serve it (a write commits), then close the connection unanswered
	probeFail             // answer 503 Retry-After: 0, commit nothing
)

// probeFront serves api through a front that numbers requests per method
// (1-based) and asks decide what to do with each. between, if set, runs
// after a dropped request was served and before its connection closes (the
// moment another process may write).
type probeFront struct {
	api     *conflicttest.Server
	srv     *httptest.Server
	mu      sync.Mutex
	n       map[string]int
	decide  func(method string, n int) probeAction
	between func(method string, n int)
	drops   atomic.Int32
}

func newProbeFront(t *testing.T, decide func(method string, n int) probeAction) *probeFront {
	t.Helper()
	f := &probeFront{api: conflicttest.NewUnstartedServer(), n: map[string]int{}, decide: decide}
	t.Cleanup(f.api.Close)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *probeFront) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.n[r.Method]++
	n := f.n[r.Method]
	f.mu.Unlock()
	act := probePass
	if f.decide != nil {
		act = f.decide(r.Method, n)
	}
	switch act {
	case probeDrop:
		f.api.Handler().ServeHTTP(httptest.NewRecorder(), r)
		if f.between != nil {
			f.between(r.Method, n)
		}
		f.drops.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		conn.Close()
	case probeFail:
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Retry-After", "0")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":"unavailable"}`)
	default:
		f.api.Handler().ServeHTTP(w, r)
	}
}

func (f *probeFront) url(id string) string { return f.srv.URL + "/documents/" + id }

// probeDoc returns document id as the server holds it, decoded.
func probeDoc(t *testing.T, api *conflicttest.Server, id string) map[string]any {
	t.Helper()
	b, _, ok := api.Document(id)
	if !ok {
		t.Fatalf("no document %s", id)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// probeRead GETs u through c, reading the body to its end (so the client
// remembers it as a base), and returns the body and ETag.
func probeRead(t *testing.T, c *Client, u string) ([]byte, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return b, resp.Header.Get("ETag")
}

// probeWrite sends method u with body under If-Match etag through c and
// returns the answer's status and body, or the error.
func probeWrite(ctx context.Context, c *Client, method, u, etag, body string) (*http.Response, string, error) {
	req, _ := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	req.Header.Set("If-Match", etag)
	if method == http.MethodPatch {
		req.Header.Set("Content-Type", "application/merge-patch+json")
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

type probeCounter struct {
	Title string `json:"title"`
	Count int    `json:"count"`
}

func probeIncrement(calls *atomic.Int32) func(*probeCounter) error {
	return func(d *probeCounter) error {
		calls.Add(1)
		d.Count++
		return nil
	}
}

// checkCount fails unless the counter holds want, or Update failed.
func checkCount(t *testing.T, api *conflicttest.Server, id string, want float64, err error, calls int32) {
	t.Helper()
	got := probeDoc(t, api, id)["count"]
	if got != want {
		t.Errorf("count = %v, want %v (mutate called %d times; Update err %v)", got, want, calls, err)
	}
}

// --- 1. Update under lost answers -----------------------------------------

// TestProbeUpdateLostIdempotentRule: as TestUpdateAnswerLostAfterCommit,
// but the endpoint's rule marks it Idempotent, so Update's PUT carries an
// Idempotency-Key. net/http's Transport then re-sends the PUT itself on the
// reused connection that failed before any answer: the client never sees
// the first send fail.
func TestProbeUpdateLostIdempotentRule(t *testing.T) {
	t.Parallel()
	f := newProbeFront(t, func(m string, n int) probeAction {
		if m == http.MethodPut && n == 1 {
			return probeDrop
		}
		return probePass
	})
	f.api.PutDocument("c", `{"title":"counter","count":0}`)
	c := New(WithRule("PUT /documents/{id}", Rule{Idempotent: true}))
	var calls atomic.Int32
	_, err := Update(context.Background(), c, f.url("c"), probeIncrement(&calls))
	if f.drops.Load() != 1 {
		t.Fatal("no PUT was dropped")
	}
	checkCountOrErr(t, f.api, "c", 1, err, calls.Load())
}

// TestProbeUpdateLostContextKey: the same with the caller's key from
// WithIdempotencyKey.
func TestProbeUpdateLostContextKey(t *testing.T) {
	t.Parallel()
	f := newProbeFront(t, func(m string, n int) probeAction {
		if m == http.MethodPut && n == 1 {
			return probeDrop
		}
		return probePass
	})
	f.api.PutDocument("c", `{"title":"counter","count":0}`)
	c := New()
	var calls atomic.Int32
	ctx := WithIdempotencyKey(context.Background(), KeyFor("probe", "c+1"))
	_, err := Update(ctx, c, f.url("c"), probeIncrement(&calls))
	if f.drops.Load() != 1 {
		t.Fatal("no PUT was dropped")
	}
	checkCountOrErr(t, f.api, "c", 1, err, calls.Load())
}

// checkCountOrErr: the counter must hold want if Update succeeded, and
// must never hold more than want.
func checkCountOrErr(t *testing.T, api *conflicttest.Server, id string, want float64, err error, calls int32) {
	t.Helper()
	got, _ := probeDoc(t, api, id)["count"].(float64)
	switch {
	case got > want:
		t.Errorf("count = %v, want %v: a change was applied twice (mutate called %d times; Update err %v)", got, want, calls, err)
	case err == nil && got != want:
		t.Errorf("count = %v, want %v: Update reported success for a change that is missing", got, want)
	}
	t.Logf("count %v, mutate called %d times, err %v", got, calls, err)
}

// TestProbeUpdateLostAfterRederive: the first PUT is stale (another
// process wrote during mutate), the re-derived PUT commits and its answer
// is lost; the transport's re-send is stale.
func TestProbeUpdateLostAfterRederive(t *testing.T) {
	t.Parallel()
	f := newProbeFront(t, func(m string, n int) probeAction {
		if m == http.MethodPut && n == 2 {
			return probeDrop
		}
		return probePass
	})
	f.api.PutDocument("c", `{"title":"counter","count":0}`)
	c := New()
	var calls atomic.Int32
	_, err := Update(context.Background(), c, f.url("c"), func(d *probeCounter) error {
		if calls.Add(1) == 1 {
			f.api.PutDocument("c", `{"title":"counter","count":10}`) // another process
		}
		d.Count++
		return nil
	})
	if f.drops.Load() != 1 {
		t.Fatal("no PUT was dropped")
	}
	checkCountOrErr(t, f.api, "c", 11, err, calls.Load())
}

// TestProbeUpdateRecovers: Update's GET is answered and the answer lost
// (ReadLost), or its PUT is refused 503 before anything is committed and
// the transport retry commits it (503ThenCommit): Update succeeds, once.
func TestProbeUpdateRecovers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		method string
		fault  probeAction
	}{
		{"ReadLost", http.MethodGet, probeDrop},
		{"503ThenCommit", http.MethodPut, probeFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newProbeFront(t, func(m string, n int) probeAction {
				if m == tc.method && n == 1 {
					return tc.fault
				}
				return probePass
			})
			f.api.PutDocument("c", `{"title":"counter","count":0}`)
			var calls atomic.Int32
			got, err := Update(context.Background(), New(), f.url("c"), probeIncrement(&calls))
			if err != nil || got.Count != 1 {
				t.Errorf("Update = %+v, %v; want count 1", got, err)
			}
			checkCount(t, f.api, "c", 1, err, calls.Load())
		})
	}
}

// --- 2. Do, PUT with a merge rule, and ClientWins ---------------------------

// probeStaleSetup seeds d, reads it through c (the base), and, if stale,
// has another process change member b, so that the client's write on the
// version it read is stale.
func probeStaleSetup(t *testing.T, f *probeFront, c *Client, stale bool) string {
	t.Helper()
	f.api.PutDocument("d", `{"a":"x","b":"x","c":"x"}`)
	_, etag := probeRead(t, c, f.url("d"))
	if stale {
		f.api.PutDocument("d", `{"a":"x","b":"theirs","c":"x"}`)
	}
	return etag
}

// oursDoc is the representation read (version member included, as the
// server gives it) with a changed: what a client that read it writes back.
const oursDoc = `{"a":"ours","b":"x","c":"x","version":1}`

func mergeRule() Option {
	return WithRule("PUT /documents/{id}", Rule{Merge: jsonmerge.Merge})
}

// probeCheckOnce: the write succeeded with a changed to "ours", the other
// process's change kept, and the server committed exactly one write sent by
// the client.
func probeCheckOnce(t *testing.T, f *probeFront, resp *http.Response, err error, wantB string) {
	t.Helper()
	doc := probeDoc(t, f.api, "d")
	commits := f.api.Stats().Commits
	if err != nil {
		t.Logf("err %v (doc %v, %d commits)", err, doc, commits)
		if commits > 1 {
			t.Errorf("%d commits: the write was sent again after it landed", commits)
		}
		return
	}
	if resp.StatusCode != 200 || doc["a"] != "ours" || doc["b"] != wantB || commits != 1 {
		t.Errorf("status %d, doc %v, %d commits; want a=ours b=%s, 1 commit (outcome %v)", resp.StatusCode, doc, commits, wantB, ResultOf(resp).Outcome)
	}
}

// TestProbeDoMergeLost: a merged PUT through Do meets a fault at one
// request; the document holds the write once, or the call fails.
func TestProbeDoMergeLost(t *testing.T) {
	t.Parallel()
	merge := mergeRule()
	keyed := WithRule("PUT /documents/{id}", Rule{Merge: jsonmerge.Merge, Idempotent: true})
	for _, tc := range []struct {
		name   string
		method string // the faulted request: the n-th of method
		n      int
		fault  probeAction
		rule   Option
		stale  bool   // another process writes first: the PUT is stale
		wantB  string // b in the document after
	}{
		// The first send commits, its answer lost.
		{"FirstSend", http.MethodPut, 1, probeDrop, merge, false, "x"},
		// Stale, merged, and the merged re-send's answer is lost after it
		// committed.
		{"AfterMerge", http.MethodPut, 2, probeDrop, merge, true, "theirs"},
		// Stale, and the refresh read's answer is lost (the first GET is
		// the caller's read).
		{"RefreshRead", http.MethodGet, 2, probeDrop, merge, true, "theirs"},
		// Stale, and the first send answered 503 before committing.
		{"503ThenCommit", http.MethodPut, 1, probeFail, merge, true, "theirs"},
		// The endpoint's writes carry an idempotency key, so net/http
		// sends again, unasked, the PUT whose answer was lost; the second
		// send is stale.
		{"IdempotentRule", http.MethodPut, 1, probeDrop, keyed, false, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newProbeFront(t, func(m string, n int) probeAction {
				if m == tc.method && n == tc.n {
					return tc.fault
				}
				return probePass
			})
			c := New(tc.rule)
			etag := probeStaleSetup(t, f, c, tc.stale)
			resp, _, err := probeWrite(context.Background(), c, http.MethodPut, f.url("d"), etag, oursDoc)
			if tc.fault == probeDrop && f.drops.Load() != 1 {
				t.Fatalf("%d requests dropped, want 1", f.drops.Load())
			}
			probeCheckOnce(t, f, resp, err, tc.wantB)
		})
	}
}

// TestProbeDoMergeLostThenReverted: the write commits (a: x -> ours), then
// another process sets a back to x, then the answer is lost. The transport
// re-sends, 412; the refresh finds a == x == base, and a three-way merge
// reads that as "theirs did not touch a". Sending ours again applies the
// caller's change a second time, over the other process's change.
// lostThenReverted is why the ThenReverted probes are skipped: a known
// limitation, open. After a lost answer, "the write was not applied" and
// "it was applied and a later write set back what it set" leave the same
// state; the client takes the first (it sends the write again), which in
// the second case undoes the later change. Aborting instead failed every
// write whose lost answer was a 412 (TestCrashReplay in journal, under 20%
// dropped answers). An idempotency key the server honours, or a numeric
// version, tells the two apart.
const lostThenReverted = "known limitation: a write applied with its answer lost, then set back by another write, is sent again (doc.go, Bodies)"

func TestProbeDoMergeLostThenReverted(t *testing.T) {
	t.Skip(lostThenReverted)
	t.Parallel()
	f := newProbeFront(t, func(m string, n int) probeAction {
		if m == http.MethodPut && n == 1 {
			return probeDrop
		}
		return probePass
	})
	f.between = func(string, int) {
		f.api.PutDocument("d", `{"a":"x","b":"x","c":"reverter"}`) // another process
	}
	c := New(mergeRule())
	etag := probeStaleSetup(t, f, c, false)
	resp, _, err := probeWrite(context.Background(), c, http.MethodPut, f.url("d"), etag, oursDoc)
	doc := probeDoc(t, f.api, "d")
	commits := f.api.Stats().Commits
	t.Logf("doc %v, %d commits, err %v", doc, commits, err)
	if commits > 1 {
		outcome := Outcome(-1)
		if resp != nil {
			outcome = ResultOf(resp).Outcome
		}
		t.Errorf("%d commits (outcome %v, err %v): the write was sent again though it may have landed, "+
			"and overwrote the other process's a=x", commits, outcome, err)
	}
}

// TestProbeDoClientWinsLost: ClientWins, the answer lost after commit.
func TestProbeDoClientWinsLost(t *testing.T) {
	t.Parallel()
	f := newProbeFront(t, func(m string, n int) probeAction {
		if m == http.MethodPut && n == 1 {
			return probeDrop
		}
		return probePass
	})
	c := New(WithRule("PUT /documents/{id}", Rule{Resolve: ClientWins}))
	etag := probeStaleSetup(t, f, c, false)
	resp, _, err := probeWrite(context.Background(), c, http.MethodPut, f.url("d"), etag, `{"a":"ours","b":"x","c":"x"}`)
	probeCheckOnce(t, f, resp, err, "x")
	if err == nil && ResultOf(resp).Outcome != Overwrote {
		t.Errorf("outcome %v, want overwrote", ResultOf(resp).Outcome)
	}
}

// TestProbeDoClientWinsLostAfterResend: ClientWins, stale at first, the
// overwrite re-send's answer is lost after commit.
func TestProbeDoClientWinsLostAfterResend(t *testing.T) {
	t.Parallel()
	f := newProbeFront(t, func(m string, n int) probeAction {
		if m == http.MethodPut && n == 2 {
			return probeDrop
		}
		return probePass
	})
	c := New(WithRule("PUT /documents/{id}", Rule{Resolve: ClientWins}))
	etag := probeStaleSetup(t, f, c, true)
	resp, _, err := probeWrite(context.Background(), c, http.MethodPut, f.url("d"), etag, `{"a":"ours","b":"x","c":"x"}`)
	probeCheckOnce(t, f, resp, err, "x") // ClientWins overwrites b
}

// --- 4. PATCH with RebasePatch ------------------------------------------------

func patchRule(idem bool) Option {
	return WithRule("PATCH /documents/{id}", Rule{Merge: jsonmerge.RebasePatch, Idempotent: idem})
}

// TestProbePatchLost: a PATCH (not idempotent, no key) whose answer is lost
// after commit: it must not be sent again blindly.
func TestProbePatchLost(t *testing.T) {
	t.Parallel()
	f := newProbeFront(t, func(m string, n int) probeAction {
		if m == http.MethodPatch && n == 1 {
			return probeDrop
		}
		return probePass
	})
	c := New(patchRule(false))
	etag := probeStaleSetup(t, f, c, false)
	resp, _, err := probeWrite(context.Background(), c, http.MethodPatch, f.url("d"), etag, `{"a":"ours"}`)
	probeCheckOnce(t, f, resp, err, "x")
}

// TestProbePatchLostAfterRebase: stale PATCH, rebased, the re-send's answer
// lost after commit (keyed, so that it may be re-sent).
func TestProbePatchLostAfterRebase(t *testing.T) {
	t.Parallel()
	f := newProbeFront(t, func(m string, n int) probeAction {
		if m == http.MethodPatch && n == 2 {
			return probeDrop
		}
		return probePass
	})
	c := New(patchRule(true))
	etag := probeStaleSetup(t, f, c, true)
	resp, _, err := probeWrite(context.Background(), c, http.MethodPatch, f.url("d"), etag, `{"a":"ours"}`)
	probeCheckOnce(t, f, resp, err, "theirs")
}

// TestProbePatchLostThenReverted: a keyed PATCH commits a: x -> ours, another
// process sets a back to x, the answer is lost; the re-send is stale and
// the rebase finds a == base in theirs.
func TestProbePatchLostThenReverted(t *testing.T) {
	t.Skip(lostThenReverted)
	t.Parallel()
	f := newProbeFront(t, func(m string, n int) probeAction {
		if m == http.MethodPatch && n == 1 {
			return probeDrop
		}
		return probePass
	})
	f.between = func(string, int) {
		f.api.PutDocument("d", `{"a":"x","b":"x","c":"reverter"}`)
	}
	c := New(patchRule(true))
	etag := probeStaleSetup(t, f, c, false)
	_, _, err := probeWrite(context.Background(), c, http.MethodPatch, f.url("d"), etag, `{"a":"ours"}`)
	doc := probeDoc(t, f.api, "d")
	commits := f.api.Stats().Commits
	t.Logf("doc %v, %d commits, err %v", doc, commits, err)
	if doc["a"] == "ours" && commits > 1 {
		t.Errorf("the patch was applied a second time over the other process's a=x (doc %v, %d commits, err %v)", doc, commits, err)
	}
}

// --- 3. Update's shortcut: the state the turn's previous write left --------

// probeGate holds the first PUT at the front until release is closed.
type probeGate struct {
	arrived chan struct{}
	release chan struct{}
	puts    atomic.Int32
}

func newProbeGate() *probeGate {
	return &probeGate{arrived: make(chan struct{}, 1), release: make(chan struct{})}
}

// waitFor polls cond until it holds (a condition, not a duration, is what
// the test waits for).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// probeRiders is how many writes wait to ride with the holder of u's turn.
func probeRiders(c *Client, u string) int {
	pu, _ := url.Parse(u)
	c.queue.mu.Lock()
	defer c.queue.mu.Unlock()
	if s := c.queue.m[queueKey(pu)]; s != nil {
		return len(s.riders)
	}
	return 0
}

// probeSnapshotRun: Update A's PUT is held at the server while Update B
// waits its turn; B then builds on the state A's answer left, without a
// GET. mutateB runs as B's mutate; after2 says what the front does with
// the second PUT.
func probeSnapshotRun(t *testing.T, after2 probeAction, mutateB func(f *probeFront, d *probeCounter, call int32)) (*probeFront, int32, error) {
	t.Helper()
	g := newProbeGate()
	f := newProbeFront(t, func(m string, n int) probeAction {
		if m == http.MethodPut && n == 2 {
			return after2
		}
		return probePass
	})
	inner := f.srv.Config.Handler
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && g.puts.Add(1) == 1 {
			g.arrived <- struct{}{}
			<-g.release
		}
		inner.ServeHTTP(w, r)
	})
	f.api.PutDocument("c", `{"title":"counter","count":0}`)
	c := New()
	u := f.url("c")
	errA := make(chan error, 1)
	go func() {
		_, err := Update(context.Background(), c, u, func(d *probeCounter) error { d.Count++; return nil })
		errA <- err
	}()
	<-g.arrived
	var callsB atomic.Int32
	errB := make(chan error, 1)
	go func() {
		_, err := Update(context.Background(), c, u, func(d *probeCounter) error {
			mutateB(f, d, callsB.Add(1))
			return nil
		})
		errB <- err
	}()
	waitFor(t, "B to wait its turn", func() bool { return Waiting(c, u) == 2 })
	close(g.release)
	if err := <-errA; err != nil {
		t.Fatalf("Update A: %v", err)
	}
	err := <-errB
	return f, callsB.Load(), err
}

// TestProbeUpdateSnapshotOtherWriter: between A's answer and B's PUT,
// another process adds 10 to the counter. B's PUT, built on A's answer,
// must be stale and re-derived from a fresh read.
func TestProbeUpdateSnapshotOtherWriter(t *testing.T) {
	t.Parallel()
	f, calls, err := probeSnapshotRun(t, probePass, func(f *probeFront, d *probeCounter, call int32) {
		if call == 1 {
			if d.Count != 1 {
				panic(fmt.Sprintf("B saw count %d, want A's 1", d.Count))
			}
			f.api.PutDocument("c", `{"title":"counter","count":11}`) // another process: +10
		}
		d.Count++
	})
	if err != nil {
		t.Errorf("Update B: %v", err)
	}
	checkCount(t, f.api, "c", 12, err, calls)
	t.Logf("GETs %d, PUTs %d", f.api.Stats().Requests["GET /documents/{id}"], f.api.Stats().Requests["PUT /documents/{id}"])
}

// TestProbeUpdateSnapshotLost: B builds on A's answer, and B's PUT commits
// with its answer lost.
func TestProbeUpdateSnapshotLost(t *testing.T) {
	t.Parallel()
	f, calls, err := probeSnapshotRun(t, probeDrop, func(f *probeFront, d *probeCounter, call int32) { d.Count++ })
	if f.drops.Load() != 1 {
		t.Fatal("no PUT dropped")
	}
	checkCountOrErr(t, f.api, "c", 2, err, calls)
}

// TestProbeUpdateSnapshot503: B's PUT, built on A's answer, is answered 503
// before commit; the retry commits.
func TestProbeUpdateSnapshot503(t *testing.T) {
	t.Parallel()
	f, calls, err := probeSnapshotRun(t, probeFail, func(f *probeFront, d *probeCounter, call int32) { d.Count++ })
	if err != nil {
		t.Errorf("Update B: %v", err)
	}
	checkCount(t, f.api, "c", 2, err, calls)
}

// --- 2b. Writes waiting their turn, carried in one request ------------------

type probeFoldFault int

const (
	foldDrop       probeFoldFault = iota // the carrying PUT commits, its answer lost
	fold503                              // the carrying PUT is answered 503, then retried
	foldCancel                           // the carrying caller cancels while its PUT is at the server; it commits after
	foldCancelLate                       // as foldCancel, but it reaches the server after every other write
)

type probeIDKey struct{}

// probeFold: H's PUT is held at the server while riders r1..r3 (and an
// Update that increments count) wait for the turn. H is answered; the next
// holder carries the other riders in one PUT, which meets fault. Every
// change must be in the document exactly once, or its caller get an error.
func probeFold(t *testing.T, fault probeFoldFault) {
	api := conflicttest.NewUnstartedServer()
	t.Cleanup(api.Close)
	api.PutDocument("f", `{"count":0,"h":0,"r1":0,"r2":0,"r3":0}`)
	var (
		puts            atomic.Int32
		holdH           = make(chan struct{})
		arrivedH        = make(chan struct{}, 1)
		carrierArrived  = make(chan struct{}, 1)
		commitCarrier   = make(chan struct{})
		carrierCommited = make(chan struct{})
		carrierSeen     atomic.Bool
		failed          atomic.Bool
	)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			api.Handler().ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		t.Logf("PUT If-Match %s %s", r.Header.Get("If-Match"), body)
		if puts.Add(1) == 1 {
			arrivedH <- struct{}{}
			<-holdH
			api.Handler().ServeHTTP(w, r)
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		n := 0
		for _, k := range []string{"r1", "r2", "r3"} {
			if m[k] == float64(1) {
				n++
			}
		}
		carrier := n >= 2 && carrierSeen.CompareAndSwap(false, true)
		if !carrier && carrierSeen.Load() && (fault == foldCancel || fault == foldCancelLate) && puts.Load() > 1 {
			if fault == foldCancel {
				<-carrierCommited
			}
		}
		switch {
		case carrier && fault == foldDrop:
			api.Handler().ServeHTTP(httptest.NewRecorder(), r)
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		case carrier && fault == fold503 && failed.CompareAndSwap(false, true):
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		case carrier && (fault == foldCancel || fault == foldCancelLate):
			carrierArrived <- struct{}{}
			<-commitCarrier
			r.Body = io.NopCloser(bytes.NewReader(body))
			api.Handler().ServeHTTP(httptest.NewRecorder(), r) // commits after the caller gave up
			close(carrierCommited)
		default:
			api.Handler().ServeHTTP(w, r)
		}
	}))
	t.Cleanup(front.Close)
	u := front.URL + "/documents/f"

	var carrierID atomic.Value
	c := New(WithRule("PUT /documents/{id}", Rule{Merge: jsonmerge.Merge}),
		WithHook(func(ctx context.Context, ev Event) {
			if ev.Step == StepMerge && ev.Kind == Unknown {
				if id, ok := ctx.Value(probeIDKey{}).(string); ok {
					carrierID.CompareAndSwap(nil, id)
				}
			}
		}))
	base, etag := probeRead(t, c, u)
	var doc map[string]any
	json.Unmarshal(base, &doc)

	type result struct {
		id     string
		status int
		err    error
	}
	results := make(chan result, 8)
	cancels := map[string]context.CancelFunc{}
	write := func(id string) {
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), probeIDKey{}, id))
		cancels[id] = cancel
		m := map[string]any{}
		for k, v := range doc {
			m[k] = v
		}
		m[id] = 1
		b, _ := json.Marshal(m)
		go func() {
			resp, _, err := probeWrite(ctx, c, http.MethodPut, u, etag, string(b))
			r := result{id: id, err: err}
			if resp != nil {
				r.status = resp.StatusCode
			}
			results <- r
		}()
	}
	write("h")
	<-arrivedH
	for _, id := range []string{"r1", "r2", "r3"} {
		write(id)
	}
	var calls atomic.Int32
	go func() {
		_, err := Update(context.Background(), c, u, func(d *map[string]any) error {
			calls.Add(1)
			(*d)["count"] = (*d)["count"].(float64) + 1
			return nil
		})
		r := result{id: "count", err: err}
		if err == nil {
			r.status = http.StatusOK
		}
		results <- r
	}()
	waitFor(t, "the riders", func() bool { return probeRiders(c, u) == 4 && Waiting(c, u) == 5 }) // three writes and the Update
	close(holdH)

	got := map[string]result{}
	if fault == foldCancel || fault == foldCancelLate {
		<-carrierArrived
		id, _ := carrierID.Load().(string)
		if id == "" {
			t.Fatal("no carrier seen")
		}
		cancels[id]()
		r := <-results
		for r.id != id { // writes answered before the carrier's caller gives up
			got[r.id] = r
			r = <-results
		}
		got[r.id] = r
		if fault == foldCancel {
			close(commitCarrier)
		} else {
			for len(got) < 5 {
				r := <-results
				got[r.id] = r
			}
			close(commitCarrier)
			<-carrierCommited
		}
	}
	for len(got) < 5 {
		r := <-results
		got[r.id] = r
	}
	for _, cancel := range cancels {
		cancel()
	}
	if !carrierSeen.Load() {
		t.Fatal("no write carried others")
	}
	final := probeDoc(t, api, "f")
	commits := api.Stats().Commits
	t.Logf("carrier %v, doc %v, %d commits, Update mutate calls %d", carrierID.Load(), final, commits, calls.Load())
	for id, r := range got {
		t.Logf("%s: status %d err %v", id, r.status, r.err)
		want := float64(1)
		switch {
		case final[id] != want && final[id] != float64(0):
			t.Errorf("%s = %v: applied more than once", id, final[id])
		case r.err == nil && r.status/100 == 2 && final[id] != want:
			t.Errorf("%s reported %d but its change is missing: %v", id, r.status, final)
		case r.err == nil && r.status/100 != 2:
			t.Logf("%s answered %d (no success claimed)", id, r.status)
		}
	}
}

func TestProbeFoldCarrierLost(t *testing.T)       { t.Parallel(); probeFold(t, foldDrop) }
func TestProbeFoldCarrier503(t *testing.T)        { t.Parallel(); probeFold(t, fold503) }
func TestProbeFoldCarrierCancelled(t *testing.T)  { t.Parallel(); probeFold(t, foldCancel) }
func TestProbeFoldCarrierCancelLate(t *testing.T) { t.Parallel(); probeFold(t, foldCancelLate) }

var _ = errors.Is

// TestProbeDoMergeLostCurrentInConflict: as TestProbeDoMergeLostFirstSend,
// with a server whose 412 carries the current representation, so that the
// refresh reads it from the conflict instead of a GET.
func TestProbeDoMergeLostCurrentInConflict(t *testing.T) {
	t.Parallel()
	api := conflicttest.NewUnstartedServer(conflicttest.WithCurrentInConflict(true))
	t.Cleanup(api.Close)
	var n atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && n.Add(1) == 1 {
			api.Handler().ServeHTTP(httptest.NewRecorder(), r)
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
			return
		}
		api.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	f := &probeFront{api: api, srv: front}
	c := New(mergeRule())
	etag := probeStaleSetup(t, f, c, false)
	resp, _, err := probeWrite(context.Background(), c, http.MethodPut, f.url("d"), etag, oursDoc)
	probeCheckOnce(t, f, resp, err, "x")
	t.Logf("GETs %d", api.Stats().Requests["GET /documents/{id}"])
}

// TestProbeDeleteLost: a DELETE of an endpoint with a rule commits, its
// answer lost; the transport re-sends it.
func TestProbeDeleteLost(t *testing.T) {
	t.Parallel()
	f := newProbeFront(t, func(m string, n int) probeAction {
		if m == http.MethodDelete && n == 1 {
			return probeDrop
		}
		return probePass
	})
	c := New(WithRule("DELETE /documents/{id}", Rule{Merge: jsonmerge.Merge}), mergeRule())
	etag := probeStaleSetup(t, f, c, false)
	req, _ := http.NewRequest(http.MethodDelete, f.url("d"), nil)
	req.Header.Set("If-Match", etag)
	resp, err := c.Do(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
		resp.Body.Close()
	}
	_, _, exists := f.api.Document("d")
	t.Logf("status %d, err %v, exists %v, commits %d", status, err, exists, f.api.Stats().Commits)
	if exists || f.api.Stats().Commits != 1 {
		t.Errorf("document exists %v after %d commits", exists, f.api.Stats().Commits)
	}
	if err == nil && status/100 == 2 && exists {
		t.Errorf("DELETE reported %d but the document is there", status)
	}
}
