package conflict

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// resourceQueue lets the writes of one client to one resource go one at a
// time: a client's own writers then never make each other stale, and a
// write that is stale is refreshed and re-sent before the next is sent.
// Writers in other processes still contend; their conflicts are recovered
// as usual.
type resourceQueue struct {
	mu sync.Mutex
	m  map[string]*slot
}

type slot struct {
	ch   chan struct{} // holds a token while a write is under way
	refs int
}

// acquire waits for the resource's turn, until ctx is done or the deadline
// passes, and returns the function that ends the turn.
func (q *resourceQueue) acquire(ctx context.Context, key string, deadline time.Time) (func(), error) {
	q.mu.Lock()
	if q.m == nil {
		q.m = make(map[string]*slot)
	}
	s := q.m[key]
	if s == nil {
		s = &slot{ch: make(chan struct{}, 1)}
		q.m[key] = s
	}
	s.refs++
	q.mu.Unlock()
	release := func() {
		q.mu.Lock()
		s.refs--
		if s.refs == 0 {
			delete(q.m, key)
		}
		q.mu.Unlock()
	}
	end := func() { <-s.ch; release() }
	select {
	case s.ch <- struct{}{}:
		return end, nil
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case s.ch <- struct{}{}:
		return end, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	case <-t.C:
		release()
		return nil, errTurn
	}
}

// errTurn is returned when a write waited its resource's turn past the
// call's time limit.
var errTurn = fmt.Errorf("%w: waiting for this client's earlier writes to the resource", context.DeadlineExceeded)

// queueKey names the resource a request writes: its URL without user
// information or fragment.
func queueKey(u *url.URL) string {
	r := *u
	r.User, r.Fragment, r.RawFragment = nil, "", ""
	return r.String()
}

// queued reports whether a call's request waits its resource's turn: a
// write other than a create, to an endpoint that has a rule.
func (st *call) queued() bool {
	switch st.orig.Method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		return st.rule != nil && st.out.Value(updateKey{}) == nil
	}
	return false
}
