package journal

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Discard marks a pending intent as Failed without sending it, with
// reason, so that Replay no longer sends it (and later writes to its URL
// are no longer blocked by it).
func (j *Journal) Discard(ctx context.Context, id, reason string) error {
	if err := j.store.Done(ctx, id, Outcome{State: Failed, Result: "discarded", Reason: reason, Time: time.Now().UTC()}); err != nil {
		return err
	}
	j.mu.Lock()
	delete(j.index, id)
	j.mu.Unlock()
	return nil
}

// Replay sends every pending intent again, with its own idempotency key and
// base, through the client's normal recoveries: a stale write is merged
// against its recorded base, a create that went through is adopted or
// answered from the server's idempotency record, a key still in flight is
// waited out. Writes to one URL are sent one after another in the order
// they were made; a write whose predecessor stays pending is not sent
// (ErrBlocked). Different URLs are sent to concurrently
// ([WithReplayConcurrency]).
//
// Replay returns one Report per pending intent, in Seq order, whatever
// became of it. Its error is for the store only: a failure to list the
// pending intents.
func (j *Journal) Replay(ctx context.Context) ([]Report, error) {
	if j.isClosed() {
		return nil, ErrClosed
	}
	recs, err := j.store.Pending(ctx)
	if err != nil {
		return nil, err
	}
	reports := make([]Report, len(recs))
	var groups [][]int // indexes into recs, by URL, in order of first intent
	byURL := map[string]int{}
	j.mu.Lock()
	for i := range recs {
		if _, ok := j.index[recs[i].ID]; !ok {
			j.index[recs[i].ID] = &recs[i]
		}
		key := j.cfg.order(&recs[i])
		g, ok := byURL[key]
		if !ok {
			g = len(groups)
			byURL[key] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	j.mu.Unlock()

	work := make(chan []int)
	var wg sync.WaitGroup
	for w := 0; w < min(j.cfg.workers, len(groups)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range work {
				j.replayURL(ctx, recs, g, reports)
			}
		}()
	}
	for _, g := range groups {
		work <- g
	}
	close(work)
	wg.Wait()
	return reports, nil
}

// replayURL replays the intents on one URL, in order.
func (j *Journal) replayURL(ctx context.Context, recs []Record, g []int, reports []Report) {
	var blocked error
	var unlock func()
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	for _, i := range g {
		rec := &recs[i]
		if blocked == nil && unlock == nil {
			var err error
			if unlock, err = j.lockURL(ctx, j.cfg.order(rec)); err != nil {
				blocked = err
			}
		}
		if blocked != nil {
			reports[i] = Report{Intent: *rec, State: Pending, Err: blocked}
			continue
		}
		resp, rep := j.send(ctx, rec, nil)
		drainClose(resp)
		reports[i] = rep
		if rep.State == Pending {
			// Left pending, or claimed by another replica that is sending
			// it: a later write to the URL sent now would land before it.
			blocked = fmt.Errorf("%w: intent %s: %w", ErrBlocked, rec.ID, rep.Err)
		}
	}
}

// lockURL takes the lock of one URL, which orders the sends to it.
func (j *Journal) lockURL(ctx context.Context, u string) (func(), error) {
	j.mu.Lock()
	l := j.urls[u]
	if l == nil {
		l = &urlLock{ch: make(chan struct{}, 1)}
		j.urls[u] = l
	}
	l.refs++
	j.mu.Unlock()
	release := func() {
		j.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(j.urls, u)
		}
		j.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

func (j *Journal) track(rec *Record) {
	r := *rec
	j.mu.Lock()
	j.index[r.ID] = &r
	j.mu.Unlock()
}

func (j *Journal) isClosed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}
