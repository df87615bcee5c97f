package conflict

import (
	"errors"
	"time"

	"github.com/go-conflict/conflict/internal/retry"
)

var errNoTime = errors.New("the total time for recovery is spent")

// wait waits for the server's Retry-After (capped) or a jittered backoff,
// then lets the identical request, with the same key, be sent again: the
// recovery for an idempotency key in use and a locked resource.
func (st *call) wait(cf *Conflict) *halt {
	if why := st.canResend(); why != nil {
		return why
	}
	l := &st.c.limits
	d := min(cf.RetryAfter, l.MaxWait)
	if d <= 0 {
		d = min(retry.Backoff(l.BackoffMin, l.BackoffMax, st.waits), l.MaxWait) // MaxWait caps every wait
	}
	if why := st.pause(cf, d); why != nil {
		return why
	}
	st.emit(Event{Step: StepResend, Kind: cf.Kind})
	return nil
}

// pause waits for d, within the call's time limit and context.
func (st *call) pause(cf *Conflict, d time.Duration) *halt {
	if time.Now().Add(d).After(st.deadline()) {
		return &halt{reason: ErrAttemptsExhausted, err: errNoTime}
	}
	st.waits++
	st.emit(Event{Step: StepWait, Kind: cf.Kind, Wait: d})
	if err := st.c.cfg.wait(st.ctx, d); err != nil {
		return &halt{reason: err}
	}
	return nil
}
