package conflict

// Regression tests from a review of Updates travelling together and of
// lost answers (each failed at ae89e43 and is fixed since). Each test
// states the property it checks.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestReviewReplayOnTransportRetryCounted: a keyed PUT (the rule is
// Idempotent) is refused 503 (not handled: not "lost"); the transport
// retry is applied and its answer lost on a reused connection, so
// net/http sends it again on its own; that re-send is answered 412.
// countWrites must see the second write of the retried try (onRetry hands
// the retry the write-counting trace): otherwise the 412 is taken as
// "stale, never applied", Update calls mutate again, and the increment
// lands twice.
func TestReviewReplayOnTransportRetryCounted(t *testing.T) {
	t.Parallel()
	f := newProbeFront(t, func(m string, n int) probeAction {
		switch {
		case m == http.MethodPut && n == 1:
			return probeFail // 503, Retry-After: 0: nothing committed
		case m == http.MethodPut && n == 2:
			return probeDrop // committed, answer lost: net/http re-sends
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

// TestReviewCarriedLostThen429: the write carrying three Updates is
// applied and its answer lost; every transport retry is answered 429
// (rate limited: not handled), so c.Do returns the last 429. The first
// send may have been applied, so the carried Updates' fate is unknown:
// told "not applied" instead, every Update would derive again, and each
// increment land twice.
func TestReviewCarriedLostThen429(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	get := newDoor()
	holdFirst(g, get, nil, func(method string, n int, _ string) gateAction {
		switch {
		case method == http.MethodPut && n == 1:
			return gateAction{lose: true}
		case method == http.MethodPut && n <= 4: // the three transport retries
			return gateAction{refuse: http.StatusTooManyRequests}
		}
		return gateAction{}
	})
	c := New(WithLimits(Limits{BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}))
	wait := startUpdates(t, c, g, get.held, []func(*counterDoc) error{increment, increment, increment})
	close(get.release)
	_, errs := wait()
	doc, _, _ := g.api.Document("d")
	count, _ := decode(t, string(doc))["count"].(float64)
	ok := 0
	for i, err := range errs {
		t.Logf("Update %d: %v", i, err)
		if err == nil {
			ok++
		}
	}
	if count > 3 {
		t.Errorf("count %v after 3 increments (%d reported done): a carried change was applied twice", count, ok)
	}
}

// TestReviewCarried409FailsOne: the carrying write is refused 409 because
// of one rider's change (a conflict the server does not call stale). As
// the Update doc says, each Update goes on as if never carried, and only
// that one fails (doc.go: "one caller's conflict or invalid change fails
// that caller only"); c.Do turns the 409 into an *Error, which must not
// read as "fate unknown" for the others.
func TestReviewCarried409FailsOne(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	get := newDoor()
	holdFirst(g, get, nil, func(method string, _ int, body string) gateAction {
		if method == http.MethodPut && strings.Contains(body, `"title":"bad"`) {
			return gateAction{refuse: http.StatusConflict}
		}
		return gateAction{}
	})
	c := New()
	bad := func(d *counterDoc) error { d.Title = "bad"; return nil }
	wait := startUpdates(t, c, g, get.held, []func(*counterDoc) error{increment, increment, bad, increment})
	close(get.release)
	_, errs := wait()
	for i, err := range errs {
		if i == 2 {
			if err == nil {
				t.Errorf("Update 2 (bad): nil error, want the server's 409")
			}
			continue
		}
		if err != nil {
			t.Errorf("Update %d: %v; want success: only the bad change was refused", i, err)
		}
	}
	doc, _, _ := g.api.Document("d")
	t.Logf("doc %s, %d PUTs", doc, g.puts.Load())
}

// TestReviewRiderGoexit: a rider's mutate that calls runtime.Goexit (as
// t.FailNow / require.* do inside a test's mutate) ends its own caller's
// goroutine, and only that one: the holder, which handed it the document,
// and the other rider go on, and their changes land, once each.
func TestReviewRiderGoexit(t *testing.T) {
	t.Parallel()
	g := newGatedAPI(t, `{"title":"t","count":0}`)
	release, held := holdFirstGET(g)
	c := New(WithLimits(Limits{MaxElapsed: 2 * time.Second}))
	mutates := []func(*counterDoc) error{
		increment,
		func(*counterDoc) error { runtime.Goexit(); return nil },
		increment,
	}
	done := make([]chan struct{}, len(mutates))
	errs := make([]error, len(mutates))
	returned := make([]bool, len(mutates))
	for i, m := range mutates {
		done[i] = make(chan struct{})
		go func() {
			defer close(done[i]) // runs on Goexit too
			_, errs[i] = Update(context.Background(), c, g.url(), m)
			returned[i] = true
		}()
		if i == 0 {
			<-held
		}
	}
	waitRiders(t, c, g.url(), len(mutates)-1)
	close(release)
	timeout := time.After(6 * time.Second) // well past MaxElapsed
	for i := range done {
		select {
		case <-done[i]:
		case <-timeout:
			t.Fatalf("Update %d never returned (blocked past its deadline)", i)
		}
	}
	for i := range mutates {
		if i == 1 {
			if returned[i] {
				t.Errorf("Update 1 returned (%v): its mutate's Goexit should have ended its goroutine", errs[i])
			}
			continue
		}
		if !returned[i] || errs[i] != nil {
			t.Errorf("Update %d: returned %v, error %v; want success: another's Goexit ends only its own goroutine", i, returned[i], errs[i])
		}
	}
	g.expect(t, 2, 1) // the holder's and the other rider's, in one PUT
}

// TestReviewClientWins503: a ClientWins PUT (a whole replacement) is
// refused 503 (not handled) and its transport retry 412 (another process
// wrote). Nothing of it was applied (a 503 says so). The current state
// holds every member it sets but also members it removes; the write must
// be sent, not reported as Overwrote on the strength of the retry alone
// (landed's holds() check is for a write whose answer was lost).
func TestReviewClientWins503(t *testing.T) {
	t.Parallel()
	f := newProbeFront(t, func(m string, n int) probeAction {
		if m == http.MethodPut && n == 1 {
			return probeFail
		}
		return probePass
	})
	c := New(WithRule("PUT /documents/{id}", Rule{Resolve: ClientWins}))
	f.api.PutDocument("d", `{"a":"x","b":"x","c":"x"}`)
	_, etag := probeRead(t, c, f.url("d"))
	f.api.PutDocument("d", `{"a":"y","b":"x","c":"x"}`) // another process
	resp, body, err := probeWrite(context.Background(), c, http.MethodPut, f.url("d"), etag, `{"a":"y","b":"x"}`)
	doc := probeDoc(t, f.api, "d")
	if err != nil {
		t.Logf("err %v (doc %v)", err, doc)
		return
	}
	out := ResultOf(resp).Outcome
	t.Logf("outcome %v, body %s, doc %v, commits %d", out, body, doc, f.api.Stats().Commits)
	if _, has := doc["c"]; has && resp.StatusCode/100 == 2 {
		t.Errorf("outcome %v, status %d, but the server holds %v: the overwrite (which removes c) was never applied", out, resp.StatusCode, doc)
	}
}

// TestReviewCallerTraceComposed: a caller's own ClientTrace on a keyed
// write (every POST carries a key) still fires: countWrites composes with
// it instead of replacing it.
func TestReviewCallerTraceComposed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	var wrote, got atomic.Int32
	trace := &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Add(1) },
		GotConn:      func(httptrace.GotConnInfo) { got.Add(1) },
	}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/x", strings.NewReader(`{}`))
	resp, err := New().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if wrote.Load() != 1 || got.Load() != 1 {
		t.Errorf("caller's trace: WroteRequest %d, GotConn %d; want 1, 1", wrote.Load(), got.Load())
	}
}

var _ = errors.New
