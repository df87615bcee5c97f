package conflict

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-conflict/conflict/conflicttest"
)

// A gatedAPI is a conflicttest server behind a front that can hold a
// request at the door (hold), refuse it (refuse) or apply it and drop the
// answer (lose), each chosen per request.
type gatedAPI struct {
	api  *conflicttest.Server
	srv  *httptest.Server
	puts atomic.Int32
	mu   sync.Mutex
	// rule decides, for the n-th request of its method (from 1), what the
	// front does; nil: pass it on.
	rule func(method string, n int, body string) gateAction
	n    map[string]int
}

type gateAction struct {
	hold   chan struct{} // wait for it to be closed, then pass on
	held   chan struct{} // closed when the request is held
	refuse int           // answer this status instead
	lose   bool          // apply, then close the connection unanswered
}

func newGatedAPI(t *testing.T, doc string) *gatedAPI {
	t.Helper()
	g := &gatedAPI{api: conflicttest.NewUnstartedServer(), n: map[string]int{}}
	t.Cleanup(g.api.Close)
	g.api.PutDocument("d", doc)
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gatedAPI) url() string { return g.srv.URL + "/documents/d" }

func (g *gatedAPI) serve(w http.ResponseWriter, r *http.Request) {
	var a gateAction
	g.mu.Lock()
	g.n[r.Method]++
	n := g.n[r.Method]
	rule := g.rule
	g.mu.Unlock()
	if r.Method == http.MethodPut {
		g.puts.Add(1)
	}
	if rule != nil {
		var body string
		if r.Method == http.MethodPut {
			b, _ := readAll(r.Body, r.ContentLength, 1<<20)
			body = string(b)
			r.Body = io.NopCloser(strings.NewReader(body))
		}
		a = rule(r.Method, n, body)
	}
	if a.hold != nil {
		close(a.held)
		<-a.hold
	}
	switch {
	case a.refuse != 0:
		http.Error(w, `{"error":"refused"}`, a.refuse)
	case a.lose:
		g.api.Handler().ServeHTTP(httptest.NewRecorder(), r)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	default:
		g.api.Handler().ServeHTTP(w, r)
	}
}

// expect checks that the document's "count" is count, and that puts PUTs
// reached the front (unless puts is 0).
func (g *gatedAPI) expect(t *testing.T, count float64, puts int32) {
	t.Helper()
	doc, _, _ := g.api.Document("d")
	if n, _ := decode(t, string(doc))["count"].(float64); n != count {
		t.Errorf("count %v, want %v", n, count)
	}
	if n := g.puts.Load(); puts != 0 && n != puts {
		t.Errorf("%d PUTs, want %d", n, puts)
	}
}

// waitRiders waits until n Updates of url wait to ride in c.
func waitRiders(t *testing.T, c *Client, url string, n int) {
	t.Helper()
	u, _ := http.NewRequest(http.MethodPut, url, nil)
	key := queueKey(u.URL)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.queue.mu.Lock()
		got := 0
		if s := c.queue.m[key]; s != nil {
			got = len(s.riders)
		}
		c.queue.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Updates wait to ride, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func increment(d *counterDoc) error { d.Count++; return nil }

// A door is a request held at the front: held is closed when it arrives,
// and it goes on when release is closed.
type door struct{ held, release chan struct{} }

func newDoor() door { return door{make(chan struct{}), make(chan struct{})} }

// holdFirst holds the first GET at get and, if put is not nil, the first
// PUT at *put; other, if not nil, decides for the other requests.
func holdFirst(g *gatedAPI, get door, put *door, other func(method string, n int, body string) gateAction) {
	g.rule = func(method string, n int, body string) gateAction {
		switch {
		case method == http.MethodGet && n == 1:
			return gateAction{hold: get.release, held: get.held}
		case method == http.MethodPut && n == 1 && put != nil:
			return gateAction{hold: put.release, held: put.held}
		case other != nil:
			return other(method, n, body)
		}
		return gateAction{}
	}
}

// holdFirstGET makes the first GET wait until release is closed; held is
// closed once it waits.
func holdFirstGET(g *gatedAPI) (release, held chan struct{}) {
	get := newDoor()
	holdFirst(g, get, nil, nil)
	return get.release, get.held
}

// startUpdates runs an Update of g's document through c per mutate,
// once the first (which holds the turn) is held at the door; it returns
// every result, the first's at index 0.
func startUpdates(t *testing.T, c *Client, g *gatedAPI, held chan struct{}, mutates []func(*counterDoc) error) (wait func() ([]counterDoc, []error)) {
	t.Helper()
	docs := make([]counterDoc, len(mutates))
	errs := make([]error, len(mutates))
	var wg sync.WaitGroup
	for i, m := range mutates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					errs[i] = errors.New("panic: " + p.(string))
				}
			}()
			docs[i], errs[i] = Update(context.Background(), c, g.url(), m)
		}()
		if i == 0 {
			<-held
		}
	}
	waitRiders(t, c, g.url(), len(mutates)-1)
	return func() ([]counterDoc, []error) { wg.Wait(); return docs, errs }
}

// TestUpdatesTravelTogether: while one Update of a document holds the
// client's turn, others wait; its write carries theirs, each derived on
// the state the ones before it leave, in one request, and each gets the
// answer.
func TestUpdatesTravelTogether(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	release, held := holdFirstGET(g)
	c := New()
	mutates := []func(*counterDoc) error{increment, increment, increment, increment, increment}
	wait := startUpdates(t, c, g, held, mutates)
	close(release)
	docs, errs := wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
		if docs[i].Count != 5 {
			t.Errorf("Update %d returned count %d, want the answer's 5", i, docs[i].Count)
		}
	}
	g.expect(t, 5, 1)
}

// TestUpdateRiderFailsAlone: a rider whose mutate fails or panics on the
// carried state is left out; alone, it meets its error (or panic) on its
// own goroutine, and the others travel together.
func TestUpdateRiderFailsAlone(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	release, held := holdFirstGET(g)
	c := New()
	boom := errors.New("boom")
	mutates := []func(*counterDoc) error{
		increment,
		func(*counterDoc) error { return boom },
		increment,
		func(*counterDoc) error { panic("mutate panicked") },
		increment,
	}
	wait := startUpdates(t, c, g, held, mutates)
	close(release)
	_, errs := wait()
	for i, err := range errs {
		switch i {
		case 1:
			if !errors.Is(err, boom) {
				t.Errorf("Update 1: %v, want its mutate's error", err)
			}
		case 3:
			if err == nil || err.Error() != "panic: mutate panicked" {
				t.Errorf("Update 3: %v, want its mutate's panic", err)
			}
		default:
			if err != nil {
				t.Errorf("Update %d: %v", i, err)
			}
		}
	}
	g.expect(t, 3, 1)
}

// TestUpdateCarriedStale: another process writes while the carrying
// write is on its way; the write is answered 412, and every Update derives
// again on the fresh state, none of them lost or doubled.
func TestUpdateCarriedStale(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	get, put := newDoor(), newDoor()
	holdFirst(g, get, &put, nil)
	c := New()
	wait := startUpdates(t, c, g, get.held, []func(*counterDoc) error{increment, increment, increment, increment})
	close(get.release)
	<-put.held
	g.api.PutDocument("d", `{"title":"t","count":100,"other":"process"}`)
	close(put.release)
	_, errs := wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
	}
	g.expect(t, 104, 0)
}

// TestUpdateCarriedRefused: the carrying write is refused (400) because of
// one rider's change; each Update goes on alone, and only that one fails.
func TestUpdateCarriedRefused(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	get := newDoor()
	release, held := get.release, get.held
	holdFirst(g, get, nil, func(method string, _ int, body string) gateAction {
		if method == http.MethodPut && strings.Contains(body, `"title":"bad"`) {
			return gateAction{refuse: http.StatusBadRequest}
		}
		return gateAction{}
	})
	c := New()
	bad := func(d *counterDoc) error { d.Title = "bad"; return nil }
	wait := startUpdates(t, c, g, held, []func(*counterDoc) error{increment, increment, bad, increment})
	close(release)
	_, errs := wait()
	for i, err := range errs {
		if i == 2 {
			if err == nil || !strings.Contains(err.Error(), "answered 400") {
				t.Errorf("Update 2: %v, want the server's 400", err)
			}
		} else if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
	}
	g.expect(t, 3, 0)
}

// TestUpdateCarriedAnswerLost: the carrying write is applied and its
// answer lost; the transport sends it again and is answered 412. No
// Update derives again (that could apply its change twice): each returns
// an error saying its fate is unknown, and the document holds every change
// once.
func TestUpdateCarriedAnswerLost(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	get := newDoor()
	release, held := get.release, get.held
	holdFirst(g, get, nil, func(method string, n int, _ string) gateAction {
		return gateAction{lose: method == http.MethodPut && n == 1}
	})
	c := New()
	wait := startUpdates(t, c, g, held, []func(*counterDoc) error{increment, increment, increment})
	close(release)
	_, errs := wait()
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "may have been applied") && !strings.Contains(err.Error(), "is unknown") {
			t.Errorf("Update %d: %v, want an error saying its fate is unknown", i, err)
		}
	}
	g.expect(t, 3, 0)
}

// TestUpdateCarrierCancelled: the caller of the Update that carries others
// cancels while the write is on its way; the write goes on, for the others.
func TestUpdateCarrierCancelled(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	get, put := newDoor(), newDoor()
	holdFirst(g, get, &put, nil)
	release, held, putHeld, putRelease := get.release, get.held, put.held, put.release
	c := New()
	ctx, cancel := context.WithCancel(context.Background())
	var firstErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, firstErr = Update(ctx, c, g.url(), increment)
	}()
	<-held
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := Update(context.Background(), c, g.url(), increment)
			errs <- err
		}()
	}
	waitRiders(t, c, g.url(), 2)
	close(release)
	<-putHeld
	cancel()
	close(putRelease)
	<-done
	if firstErr != nil {
		t.Errorf("carrying Update: %v", firstErr)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("carried Update: %v", err)
		}
	}
	g.expect(t, 3, 1)
}

// TestUpdateRiderCancelledWhileDerived: a rider's mutate runs, on the
// carried document, while the rider's caller cancels. The rider's Update
// returns only once its mutate has returned (mutate never outlives the
// call), and the change it derived travels with the carrying write.
func TestUpdateRiderCancelledWhileDerived(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	release, held := holdFirstGET(g)
	c := New()
	first := make(chan error, 1)
	go func() {
		_, err := Update(context.Background(), c, g.url(), increment)
		first <- err
	}()
	<-held
	inMutate, unblock := make(chan struct{}), make(chan struct{})
	var mutateDone atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	riderDone := make(chan error, 1)
	go func() {
		_, err := Update(ctx, c, g.url(), func(d *counterDoc) error {
			close(inMutate)
			<-unblock
			d.Count += 10
			mutateDone.Store(true)
			return nil
		})
		if !mutateDone.Load() {
			err = errors.New("Update returned while its mutate was running")
		}
		riderDone <- err
	}()
	waitRiders(t, c, g.url(), 1)
	close(release)
	<-inMutate
	cancel()
	select {
	case err := <-riderDone:
		t.Fatalf("the rider's Update returned (%v) while its mutate ran", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(unblock)
	if err := <-riderDone; !errors.Is(err, context.Canceled) {
		t.Errorf("rider: %v, want context.Canceled", err)
	}
	if err := <-first; err != nil {
		t.Errorf("carrying Update: %v", err)
	}
	// The rider's change travelled with the carrying write (its caller
	// cancelled after it was derived, as a write cancelled in flight).
	g.expect(t, 11, 0)
}
