// Package otelconflict traces and measures the calls of a [conflict.Client]
// with OpenTelemetry.
//
// It follows the HTTP client span conventions: one CLIENT span for each
// request sent over the wire, with http.request.resend_count on every
// request after the first of a call (a re-send after a conflict, a
// transport retry, a recovery read, a redirect), and no logical span around
// them. The conflict itself is recorded on the span of the attempt the
// server answered with it, and the call's outcome on its final attempt:
//
//	c := conflict.New(otelconflict.Instrument(nil)...)
//
// or, to compose with other options,
//
//	opts := append(otelconflict.Instrument(nil),
//		conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
//	c := conflict.New(opts...)
//
// # Spans
//
// [Transport] opens one span per RoundTrip, named after the method, with the
// stable attributes http.request.method (and http.request.method_original
// for a method it does not know), server.address, server.port, url.full
// (without user information, query or fragment), http.response.status_code,
// error.type (the status code of a 4xx or 5xx answer, or the class of a
// transport error), and http.request.resend_count, which it takes from
// [conflict.ResendCount] and the redirects that led to the request. It
// injects the trace context into the request's headers.
//
// [Hook] adds, on the attempt span that got a conflict (the span in the
// event's context):
//
//	conflict.kind          the conflict's kind, as conflict.Kind.String spells it
//	conflict.reason        the server's reason code, if it gave one
//	conflict.recovery      the recovery steps taken after it, in order:
//	                       refresh, merge, wait, resend, adopt
//	conflict.outcome       on the call's final attempt: merged, waited, adopted,
//	                       server_won, overwrote, sent or aborted
//	conflict.abort_reason  for an aborted call: unrecoverable, merge_conflict,
//	                       attempts_exhausted, not_replayable, canceled,
//	                       deadline_exceeded
//
// and one span event per recovery step (conflict.refresh, conflict.wait with
// the wait in seconds, ...). The final attempt is the span of the request
// whose response the call returns; when the call returns a response built
// from a recovery read or from the conflict's own body (an adopted resource,
// the server's state for server_won), it is the span of the conflict.
//
// A span from [Transport] made for a request of a [conflict.Client] ends
// when its response body is closed, so that the hook can still annotate it
// after the client has read the body to classify it; close every response
// body, as net/http asks. A request from anywhere else ends its span at the
// end of the body too, as otelhttp does.
//
// # Metrics
//
//	conflict.conflicts       counter    conflicts answered, by conflict.kind and http.request.method
//	conflict.calls           counter    calls that met a conflict, by conflict.kind and conflict.outcome
//	conflict.call.attempts   histogram  requests sent by each call that met a conflict
//	                                    (the first send and every re-send; recovery reads
//	                                    and transport retries are not counted), by
//	                                    conflict.kind and conflict.outcome
//
// conflict.kind on a call is the kind of its last conflict. Calls that met
// no conflict are not counted here; HTTP request metrics are the business of
// otelhttp or the exporter's own.
//
// # Composition
//
// Transport goes where [conflict.WithTransport] puts it, innermost of the
// client: each physical request passes through it once. A RoundTripper that
// it wraps (authentication, request signing) runs inside the span and sees
// the traceparent header; one that wraps it sees neither. Do not also wrap it
// in otelhttp.NewTransport: that makes two client spans per request.
// otelhttp's own Transport is not a substitute: it never sets the resend
// count, and it ends a span as soon as the body is read to its end, which
// the client does to classify a conflict before the hook can annotate it.
package otelconflict
