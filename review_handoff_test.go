package conflict

// Review tests of the hand-off between an Update holding its resource's
// turn and the Updates it carries (updateRider.ask/reply/gone, 2026e8c):
// each carried Update's mutate runs on its own caller's goroutine, and a
// claimed rider that stops waiting says so (gone). Each test runs against
// a real HTTP server and states the property it checks.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-conflict/conflict/conflicttest"
)

// closeOnce returns a function that closes ch once, however often called;
// it is also registered as a cleanup, so that a held request is let go
// before the server closes (httptest.Server.Close waits for it).
func closeOnce(t *testing.T, ch chan struct{}) func() {
	var once sync.Once
	f := func() { once.Do(func() { close(ch) }) }
	t.Cleanup(f)
	return f
}

// queueIdle reports whether no writer holds or awaits any resource's turn
// in c: every slot's references were given back.
func queueIdle(c *Client) bool {
	c.queue.mu.Lock()
	defer c.queue.mu.Unlock()
	return len(c.queue.m) == 0
}

// waitIdle fails the test unless c's queue is idle within a second.
func waitIdle(t *testing.T, c *Client) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !queueIdle(c) {
		if time.Now().After(deadline) {
			c.queue.mu.Lock()
			for k, s := range c.queue.m {
				t.Errorf("slot %s still held: refs %d, riders %d", k, s.refs, len(s.riders))
			}
			c.queue.mu.Unlock()
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// handoffResult is what one Update returned, or that it never did (its goroutine
// ended by runtime.Goexit, or a panic).
type handoffResult struct {
	doc      counterDoc
	err      error
	returned bool
	panicked any
	done     chan struct{}
}

// goUpdate runs Update(ctx, c, url, mutate) on a goroutine of its own.
func goUpdate(ctx context.Context, c *Client, url string, mutate func(*counterDoc) error) *handoffResult {
	r := &handoffResult{done: make(chan struct{})}
	go func() {
		defer close(r.done) // runs on Goexit too
		defer func() { r.panicked = recover() }()
		r.doc, r.err = Update(ctx, c, url, mutate)
		r.returned = true
	}()
	return r
}

// wait fails the test unless the Update's goroutine ends within d.
func (r *handoffResult) wait(t *testing.T, name string, d time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		t.Fatalf("%s: Update still blocked after %v", name, d)
	}
}

// TestHandoffClaimedRiderCancelledBeforeAsked: the holder has claimed two
// riders and waits on the first's (slow) mutate; the second's caller
// cancels. The second leaves at once (it does not wait for the holder),
// returns context.Canceled, its mutate never runs and its change is not
// written; the holder and the first rider land in one PUT, and every
// share of the turn is given back.
func TestHandoffClaimedRiderCancelledBeforeAsked(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	release, held := holdFirstGET(g)
	releaseGET := closeOnce(t, release)
	c := New(WithLimits(Limits{MaxElapsed: 5 * time.Second}))
	holder := goUpdate(context.Background(), c, g.url(), increment)
	<-held
	inMutate, unblock := make(chan struct{}), make(chan struct{})
	unblockOnce := closeOnce(t, unblock)
	first := goUpdate(context.Background(), c, g.url(), func(d *counterDoc) error {
		close(inMutate)
		<-unblock
		d.Count += 10
		return nil
	})
	waitRiders(t, c, g.url(), 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ran atomic.Bool
	second := goUpdate(ctx, c, g.url(), func(d *counterDoc) error {
		ran.Store(true)
		d.Count += 100
		return nil
	})
	waitRiders(t, c, g.url(), 2)
	releaseGET()
	<-inMutate // the holder has claimed both riders and asked the first
	cancel()
	second.wait(t, "cancelled rider (while the holder waits on another's mutate)", 2*time.Second)
	if !errors.Is(second.err, context.Canceled) {
		t.Errorf("cancelled rider: %v, want context.Canceled", second.err)
	}
	unblockOnce()
	holder.wait(t, "holder", 5*time.Second)
	first.wait(t, "first rider", 5*time.Second)
	for name, r := range map[string]*handoffResult{"holder": holder, "first rider": first} {
		if !r.returned || r.err != nil || r.doc.Count != 11 {
			t.Errorf("%s: returned %v, %+v, %v; want count 11", name, r.returned, r.doc, r.err)
		}
	}
	if ran.Load() {
		t.Errorf("the cancelled rider's mutate ran")
	}
	g.expect(t, 11, 1)
	waitIdle(t, c)
}

// TestHandoffRiderGoexitFreesSlot: riders whose mutate ends their own
// goroutine (runtime.Goexit), before or after changing the document, sit
// among riders that fail, panic or succeed. Only the Goexit callers' goroutines
// end; the failing and panicking ones meet their fate alone; the holder's
// and the good riders' changes land once, in one PUT; and afterwards no
// share of the turn is left (a leaked reference keeps the slot, a double
// release frees it under a writer), so the next Update goes straight
// through.
func TestHandoffRiderGoexitFreesSlot(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	release, held := holdFirstGET(g)
	releaseGET := closeOnce(t, release)
	c := New(WithLimits(Limits{MaxElapsed: 3 * time.Second}))
	boom := errors.New("boom")
	mutates := []func(*counterDoc) error{
		increment, // the holder
		func(*counterDoc) error { runtime.Goexit(); return nil },
		func(d *counterDoc) error { d.Count += 1000; runtime.Goexit(); return nil },
		increment,
		func(*counterDoc) error { panic("mutate panicked") },
		func(*counterDoc) error { return boom },
		increment,
		func(*counterDoc) error { runtime.Goexit(); return nil }, // the last one asked
	}
	rs := make([]*handoffResult, len(mutates))
	for i, m := range mutates {
		rs[i] = goUpdate(context.Background(), c, g.url(), m)
		if i == 0 {
			<-held
		} else {
			waitRiders(t, c, g.url(), i) // claimed in this order
		}
	}
	releaseGET()
	for i, r := range rs {
		r.wait(t, fmt.Sprintf("Update %d", i), 6*time.Second)
	}
	for i, r := range rs {
		switch i {
		case 1, 2, 7:
			if r.returned || r.panicked != nil {
				t.Errorf("Update %d (Goexit): returned %v, panicked %v; want its goroutine ended", i, r.returned, r.panicked)
			}
		case 4:
			if r.panicked != "mutate panicked" {
				t.Errorf("Update 4: panicked %v, returned %v, %v; want its mutate's panic, alone", r.panicked, r.returned, r.err)
			}
		case 5:
			if !errors.Is(r.err, boom) {
				t.Errorf("Update 5: %v, want its mutate's error", r.err)
			}
		default:
			if !r.returned || r.err != nil || r.doc.Count != 3 {
				t.Errorf("Update %d: returned %v, %+v, %v; want count 3", i, r.returned, r.doc, r.err)
			}
		}
	}
	g.expect(t, 3, 1)
	waitIdle(t, c)
	if _, err := Update(context.Background(), c, g.url(), increment); err != nil {
		t.Errorf("an Update after: %v", err)
	}
	g.expect(t, 4, 2)
	waitIdle(t, c)
}

// TestHandoffRiderValueWithoutAnswerBody: the server answers the carrying
// PUT 200 with no body, so each Update returns the value its own mutate
// left. Each rider's is its own (derived on its goroutine, on the document
// it was handed, with the holder's and earlier riders' changes): counts 1,
// 2, 3, 4, none lost to, or overwritten by, another's.
func TestHandoffRiderValueWithoutAnswerBody(t *testing.T) {
	t.Parallel()
	api := conflicttest.NewUnstartedServer()
	t.Cleanup(api.Close)
	api.PutDocument("d", `{"title":"t","count":0}`)
	release, held := make(chan struct{}), make(chan struct{})
	releaseGET := closeOnce(t, release)
	var gets, puts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			if gets.Add(1) == 1 {
				close(held)
				<-release
			}
		case http.MethodPut:
			puts.Add(1)
			rec := httptest.NewRecorder()
			api.Handler().ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				if k != "Content-Length" && k != "Content-Type" {
					w.Header()[k] = v
				}
			}
			w.WriteHeader(rec.Code) // the answer without its body
			return
		}
		api.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/documents/d"
	c := New(WithLimits(Limits{MaxElapsed: 5 * time.Second}))
	rs := make([]*handoffResult, 4)
	for i := range rs {
		rs[i] = goUpdate(context.Background(), c, url, increment)
		if i == 0 {
			<-held
		} else {
			waitRiders(t, c, url, i)
		}
	}
	releaseGET()
	for i, r := range rs {
		r.wait(t, fmt.Sprintf("Update %d", i), 5*time.Second)
		if !r.returned || r.err != nil || r.doc.Count != i+1 {
			t.Errorf("Update %d: returned %v, %+v, %v; want count %d (its own mutate's value)", i, r.returned, r.doc, r.err, i+1)
		}
	}
	if n := puts.Load(); n != 1 {
		t.Errorf("%d PUTs, want 1", n)
	}
	doc, _, _ := api.Document("d")
	if n, _ := decode(t, string(doc))["count"].(float64); n != 4 {
		t.Errorf("count %v, want 4", n)
	}
	waitIdle(t, c)
}

// TestHandoffIncludedRiderDeadlineSaysUnknown: a rider's change is derived
// and travels in the holder's PUT; the rider's own deadline (its caller's
// context) passes before that PUT is answered, and the PUT then lands,
// with the rider's change. Update's contract says an Update in a PUT whose
// answer did not come returns an error saying its fate is unknown (as
// errCarriedLate does for the client's time limit); a bare "context
// deadline exceeded" reads as "not written".
func TestHandoffIncludedRiderDeadlineSaysUnknown(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	get, put := newDoor(), newDoor()
	holdFirst(g, get, &put, nil)
	releaseGET, releasePUT := closeOnce(t, get.release), closeOnce(t, put.release)
	c := New(WithLimits(Limits{MaxElapsed: 10 * time.Second}))
	holder := goUpdate(context.Background(), c, g.url(), increment)
	<-get.held
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var derived atomic.Bool
	rider := goUpdate(ctx, c, g.url(), func(d *counterDoc) error {
		d.Count += 10
		derived.Store(true)
		return nil
	})
	waitRiders(t, c, g.url(), 1)
	releaseGET()
	<-put.held // the PUT carrying the rider's change is at the server
	rider.wait(t, "rider", 5*time.Second)
	releasePUT()
	holder.wait(t, "holder", 5*time.Second)
	if holder.err != nil {
		t.Errorf("holder: %v", holder.err)
	}
	g.expect(t, 11, 1) // the rider's change was written
	if !derived.Load() {
		t.Fatalf("the rider's mutate never ran")
	}
	if !errors.Is(rider.err, context.DeadlineExceeded) {
		t.Errorf("rider: %v, want a deadline error", rider.err)
	}
	if rider.err == nil || !strings.Contains(rider.err.Error(), "unknown") {
		t.Errorf("rider: %v; its change travelled in a PUT that then landed: want an error saying its fate is unknown", rider.err)
	}
	waitIdle(t, c)
}

// TestHandoffHolderWaitsOnBlockedRider: the carrying Update's caller holds
// a lock (a one-slot semaphore here) around its Update; a waiting Update's
// mutate takes that lock. Alone, the second waits its turn, the first
// returns and lets go, and both land. Carried, the holder hands the second
// its document and waits for its answer while that mutate waits for the
// holder's caller (the rider cannot leave while its mutate runs): the
// holder must stop waiting at its own time limit, and the rider go on
// alone, or both block forever.
func TestHandoffHolderWaitsOnBlockedRider(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	release, held := holdFirstGET(g)
	releaseGET := closeOnce(t, release)
	c := New(WithLimits(Limits{MaxElapsed: 500 * time.Millisecond}))
	lock := make(chan struct{}, 1)
	lock <- struct{}{} // the holder's caller holds the lock around its Update
	holder := &handoffResult{done: make(chan struct{})}
	go func() {
		defer close(holder.done)
		defer func() {
			select {
			case <-lock:
			default: // taken back by the test, below
			}
		}()
		holder.doc, holder.err = Update(context.Background(), c, g.url(), increment)
		holder.returned = true
	}()
	<-held
	rider := goUpdate(context.Background(), c, g.url(), func(d *counterDoc) error {
		lock <- struct{}{}
		defer func() { <-lock }()
		d.Count += 10
		return nil
	})
	waitRiders(t, c, g.url(), 1)
	releaseGET()
	select {
	case <-holder.done:
	case <-time.After(3 * time.Second): // six times MaxElapsed
		t.Errorf("the holder is still blocked %v after its deadline, waiting on a rider whose mutate waits for the holder's caller", 3*time.Second-500*time.Millisecond)
		<-lock // let the rider's mutate go, so that both end
	}
	holder.wait(t, "holder", 3*time.Second)
	rider.wait(t, "rider", 3*time.Second)
	if !holder.returned || holder.err != nil && !errors.Is(holder.err, context.DeadlineExceeded) {
		t.Errorf("holder: returned %v, %v", holder.returned, holder.err)
	}
	waitIdle(t, c)
}

// listDoc is a document that each Update adds its own item to.
type listDoc struct {
	Items []string `json:"items"`
}

// TestHandoffStress: rounds of Updates of one document, each adding its
// own item, arriving over a few milliseconds so that they travel in
// several batches; every third PUT finds the document changed by another
// process (412: every change in it is derived again). Some Updates are
// cancelled or time out at random moments (before, while or after the
// holder hands them the document), some have a mutate that fails, panics
// or ends its goroutine. Whatever the interleaving: every Update returns
// (or its goroutine ends) well within its deadline; an item is never
// written twice; a successful Update's item is written and in its answer;
// an item whose mutate never succeeded is never written; and no share of
// the turn is left behind. Run with -race.
func TestHandoffStress(t *testing.T) {
	t.Parallel()
	const rounds, writers = 4, 32
	type outcome struct {
		kind     string
		item     string
		returned bool
		err      error
		doc      listDoc
		done     chan struct{}
	}
	kinds := []string{"ok", "ok", "ok", "cancel", "cancel", "timeout", "fail", "panic", "goexit"}
	for round := range rounds {
		api := conflicttest.NewUnstartedServer()
		api.PutDocument("d", `{"items":[]}`)
		var puts atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				time.Sleep(time.Millisecond) // others queue behind the PUT
				if puts.Add(1)%3 == 1 {
					// Another process writes first: this PUT is stale.
					body, _, _ := api.Document("d")
					var m map[string]any
					json.Unmarshal(body, &m)
					m["other"] = fmt.Sprint(puts.Load())
					b, _ := json.Marshal(m)
					api.PutDocument("d", string(b))
				}
			}
			api.Handler().ServeHTTP(w, r)
		}))
		url := srv.URL + "/documents/d"
		c := New(WithLimits(Limits{MaxElapsed: 4 * time.Second}))
		rng := rand.New(rand.NewPCG(uint64(round), 7))
		outs := make([]*outcome, writers)
		for i := range outs {
			o := &outcome{kind: kinds[rng.IntN(len(kinds))], item: fmt.Sprintf("u%d", i), done: make(chan struct{})}
			outs[i] = o
			ctx, cancel := context.WithCancel(context.Background())
			delay := time.Duration(rng.IntN(8000)) * time.Microsecond
			work := time.Duration(rng.IntN(300)) * time.Microsecond // mutate's own time
			switch o.kind {
			case "cancel":
				time.AfterFunc(delay, cancel)
			case "timeout":
				ctx, cancel = context.WithTimeout(ctx, delay)
			}
			go func() {
				defer close(o.done)
				defer cancel()
				defer func() { _ = recover() }()
				o.doc, o.err = Update(ctx, c, url, func(d *listDoc) error {
					time.Sleep(work)
					switch o.kind {
					case "fail":
						return errors.New("fail")
					case "panic":
						panic("mutate panicked")
					case "goexit":
						d.Items = append(d.Items, o.item)
						runtime.Goexit()
					}
					d.Items = append(d.Items, o.item)
					return nil
				})
				o.returned = true
			}()
			time.Sleep(time.Duration(rng.IntN(400)) * time.Microsecond)
		}
		timeout := time.After(8 * time.Second)
		for i, o := range outs {
			select {
			case <-o.done:
			case <-timeout:
				t.Fatalf("round %d: Update %d (%s) still blocked", round, i, o.kind)
			}
		}
		body, _, _ := api.Document("d")
		var doc listDoc
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("round %d: %s: %v", round, body, err)
		}
		ok := 0
		for i, o := range outs {
			n := 0
			for _, it := range doc.Items {
				if it == o.item {
					n++
				}
			}
			succeeded := o.returned && o.err == nil
			if succeeded {
				ok++
			}
			switch {
			case n > 1:
				t.Errorf("round %d: Update %d (%s, %v): item written %d times", round, i, o.kind, o.err, n)
			case succeeded && n != 1:
				t.Errorf("round %d: Update %d (%s) succeeded, but its item was written %d times", round, i, o.kind, n)
			case succeeded && !slices.Contains(o.doc.Items, o.item):
				t.Errorf("round %d: Update %d (%s) succeeded, answer %v without its item", round, i, o.kind, o.doc.Items)
			case (o.kind == "fail" || o.kind == "panic" || o.kind == "goexit") && n != 0:
				t.Errorf("round %d: Update %d (%s): item written though its mutate never succeeded", round, i, o.kind)
			case !succeeded && n == 1:
				t.Logf("round %d: Update %d (%s) returned %v; its item was written", round, i, o.kind, o.err)
			}
		}
		t.Logf("round %d: %d succeeded, %d items written, %d PUTs", round, ok, len(doc.Items), puts.Load())
		waitIdle(t, c)
		srv.Close()
		api.Close()
	}
}
