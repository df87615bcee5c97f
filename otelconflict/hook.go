package otelconflict

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/go-conflict/conflict"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// The attributes the hook sets, on spans and on metric points.
const (
	// KindKey is the conflict's kind: stale_version, duplicate, ...
	KindKey = attribute.Key("conflict.kind")
	// ReasonKey is the server's own reason code for the conflict.
	ReasonKey = attribute.Key("conflict.reason")
	// RecoveryKey lists the recovery steps taken after the conflict.
	RecoveryKey = attribute.Key("conflict.recovery")
	// OutcomeKey is the call's outcome: merged, waited, adopted, ...
	OutcomeKey = attribute.Key("conflict.outcome")
	// AbortReasonKey says why an aborted call stopped.
	AbortReasonKey = attribute.Key("conflict.abort_reason")
	// WaitKey is how long a wait step waited, in seconds (a span event's
	// attribute).
	WaitKey = attribute.Key("conflict.wait")
)

// The metrics the hook records.
const (
	ConflictsMetric    = "conflict.conflicts"
	CallsMetric        = "conflict.calls"
	CallAttemptsMetric = "conflict.call.attempts"
)

// maxReason bounds the length of a server's reason code on a span.
const maxReason = 256

// maxCalls bounds how many calls in progress the hook follows at once. A
// call that ends in a transport error after a conflict sends no final
// event; its state is dropped when the bound is reached.
const maxCalls = 4096

// Hook returns a function for [conflict.WithHook] that records conflicts,
// recovery steps and outcomes on the attempt spans in the events' contexts
// and in the metrics the package documentation lists. It follows each call
// from its first conflict to its end, so give each [conflict.Client] a Hook
// of its own.
//
// The span it annotates is the one in the event's context: the attempt's
// when [Transport] sent the request. With another tracing transport, that
// transport's span, which must still be recording when the client has read
// the conflict's body; with none, the caller's own span, if any.
func Hook(opts ...Option) func(context.Context, conflict.Event) {
	return newHook(newConfig(opts)).handle
}

// Instrument returns the options that trace and measure a
// [conflict.Client]: [conflict.WithTransport] with [Transport] around base,
// and [conflict.WithHook] with [Hook]. With [conflict.WithHTTPClient] too,
// pass that client's Transport as base: WithTransport replaces it.
func Instrument(base http.RoundTripper, opts ...Option) []conflict.Option {
	return []conflict.Option{
		conflict.WithTransport(Transport(base, opts...)),
		conflict.WithHook(Hook(opts...)),
	}
}

type hook struct {
	conflicts metric.Int64Counter
	calls     metric.Int64Counter
	attempts  metric.Int64Histogram

	mu    sync.Mutex
	seq   uint64
	state map[callKey]*callState
}

// callKey identifies a call: CallID numbers the calls of one Client.
type callKey struct {
	id          uint64
	method, url string
}

// callState is what the hook knows of a call that met a conflict.
type callState struct {
	seq      uint64
	span     trace.Span // the attempt that got the latest conflict
	steps    []string   // the recovery steps after it
	callSpan trace.SpanContext
	sawCall  bool // callSpan is known: an event came with the call's own context
}

func newHook(cfg config) *hook {
	meter := cfg.mp.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
	h := &hook{state: make(map[callKey]*callState)}
	var err error
	h.conflicts, err = meter.Int64Counter(ConflictsMetric,
		metric.WithDescription("Conflicts the server answered with."),
		metric.WithUnit("{conflict}"))
	if err != nil {
		otel.Handle(err)
		h.conflicts = noop.Int64Counter{}
	}
	h.calls, err = meter.Int64Counter(CallsMetric,
		metric.WithDescription("Calls that met a conflict, by outcome."),
		metric.WithUnit("{call}"))
	if err != nil {
		otel.Handle(err)
		h.calls = noop.Int64Counter{}
	}
	h.attempts, err = meter.Int64Histogram(CallAttemptsMetric,
		metric.WithDescription("Requests sent by a call that met a conflict: the first send and every re-send."),
		metric.WithUnit("{attempt}"),
		metric.WithExplicitBucketBoundaries(1, 2, 3, 4, 5, 6, 8, 10, 16, 32))
	if err != nil {
		otel.Handle(err)
		h.attempts = noop.Int64Histogram{}
	}
	return h
}

func (h *hook) handle(ctx context.Context, ev conflict.Event) {
	key := callKey{id: ev.CallID, method: ev.Method, url: ev.URL}
	switch ev.Step {
	case conflict.StepConflict:
		span := trace.SpanFromContext(ctx)
		kind := KindKey.String(ev.Kind.String())
		if ev.Reason != "" {
			span.SetAttributes(kind, ReasonKey.String(clip(ev.Reason, maxReason)))
		} else {
			span.SetAttributes(kind)
		}
		method, _ := normalizeMethod(ev.Method)
		h.conflicts.Add(ctx, 1, metric.WithAttributes(kind, semconv.HTTPRequestMethodKey.String(method)))
		h.conflicted(key, span)

	case conflict.StepRefresh, conflict.StepMerge, conflict.StepWait, conflict.StepResend, conflict.StepAdopt:
		h.step(ctx, key, ev)

	case conflict.StepAbort:
		h.end(key)
		span := trace.SpanFromContext(ctx) // the attempt that got the conflict
		span.SetAttributes(OutcomeKey.String(ev.Outcome.String()), AbortReasonKey.String(abortReason(ev.Err)))
		h.record(ctx, ev)

	case conflict.StepDone:
		st := h.end(key)
		if st == nil {
			return // transport retries only: the call met no conflict
		}
		// The final attempt is the one whose response the call returns,
		// unless that response was built from a recovery read or from the
		// conflict's body: the event then comes with the call's own
		// context, and the final attempt is the conflict's.
		span := trace.SpanFromContext(ctx)
		if !span.SpanContext().IsValid() || (st.sawCall && span.SpanContext().Equal(st.callSpan)) {
			span = st.span
		}
		span.SetAttributes(OutcomeKey.String(ev.Outcome.String()))
		h.record(ctx, ev)
	}
}

// conflicted starts following the call, or moves it to a new conflict.
func (h *hook) conflicted(key callKey, span trace.Span) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.state[key]
	if st == nil {
		if len(h.state) >= maxCalls {
			h.evict()
		}
		h.seq++
		st = &callState{seq: h.seq}
		h.state[key] = st
	}
	st.span, st.steps = span, nil
}

// evict drops the call followed longest. The caller holds h.mu.
func (h *hook) evict() {
	var oldest callKey
	first := true
	for k, st := range h.state {
		if first || st.seq < h.state[oldest].seq {
			oldest, first = k, false
		}
	}
	delete(h.state, oldest)
}

// step records a recovery step on the span of the conflict it recovers
// from. Recovery steps come with the call's own context.
func (h *hook) step(ctx context.Context, key callKey, ev conflict.Event) {
	h.mu.Lock()
	st := h.state[key]
	if st == nil {
		h.mu.Unlock()
		return
	}
	st.callSpan, st.sawCall = trace.SpanContextFromContext(ctx), true
	st.steps = append(st.steps, ev.Step.String())
	steps := append([]string(nil), st.steps...)
	span := st.span
	h.mu.Unlock()

	span.SetAttributes(RecoveryKey.StringSlice(steps))
	var attrs []attribute.KeyValue
	if ev.Wait > 0 {
		attrs = append(attrs, WaitKey.Float64(ev.Wait.Seconds()))
	}
	if ev.Status != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(ev.Status))
	}
	if ev.Step == conflict.StepMerge && ev.Err != nil {
		attrs = append(attrs, attribute.Bool("conflict.merge.failed", true))
	}
	span.AddEvent("conflict."+ev.Step.String(), trace.WithAttributes(attrs...))
}

// end stops following the call and returns what was known of it.
func (h *hook) end(key callKey) *callState {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.state[key]
	delete(h.state, key)
	return st
}

// record counts a call that met a conflict, at its end.
func (h *hook) record(ctx context.Context, ev conflict.Event) {
	set := metric.WithAttributeSet(attribute.NewSet(
		KindKey.String(ev.Kind.String()),
		OutcomeKey.String(ev.Outcome.String()),
	))
	h.calls.Add(ctx, 1, set)
	h.attempts.Record(ctx, int64(ev.Attempt), set)
}

// abortReason names why a call stopped, from the *conflict.Error of its
// abort event.
func abortReason(err error) string {
	switch {
	case err == nil:
		return "unknown"
	case errors.Is(err, conflict.ErrMergeConflict):
		return "merge_conflict"
	case errors.Is(err, conflict.ErrAttemptsExhausted):
		return "attempts_exhausted"
	case errors.Is(err, conflict.ErrNotReplayable):
		return "not_replayable"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	case errors.Is(err, conflict.ErrUnrecoverable):
		return "unrecoverable"
	}
	return "unknown"
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
