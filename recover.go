package conflict

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-conflict/conflict/internal/retry"
)

// call is the state of one call of Do or RoundTrip. It lives on the calling
// goroutine only.
type call struct {
	// The caller's context, with the call itself as the value the
	// transport asks for its Permission (see Value): the call is the
	// context of every request it sends, at no extra allocation.
	context.Context
	id        uint64
	c         *Client
	cfg       *config
	orig      *http.Request // the caller's, never modified
	tmpl      *http.Request // what the next send is built from
	rule      *rule
	body      body
	keyHeader string
	mayRetry  bool
	deadline  time.Time
	waits     int
	merges    int
	stales    int    // stale-version conflicts met
	base      []byte // the base of the next merge, once one merge was sent
	res       Result
	// The last failed try the transport may retry, for events.
	failStatus int
	failErr    error
	failAt     time.Time
	retried    bool
}

// Value returns the call for the transport's Permission key, and otherwise
// what the caller's context holds.
func (st *call) Value(key any) any {
	if retry.IsPermissionKey(key) {
		return st
	}
	return st.Context.Value(key)
}

// MayRetry tells the transport whether the request in flight may be sent
// again.
func (st *call) MayRetry() bool { return st.mayRetry }

// stop says why recovery stops.
type stop struct {
	reason, err        error
	base, ours, theirs []byte
}

var (
	errNoMerge     = errors.New("the endpoint has no merge function")
	errManual      = errors.New("the endpoint resolves stale versions manually")
	errStaleCreate = errors.New("a create cannot be stale")
	errNotCreate   = errors.New("only a create can adopt an existing resource")
	errNotFound    = errors.New("the existing resource cannot be located")
	errForeign     = errors.New("the existing resource is not the one this request meant to create")
	errCrossOrigin = errors.New("the resource is on another origin; it is not followed")
	errWeakETag    = errors.New("the server gave a weak ETag, which If-Match never matches")
	errNoVersion   = errors.New("the current representation has no version")
	errNoLimit     = errors.New("the total time for recovery is spent")
)

func (c *Client) do(req *http.Request, passthrough bool) (*http.Response, error) {
	if req == nil || req.URL == nil {
		if req != nil && req.Body != nil {
			req.Body.Close()
		}
		return nil, errors.New("conflict: nil request or URL")
	}
	st := &call{c: c, cfg: &c.cfg, orig: req, id: c.seq.Add(1)}
	if c.rules.n > 0 {
		st.rule = c.rules.match(req)
	}
	st.Context = req.Context()
	b, err := replayBodyOf(req, c.cfg.maxBodyBuffer)
	if err != nil {
		return nil, fmt.Errorf("conflict: %s %s: reading the request body: %w", req.Method, redact(req.URL), err)
	}
	st.body = b
	st.tmpl = req.WithContext(st)
	if b.bytes != nil {
		st.tmpl.ContentLength = int64(len(b.bytes)) // buffered: the length is known
	}
	if err := st.attachKey(); err != nil {
		b.close()
		return nil, err
	}
	st.deadline = time.Now().Add(st.maxElapsed())
	return st.run(passthrough)
}

func (st *call) maxAttempts() int {
	if st.rule != nil && st.rule.MaxAttempts > 0 {
		return st.rule.MaxAttempts
	}
	return st.cfg.maxAttempts
}

func (st *call) maxElapsed() time.Duration {
	if st.rule != nil && st.rule.MaxElapsed > 0 {
		return st.rule.MaxElapsed
	}
	return st.cfg.maxElapsed
}

// attachKey gives a create its idempotency key, fixed before the first send.
func (st *call) attachKey() error {
	if !wantsKey(st.tmpl.Method, st.rule) {
		return nil
	}
	name := st.cfg.keyHeader
	if st.rule != nil && st.rule.IdempotencyHeader != "" {
		name = st.rule.IdempotencyHeader
	}
	st.keyHeader = name
	if v := st.tmpl.Header.Get(name); v != "" {
		key := parseKey(v)
		if err := validateKey(key); err != nil {
			return err
		}
		st.useKey(key) // the caller's header goes out exactly as written
		return nil
	}
	key, _ := st.Value(keyCtx{}).(string)
	if key != "" {
		if err := validateKey(key); err != nil {
			return err
		}
	} else {
		var err error
		if key, err = newKey(); err != nil {
			return err
		}
	}
	st.setKeyHeader(key)
	return nil
}

func (st *call) useKey(key string) {
	st.res.IdempotencyKey = key
	st.res.Keys = append(st.res.Keys, key)
}

func (st *call) setKeyHeader(key string) {
	h := st.tmpl.Header.Clone()
	if h == nil {
		h = make(http.Header)
	}
	h.Set(st.keyHeader, formatKey(key, st.cfg.keyFormat))
	st.tmpl.Header = h
	st.useKey(key)
}

// run is the recovery loop: send, classify, recover or stop.
func (st *call) run(passthrough bool) (*http.Response, error) {
	for {
		resp, err := st.send(st.tmpl)
		if err != nil {
			return nil, err
		}
		cf := st.classify(resp)
		if cf == nil {
			if st.res.Outcome == Passed {
				st.res.Outcome = st.outcomeOf(resp)
			}
			st.remember(resp)
			st.done(resp)
			return resp, nil
		}
		st.res.Conflict = cf
		st.emit(Event{Step: StepConflict, Kind: cf.Kind, Reason: cf.Reason, Status: cf.Status})
		final, why := st.recover(resp, cf)
		if why != nil {
			return st.abort(resp, cf, why, passthrough)
		}
		drain(resp)
		if final != nil {
			st.done(final)
			return final, nil
		}
	}
}

// send sends one attempt built from tmpl.
func (st *call) send(tmpl *http.Request) (*http.Response, error) {
	if err := st.Err(); err != nil {
		st.body.close()
		return nil, err
	}
	st.res.Attempts++
	// tmpl itself is sent: nothing else uses it until the response is
	// drained, and each send sets its body afresh.
	out := tmpl
	switch {
	case st.body.once != nil:
		out.Body, out.GetBody = st.body.once, nil
	case st.body.first != nil:
		out.Body, out.GetBody = st.body.first, st.body.get
		st.body.first = nil
	case st.body.get != nil:
		b, err := st.body.get()
		if err != nil {
			return nil, fmt.Errorf("conflict: %s %s: GetBody: %w", out.Method, redact(out.URL), err)
		}
		out.Body, out.GetBody = b, st.body.get
	default:
		out.Body, out.GetBody, out.ContentLength = nil, nil, 0
	}
	st.mayRetry = st.body.once == nil && (isIdempotent(out.Method) || hasKeyHeader(out.Header, st.keyHeader))
	return st.c.sender.Send(out)
}

// isIdempotent reports whether RFC 9110 makes method idempotent.
func isIdempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func hasKeyHeader(h http.Header, name string) bool {
	return name != "" && h.Get(name) != ""
}

// classify classifies resp if its status can be a conflict.
func (st *call) classify(resp *http.Response) *Conflict {
	forced := false
	if st.rule != nil {
		for _, s := range st.rule.Statuses {
			forced = forced || s == resp.StatusCode
		}
	}
	switch resp.StatusCode {
	case http.StatusConflict, http.StatusPreconditionFailed, http.StatusLocked, http.StatusPreconditionRequired,
		http.StatusBadRequest, http.StatusUnprocessableEntity:
	default:
		if !forced {
			return nil
		}
	}
	cf, _ := st.cfg.classifier.classify(resp, forced)
	return cf
}

func (st *call) outcomeOf(resp *http.Response) Outcome {
	switch {
	case st.merges > 0 && resp.StatusCode/100 == 2:
		if st.rule != nil && st.rule.Resolve == ClientWins {
			return Overwrote
		}
		return Merged
	case resp.StatusCode == http.StatusCreated, resp.StatusCode/100 == 2 && st.orig.Method == http.MethodPost:
		return Created
	case resp.StatusCode/100 == 2 && st.orig.Method != http.MethodGet && st.orig.Method != http.MethodHead:
		return Updated
	}
	return Passed
}

// strategyFor picks the recovery for a kind.
func strategyFor(k Kind) Strategy {
	switch k {
	case StaleVersion:
		return RefreshMerge
	case Duplicate:
		return Adopt
	case IdempotencyInUse, Locked:
		return Wait
	}
	return Abort
}

// recover runs the recovery for cf. It returns a final response, a reason
// to stop, or neither: send st.tmpl again.
func (st *call) recover(resp *http.Response, cf *Conflict) (*http.Response, *stop) {
	switch strategyFor(cf.Kind) {
	case Wait:
		return nil, st.wait(cf)
	case RefreshMerge:
		return st.refreshMerge(resp, cf)
	case Adopt:
		return st.adopt(resp, cf)
	}
	return nil, &stop{reason: ErrUnrecoverable}
}

// canResend checks what every re-send needs.
func (st *call) canResend() *stop {
	if !st.body.replayable() {
		return &stop{reason: ErrNotReplayable, err: fmt.Errorf("the request body was larger than %d bytes and had no GetBody", st.cfg.maxBodyBuffer)}
	}
	if st.res.Attempts >= st.maxAttempts() {
		return &stop{reason: ErrAttemptsExhausted}
	}
	return nil
}

// wait waits for the server's Retry-After (capped) or a jittered backoff,
// then lets the identical request, with the same key, be sent again.
func (st *call) wait(cf *Conflict) *stop {
	if why := st.canResend(); why != nil {
		return why
	}
	d := min(cf.RetryAfter, st.cfg.maxWait)
	if d <= 0 {
		d = retry.Backoff(st.cfg.backoffMin, st.cfg.backoffMax, st.waits)
	}
	if why := st.pause(cf, d); why != nil {
		return why
	}
	st.emit(Event{Step: StepResend, Kind: cf.Kind, Strategy: Wait})
	return nil
}

// pause waits for d, within the call's time limit and context.
func (st *call) pause(cf *Conflict, d time.Duration) *stop {
	if time.Now().Add(d).After(st.deadline) {
		return &stop{reason: ErrAttemptsExhausted, err: errNoLimit}
	}
	st.waits++
	st.emit(Event{Step: StepWait, Kind: cf.Kind, Strategy: strategyFor(cf.Kind), Wait: d})
	if err := st.cfg.wait(st, d); err != nil {
		return &stop{reason: err}
	}
	return nil
}

// abort stops recovery with an *Error.
func (st *call) abort(resp *http.Response, cf *Conflict, why *stop, passthrough bool) (*http.Response, error) {
	e := &Error{
		Method:         st.orig.Method,
		URL:            redact(st.orig.URL),
		Conflict:       cf,
		Attempts:       st.res.Attempts,
		IdempotencyKey: st.res.IdempotencyKey,
		Keys:           append([]string(nil), st.res.Keys...),
		Reason:         why.reason,
		Err:            why.err,
		Base:           why.base,
		Ours:           why.ours,
		Theirs:         why.theirs,
	}
	st.res.Outcome, st.res.Err = Aborted, e
	st.emit(Event{Step: StepAbort, Kind: cf.Kind, Reason: cf.Reason, Strategy: strategyFor(cf.Kind), Status: cf.Status, Err: e, Outcome: Aborted})
	ctxDone := errors.Is(why.reason, context.Canceled) || errors.Is(why.reason, context.DeadlineExceeded)
	if passthrough && !ctxDone {
		return resp, nil // the server's own answer, body intact
	}
	drain(resp)
	return nil, e
}

// done reports the end of a call that recovered from something.
func (st *call) done(resp *http.Response) {
	if st.res.Conflict != nil || st.retried {
		st.emit(Event{Step: StepDone, Status: resp.StatusCode, Outcome: st.res.Outcome})
	}
}

func (st *call) emit(ev Event) {
	if st.cfg.hook == nil && st.cfg.logger == nil {
		return
	}
	ev.Call = st.id
	ev.Method = st.orig.Method
	ev.URL = redact(st.orig.URL)
	ev.Attempt = st.res.Attempts
	ev.IdempotencyKey = st.res.IdempotencyKey
	st.cfg.emit(st, ev)
}

// Failed records a failed try that the transport may retry.
func (st *call) Failed(status int, err error) {
	st.failStatus, st.failErr, st.failAt = status, err, time.Now()
}

// Retrying reports a transport retry, with what failed and how long the
// transport waited.
func (st *call) Retrying(n int) {
	st.retried = true
	st.emit(Event{Step: StepTransportRetry, Status: st.failStatus, Err: st.failErr, Wait: time.Since(st.failAt)})
}
