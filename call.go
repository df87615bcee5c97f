package conflict

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/go-conflict/conflict/internal/jsonv"
	"github.com/go-conflict/conflict/internal/retry"
)

// call is the state of one call of Do or RoundTrip: request, rule, send,
// classify, recover, result. It lives on the calling goroutine only, and
// nothing that outlives the call refers to it.
type call struct {
	c           *Client
	id          uint64 // the CallID of its events, 0 until the first
	passthrough bool   // through RoundTrip: no redirects, an abort returns the response
	noRedirects bool   // the library's own request: no redirect is followed
	orig        *http.Request
	tmpl        *http.Request // what the next send is built from
	rule        *rule
	body        body
	keyHeader   string
	start       time.Time
	sentAt      time.Time  // when the last attempt was sent
	bodyCut     bool       // the deadline closed the last conflict body while it was read
	out         *resultCtx // the context of every request sent: it carries the Result
	ctx         context.Context
	// Once recovery starts, ctx is bounded by the call's deadline: stop
	// disarms the deadline and release lets the context go.
	stop     func() bool
	release  context.CancelFunc
	tn       turn     // the resource's turn, for a queued write (tn.s is nil otherwise)
	sentSeq  uint64   // the client's clock before the last send, for a queued write
	riders   []*rider // the waiting writes this one carries (see fold)
	credsFP  string   // see creds
	credsSet bool
	own      *own // this write alone, while it carries others
	waits    int
	merges   int
	// uncertain: a write that carried this one had an unknown outcome.
	uncertain bool
	// writes counts the request writes of the current try, when net/http
	// may send the request again on its own (see countWrites).
	writes *writeCounter
	stales int
	base   []byte // the base of the next merge, once one merge was sent
	// intent is the caller's own write and its base while what is sent is
	// that write merged onto a state the client knew (mergeOntoLast): a
	// refresh merges the intent itself onto the fresh state, which follows
	// its base whatever the known state was.
	intent *intent
}

// An intent is a write as the caller built it, and the base it was built on.
type intent struct{ base, ours []byte }

// sending is the request a call sends (a shallow copy of the caller's, as
// http.Request.WithContext makes) and its context.
type sending struct {
	req http.Request
	out resultCtx
}

// halt says why recovery stops.
type halt struct {
	reason, err        error
	base, ours, theirs []byte
}

// How a call sends: as Do (the caller's client follows redirects), as
// RoundTrip (the outer client does), or as the library's own request
// (Update's reads and writes), which follows none: a redirected read is
// not the resource's, and a write re-sent elsewhere is not this one.
const (
	sendCaller = iota
	sendPassthrough
	sendOwn
)

func (c *Client) do(req *http.Request, mode int) (*http.Response, error) {
	passthrough := mode == sendPassthrough
	if req == nil || req.URL == nil {
		if req != nil && req.Body != nil {
			req.Body.Close()
		}
		return nil, errors.New("conflict: nil request or URL")
	}
	st := &call{c: c, passthrough: passthrough, noRedirects: mode == sendOwn, orig: req}
	st.rule = c.rules.match(req)
	b, err := replayBodyOf(req, c.limits.MaxBodyBuffer)
	if err != nil {
		return nil, fmt.Errorf("conflict: %s %s: reading the request body: %w", req.Method, redact(req.URL), err)
	}
	st.body = b
	// The request sent and its context, which carries the Result, are one
	// allocation: a response keeps both alive, and nothing else of the call.
	sent := &sending{out: resultCtx{Context: req.Context()}}
	sent.req = *req.WithContext(&sent.out)
	st.out, st.ctx, st.tmpl = &sent.out, &sent.out, &sent.req
	if b.bytes != nil {
		st.tmpl.ContentLength = int64(len(b.bytes)) // buffered: the length is known
	}
	if err := st.attachKey(); err != nil {
		b.close()
		return nil, err
	}
	if st.queued() {
		carried, err := c.queue.acquire(st.out, queueKey(req.URL), st.deadline(), st.asRider, &st.tn)
		if err != nil || carried != nil && carried.resp != nil {
			st.tn = turn{} // the turn was not had
		}
		if err != nil {
			b.close()
			return nil, err
		}
		if carried != nil && carried.resp != nil {
			return st.carriedBy(carried)
		}
		st.uncertain = carried == unknown
		defer st.tn.end()
		defer st.tell(unknown) // whatever happens, no rider is left waiting (runs before end)
		var known snapshot
		last := st.lastKnown(&known)
		st.mergeOntoLast(last)
		st.fold(last)
		resp, err := st.run()
		st.settle(resp) // before the turn ends: a rider takes the word first
		return resp, err
	}
	return st.run()
}

func (st *call) limits() (attempts int, elapsed time.Duration) {
	attempts, elapsed = st.c.limits.MaxAttempts, st.c.limits.MaxElapsed
	if st.rule != nil && st.rule.MaxAttempts > 0 {
		attempts = st.rule.MaxAttempts
	}
	if st.rule != nil && st.rule.MaxElapsed > 0 {
		elapsed = st.rule.MaxElapsed
	}
	return attempts, elapsed
}

func (st *call) deadline() time.Time {
	_, elapsed := st.limits()
	return st.begin().Add(elapsed)
}

// begin is when the call's time limit started: when it first needed one
// (its turn, a transport retry, a conflict), so that a call answered at
// once never reads the clock.
func (st *call) begin() time.Time {
	if st.start.IsZero() {
		st.start = time.Now()
	}
	return st.start
}

// bound makes every later send, read and wait of the call end by its
// deadline.
func (st *call) bound() {
	if st.release != nil {
		return
	}
	ctx, cancel := context.WithCancel(st.out)
	t := time.AfterFunc(time.Until(st.deadline()), cancel)
	st.ctx, st.stop, st.release = ctx, t.Stop, cancel
}

// run is the recovery loop: send, classify, recover or stop.
func (st *call) run() (*http.Response, error) {
	for {
		resp, err := st.send()
		if err != nil {
			if st.tn.s != nil {
				st.tn.s.last = nil // the write may have committed
			}
			st.finish()
			err = redactErr(err) // a *url.Error names the URL, query included
			if ctxErr := st.ctxErr(); ctxErr != nil && !errors.Is(err, ctxErr) {
				err = fmt.Errorf("%w: %w", ctxErr, err)
			}
			return nil, err
		}
		cf := st.classify(resp)
		if st.own != nil && resp.StatusCode/100 != 2 {
			// The write carrying others was not accepted: each goes on
			// alone. A stale version is recovered for this caller's own
			// write (it was sent on the same version); anything else
			// refused (a 4xx, a conflict of another kind) may be another
			// caller's doing, and this caller's own write is sent alone.
			st.unfold(resp)
			refused := cf == nil && resp.StatusCode/100 == 4 || cf != nil && cf.Kind != StaleVersion
			if refused && st.sameResource(resp) && st.canResend() == nil {
				drain(resp)
				continue
			}
		}
		if !st.sameResource(resp) {
			// Redirected elsewhere by the caller's client: the answer is
			// not about the resource the request addressed, so it is no
			// evidence for a recovery, nor a base to remember.
			if cf == nil {
				return st.done(resp), nil
			}
			st.out.res.Conflict = cf
			return st.abort(resp, cf, &halt{reason: ErrUnrecoverable, err: errElsewhere})
		}
		if cf == nil {
			var check func([]byte) bool
			if st.c.rules.n > 0 && st.body.replayable() && st.orig.Method != http.MethodGet && st.orig.Method != http.MethodHead {
				// Run when the answer is first used as a base; copies keep
				// the call itself on the stack.
				b, limit, c, tmpl, r, rebuilt := st.body, st.c.limits.MaxBodyBuffer, st.c, st.tmpl, st.rule, st.base
				check = func(answer []byte) bool {
					b := b // a copy: b above is not addressed, and lives in the closure
					sent := b.sent(limit)
					base, _, ok := c.baseOf(tmpl, r, rebuilt, sent)
					return ok && answerShows(answer, base, sent)
				}
			}
			if st.orig.Method == http.MethodDelete && resp.StatusCode/100 == 2 {
				st.c.forget(st.tmpl.URL)
			}
			st.c.remember(st.orig, st.rule, resp, check, st.c.limits.MaxBodyBuffer)
			return st.done(resp), nil
		}
		st.out.res.Conflict = cf
		st.emitFor(resp, Event{Step: StepConflict, Kind: cf.Kind, Reason: cf.Reason, Status: cf.Status})
		final, why := st.recover(resp, cf)
		if why != nil {
			return st.abort(resp, cf, why)
		}
		if final != nil {
			// The end is reported before the conflict's response is closed,
			// so that a tracing transport's span for it still records.
			final = st.done(final)
			drain(resp)
			return final, nil
		}
		drain(resp)
	}
}

// ctxErr is the error of the call's context: the caller's, or the call's
// time limit, errTimeLimit (a context.DeadlineExceeded that says whose).
func (st *call) ctxErr() error {
	if err := st.out.Err(); err != nil {
		return err
	}
	if st.ctx.Err() != nil {
		return errTimeLimit
	}
	return nil
}

// errTimeLimit is the call's own time limit passing, told apart from the
// caller's context's deadline by its text; errors.Is matches
// context.DeadlineExceeded for both.
var errTimeLimit = fmt.Errorf("%w: the call's time limit (Limits.MaxElapsed) passed", context.DeadlineExceeded)

// send sends one attempt built from st.tmpl, with transport retries when it
// is safe to send again.
func (st *call) send() (*http.Response, error) {
	if err := st.ctxErr(); err != nil {
		st.body.close()
		return nil, err
	}
	st.out.res.Attempts++
	st.out.sends.Add(1)
	if st.out.res.Attempts == 1 {
		st.sentAt = st.start // zero unless the call waited its turn: the first send needs no clock
	} else {
		st.sentAt = time.Now()
	}
	if st.tn.s != nil {
		st.sentSeq = st.c.clock.Add(1)
	}
	out := st.tmpl
	if st.ctx != st.out {
		out = out.WithContext(st.ctx)
	}
	if st.c.hc.Jar != nil && !st.passthrough {
		// http.Client adds the jar's cookies to the request's own header.
		cp := *out
		cp.Header = out.Header.Clone()
		out = &cp
	}
	switch {
	case st.body.once != nil:
		out.Body, out.GetBody = st.body.once, nil
		st.body.once = nil
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
	mayRetry := out.GetBody != nil || out.Body == nil
	mayRetry = mayRetry && (isIdempotent(out.Method) || st.out.res.IdempotencyKey != "")
	st.writes = nil
	if replayedByTransport(out) {
		st.writes = newWriteCounter()
		out = out.WithContext(httptrace.WithClientTrace(out.Context(), &st.writes.trace))
	}
	resp, err := retry.Do(st.sender(st.out.res.Attempts > 1), out, st.policy(), mayRetry, st.onRetry)
	if st.writes.resent() {
		st.out.lost = true
	}
	return resp, err
}

// replayedByTransport reports whether net/http itself sends r again,
// unasked, when a reused connection fails after the request was written (a
// write that carries an Idempotency-Key or X-Idempotency-Key header), and
// whether that matters: for an update, an answer to the second write (a
// 412, say) says nothing of whether the first was applied. A create's
// recovery (adoption) needs no such count.
func replayedByTransport(r *http.Request) bool {
	switch r.Method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		return r.Header["Idempotency-Key"] != nil || r.Header["X-Idempotency-Key"] != nil
	}
	return false
}

// A writeCounter counts, through its trace, the writes of a request: more
// than one in a try means net/http sent it again.
type writeCounter struct {
	n     atomic.Int32
	trace httptrace.ClientTrace
}

func newWriteCounter() *writeCounter {
	w := new(writeCounter)
	w.trace.WroteRequest = func(httptrace.WroteRequestInfo) { w.n.Add(1) }
	return w
}

// resent reports whether the try now ending was written more than once,
// and starts the count of the next.
func (w *writeCounter) resent() bool { return w != nil && w.n.Swap(0) > 1 }

func (st *call) sender(resend bool) retry.SendFunc {
	switch {
	case st.passthrough:
		return st.c.transport.RoundTrip
	case st.noRedirects:
		return st.c.reader.Do
	case resend:
		return st.c.resend.Do
	}
	return st.c.hc.Do
}

func (st *call) policy() retry.Policy {
	l := &st.c.limits
	return retry.Policy{MaxRetries: l.TransportRetries, WaitMin: l.BackoffMin, WaitMax: l.BackoffMax, MaxRetryAfter: l.MaxWait}
}

// onRetry bounds the call before a transport retry and reports it; a retry
// whose wait would pass the deadline is not made.
func (st *call) onRetry(r retry.Retry) (context.Context, bool) {
	if time.Now().Add(r.Wait).After(st.deadline()) {
		return nil, false
	}
	st.bound()
	st.out.retried = true
	if st.writes.resent() || answerMayBeLost(r) {
		st.out.lost = true
	}
	st.out.sends.Add(1)
	st.emit(Event{Step: StepTransportRetry, Status: r.Status, Err: redactErr(r.Err), Wait: r.Wait})
	if st.writes != nil {
		// The retried request counts its writes too.
		return httptrace.WithClientTrace(st.ctx, &st.writes.trace), true
	}
	return st.ctx, true
}

// answerMayBeLost reports whether the failed try that r retries may have
// been applied: its request may have reached the server and its answer not
// the client. A connection that could not be made, a 503 or a 429 say the
// request was not handled.
func answerMayBeLost(r retry.Retry) bool {
	switch r.Status {
	case 0:
		var op *net.OpError
		var dns *net.DNSError
		return !(errors.As(r.Err, &op) && op.Op == "dial" || errors.As(r.Err, &dns))
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return false
	}
	return true
}

// isIdempotent reports whether RFC 9110 makes method idempotent.
func isIdempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// classify classifies resp if its status can be a conflict, reading its
// body no longer than the call's deadline allows.
func (st *call) classify(resp *http.Response) *Conflict {
	var kind Kind
	forced := false
	if st.rule != nil {
		kind, forced = st.rule.Statuses[resp.StatusCode]
	}
	switch resp.StatusCode {
	case http.StatusConflict, http.StatusPreconditionFailed, http.StatusLocked, http.StatusPreconditionRequired,
		http.StatusBadRequest, http.StatusUnprocessableEntity:
	default:
		if !forced {
			return nil
		}
	}
	// The read of the conflict body ends by the call's deadline (a body
	// that trickles in cannot hold the call); once the deadline has
	// passed, the read is bounded by its size alone.
	var cf *Conflict
	if left := time.Until(st.deadline()); left > 0 {
		body := resp.Body
		t := time.AfterFunc(left, func() { body.Close() })
		cf, _ = st.c.cfg.classifier.classify(resp, forced)
		st.bodyCut = !t.Stop()
	} else {
		cf, _ = st.c.cfg.classifier.classify(resp, forced)
	}
	if cf != nil && cf.Kind == Unknown && kind != Unknown {
		cf.Kind = kind // what this status means on this endpoint
	}
	return cf
}

// recover runs the recovery for cf. It returns a final response, a reason
// to stop, or neither: send st.tmpl again.
func (st *call) recover(resp *http.Response, cf *Conflict) (*http.Response, *halt) {
	st.bound()
	switch cf.Kind {
	case StaleVersion:
		return st.refreshMerge(resp, cf)
	case Duplicate:
		return st.adopt(resp, cf)
	case IdempotencyInUse, Locked:
		return nil, st.wait(cf)
	}
	return nil, &halt{reason: ErrUnrecoverable}
}

// canResend checks what every re-send needs.
func (st *call) canResend() *halt {
	if !st.body.replayable() {
		return &halt{reason: ErrNotReplayable, err: fmt.Errorf("the request body was larger than %d bytes and had no GetBody", st.c.limits.MaxBodyBuffer)}
	}
	if attempts, _ := st.limits(); st.out.res.Attempts >= attempts {
		return &halt{reason: ErrAttemptsExhausted}
	}
	return nil
}

// abort stops recovery with an *Error.
func (st *call) abort(resp *http.Response, cf *Conflict, why *halt) (*http.Response, error) {
	res := &st.out.res
	e := &Error{
		Method:         st.orig.Method,
		URL:            redact(st.orig.URL),
		Conflict:       cf,
		Attempts:       res.Attempts,
		IdempotencyKey: res.IdempotencyKey,
		Keys:           append([]string(nil), res.Keys...),
		Reason:         why.reason,
		Err:            redactErr(why.err),
		Base:           why.base,
		Ours:           why.ours,
		Theirs:         why.theirs,
	}
	if errors.Is(why.reason, context.Canceled) || errors.Is(why.reason, context.DeadlineExceeded) {
		e.Reason = st.ctxErr()
		if e.Reason == nil {
			e.Reason = why.reason
		}
	}
	e.lost = st.answerLost()
	res.Outcome, res.Err = Aborted, e
	if st.tn.s != nil {
		st.tn.s.last = nil // what the turn knew may be stale
	}
	st.emitFor(resp, Event{Step: StepAbort, Kind: cf.Kind, Reason: cf.Reason, Status: cf.Status, Err: e, Outcome: Aborted})
	ctxDone := errors.Is(e.Reason, context.Canceled) || errors.Is(e.Reason, context.DeadlineExceeded)
	if st.passthrough && !ctxDone && resp != nil && !st.bodyCut {
		st.finishWith(resp)
		return resp, nil // the server's own answer, body intact
	}
	drain(resp)
	st.finish()
	return nil, e
}

// done ends a call that returns resp.
func (st *call) done(resp *http.Response) *http.Response {
	res := &st.out.res
	if st.tn.s != nil {
		if st.release != nil {
			st.stop() // the deadline no longer applies to this response's body
		}
		if resp.StatusCode/100 == 2 && st.sameResource(resp) {
			st.tn.keep(resp, st.orig.Method, st.versions(), st.answerShows, st.creds(), st.ifMatch(), st.sentSeq, st.c.limits.MaxBodyBuffer)
		} else {
			st.tn.s.last = nil
		}
	}
	if res.Outcome == Sent && (res.Conflict != nil || st.merges > 0) && resp.StatusCode/100 == 2 {
		switch {
		case st.merges == 0:
			res.Outcome = Waited
		case st.rule != nil && st.rule.Resolve == ClientWins:
			res.Outcome = Overwrote
		default:
			res.Outcome = Merged
		}
	}
	if res.Conflict != nil || st.out.retried {
		kind := Unknown
		if res.Conflict != nil {
			kind = res.Conflict.Kind
		}
		st.emitFor(resp, Event{Step: StepDone, Kind: kind, Status: resp.StatusCode, Outcome: res.Outcome})
	}
	st.finishWith(resp)
	return resp
}

var errElsewhere = errors.New("the conflict came from another resource, after a redirect: it says nothing of this one")

// sameResource reports whether resp answers a request for the resource the
// call addressed: the same origin and escaped path.
func (st *call) sameResource(resp *http.Response) bool {
	if resp.Request == nil || resp.Request.URL == nil {
		return true
	}
	u := resp.Request.URL
	if u == st.tmpl.URL {
		return true // the request sent, not redirected
	}
	return sameOrigin(u, st.tmpl.URL) && u.EscapedPath() == st.tmpl.URL.EscapedPath()
}

// creds fingerprints the caller's credentials (see credentials), once.
func (st *call) creds() string {
	if !st.credsSet {
		st.credsFP, st.credsSet = credentials(st.orig.URL, st.orig.Header), true
	}
	return st.credsFP
}

// ifMatch is the If-Match of the last send, if it had one.
func (st *call) ifMatch() string {
	if vs := headerValues(st.tmpl.Header, "If-Match"); len(vs) == 1 {
		return vs[0]
	}
	return ""
}

// sentBody is the body of the last send, or nil.
func (st *call) sentBody() []byte { return st.body.sent(st.c.limits.MaxBodyBuffer) }

// answerShows reports whether answer, the representation the last send was
// answered with, is evidently the state that send left (see answerShows).
func (st *call) answerShows(answer []byte) bool {
	sent := st.sentBody()
	base, _, ok := st.baseFor(sent)
	return ok && answerShows(answer, base, sent)
}

// answerShows reports whether answer, the representation a write of sent
// onto base was answered with, is evidently the state that write left: a
// JSON object with every member sent has (not a summary such as
// {"ok":true}), in which every change sent makes to base is found (not the
// old state, nor another resource's). A server may set members of its own
// (a version, a timestamp); those the write did not change are its to set.
// A member set to null may be null or absent.
func answerShows(answer, base, sent []byte) bool {
	if sent == nil || base == nil {
		return false
	}
	docs := [3]parsed{parse(answer), parse(base), parse(sent)}
	defer func() {
		for i := range docs {
			docs[i].release()
		}
	}()
	a, b, s := &docs[0], &docs[1], &docs[2]
	return a.buf != nil && b.buf != nil && s.buf != nil &&
		a.v.Kind == jsonv.Object && s.v.Kind == jsonv.Object && shows(&a.v, &b.v, &s.v)
}

// shows reports whether a holds s's changes to b (b may be nil: all of s is
// a change), and every member of s, at every depth of nested objects.
func shows(a, b, s *jsonv.Value) bool {
	if s.Kind != jsonv.Object || a.Kind != jsonv.Object {
		return b != nil && jsonv.Equal(b, s, true) || jsonv.Equal(a, s, true)
	}
	if b != nil && b.Kind != jsonv.Object {
		b = nil
	}
	ax, bx, sx := jsonv.NewIndex(a), jsonv.NewIndex(b), jsonv.NewIndex(s)
	for i := range s.Kids {
		m := &s.Kids[i]
		av := valueOf(ax.Lookup(m.Key, i))
		if m.Value.Kind == jsonv.Null {
			if av != nil && av.Kind != jsonv.Null {
				return false // set to null, and there
			}
			continue
		}
		if av == nil {
			return false // not the whole representation
		}
		bv := valueOf(bx.Lookup(m.Key, i))
		if bv != nil && jsonv.Equal(bv, &m.Value, true) {
			continue // unchanged: the server's to set
		}
		if !shows(av, bv, &m.Value) {
			return false
		}
	}
	if b != nil {
		for i := range b.Kids {
			m := &b.Kids[i]
			if sx.Lookup(m.Key, i) == nil {
				if av := valueOf(ax.Lookup(m.Key, i)); av != nil && av.Kind != jsonv.Null {
					return false // removed, and still there
				}
			}
		}
	}
	return true
}

// finishWith releases what the call holds once resp's body is closed: the
// deadline no longer applies to a response handed to the caller.
func (st *call) finishWith(resp *http.Response) {
	if st.release == nil {
		return
	}
	st.stop()
	if resp.Body == nil {
		st.release()
		return
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: st.release}
}

func (st *call) finish() {
	if st.release != nil {
		st.stop()
		st.release()
	}
}

func (st *call) emit(ev Event) { st.emitFor(nil, ev) }

// emitFor reports ev about resp: the hook gets the context of the request
// that resp answers, which holds the span of that attempt when a tracing
// transport sent it; else the call's context.
func (st *call) emitFor(resp *http.Response, ev Event) {
	cfg := &st.c.cfg
	if cfg.hook == nil && cfg.logger == nil {
		return
	}
	if st.id == 0 {
		st.id = st.c.seq.Add(1) // numbered when first reported: most calls never are
	}
	ev.CallID = st.id
	ev.Method = st.orig.Method
	ev.URL = redact(st.orig.URL)
	ev.Attempt = st.out.res.Attempts
	ev.IdempotencyKey = st.out.res.IdempotencyKey
	ctx := context.Context(st.out)
	if resp != nil && resp.Request != nil {
		ctx = resp.Request.Context()
	}
	cfg.emit(ctx, ev)
}
