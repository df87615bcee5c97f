package conflict

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// A Step is one stage of a call's life, as reported in an [Event].
type Step int

// The steps of a call.
const (
	// StepConflict: a response was classified as a conflict
	// ("classified" in logs).
	StepConflict Step = iota + 1
	// StepRefresh: the current representation was read (or taken from the
	// conflict body, with Attempt unchanged and Status 0).
	StepRefresh
	// StepMerge: base, ours and theirs were merged: after a conflict, onto
	// the state an earlier write of the client left, or (with Kind
	// Unknown) with other writes waiting for the resource's turn, which
	// then travel in one request.
	StepMerge
	// StepWait: the call is about to wait for Wait.
	StepWait
	// StepResend: the request, rebuilt from fresh state, is about to be sent
	// again.
	StepResend
	// StepAdopt: an existing resource was adopted as the result of a create.
	StepAdopt
	// StepAbort: recovery stopped; Err says why.
	StepAbort
	// StepTransportRetry: a send is about to be retried after a connection
	// error, a 5xx or a 429 (Status and Err say which); Wait is how long the
	// transport waited.
	StepTransportRetry
	// StepDone: a call that met a conflict or a transport retry returns a
	// response; Outcome says what happened.
	StepDone
)

var stepNames = [...]string{"", "classified", "refresh", "merge", "wait", "resend", "adopt", "abort", "transport_retry", "done"}

// String returns the step's lowercase name.
func (s Step) String() string {
	if s <= 0 || int(s) >= len(stepNames) {
		return "step(?)"
	}
	return stepNames[s]
}

// An Event reports one step of one call to the hook set by [WithHook]. It
// never carries a request or response body; its URL has no user
// information and no query.
type Event struct {
	// Step is the stage reported.
	Step Step
	// CallID numbers the calls of one Client that report events from 1, in
	// the order of their first event, so that the events of concurrent
	// calls can be told apart.
	CallID uint64
	// Method and URL identify the call's request; the URL has no user
	// information and no query.
	Method string
	URL    string
	// Attempt is how many times the request was sent so far in this call.
	Attempt int
	// Kind and Reason are the conflict's kind and the server's reason code,
	// for steps that follow a conflict.
	Kind   Kind
	Reason string
	// Status is the HTTP status of the response the step is about, or 0.
	Status int
	// Wait is how long the call is about to wait (StepWait,
	// StepTransportRetry).
	Wait time.Duration
	// IdempotencyKey is the key the next or latest send carries, if any.
	IdempotencyKey string
	// Err is why recovery stopped (StepAbort, an *Error), why a merge
	// failed (StepMerge), or what failed (StepTransportRetry).
	Err error
	// Outcome is the call's outcome (StepDone, StepAbort); Kind is then the
	// kind of the last conflict, if any.
	Outcome Outcome
}

// emit reports ev to the hook and the logger.
func (c *config) emit(ctx context.Context, ev Event) {
	if c.hook != nil {
		c.hook(ctx, ev)
	}
	if c.logger == nil {
		return
	}
	level := slog.LevelDebug
	if ev.Step == StepAbort {
		level = slog.LevelWarn
	}
	if !c.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.Uint64("call", ev.CallID),
		slog.String("method", ev.Method),
		slog.String("url", ev.URL),
		slog.Int("attempt", ev.Attempt),
	}
	if ev.Kind != Unknown || ev.Step == StepConflict {
		attrs = append(attrs, slog.String("kind", ev.Kind.String()))
	}
	if ev.Reason != "" {
		attrs = append(attrs, slog.String("reason", ev.Reason))
	}
	if ev.Status != 0 {
		attrs = append(attrs, slog.Int("status", ev.Status))
	}
	if ev.Wait != 0 {
		attrs = append(attrs, slog.Duration("wait", ev.Wait))
	}
	if ev.IdempotencyKey != "" {
		attrs = append(attrs, slog.String("idempotency_key", ev.IdempotencyKey))
	}
	if ev.Err != nil {
		attrs = append(attrs, slog.String("error", oneLine(ev.Err.Error())))
	}
	if ev.Step == StepDone || ev.Step == StepAbort {
		attrs = append(attrs, slog.String("outcome", ev.Outcome.String()))
	}
	c.logger.LogAttrs(ctx, level, "conflict: "+ev.Step.String(), attrs...)
}

// redactErr returns err with its URL redacted: http.Client's errors are
// *url.Error values that carry the full URL, query included.
func redactErr(err error) error {
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		return err
	}
	safe := &url.Error{Op: ue.Op, URL: redactString(ue.URL), Err: ue.Err}
	if err == error(ue) {
		return safe
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), ue.URL, safe.URL), err: safe}
}

// redactedError is an error whose message had a URL redacted; it unwraps
// to the redacted *url.Error.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redactString(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return redact(u)
}

// oneLine escapes control characters, so that text from a server cannot
// start a new line in a log or an error message.
func oneLine(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
