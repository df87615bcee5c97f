package conflict

import (
	"context"
	"net/http"
	"sync/atomic"
)

// An Outcome is what happened to a call, as [ResultOf] reports it.
type Outcome int

// The outcomes of a call.
const (
	// Sent: the response is the server's answer to the request as the
	// caller wrote it (after transport retries, if any), whatever its
	// status: no conflict had to be recovered.
	Sent Outcome = iota
	// Waited: the server answered with a conflict that asked to wait (an
	// idempotency key in use, a locked resource); the call waited and sent
	// the same request again, and the server accepted it.
	Waited
	// Merged: the write was merged and sent, and the server accepted it:
	// merged with the current state after a stale conflict; onto the state
	// the client's previous write to the resource left; or with the writes
	// of the client that waited for the resource and travelled in the same
	// request (each of those writes gets the answer, with this outcome). Or
	// the current state was found to hold the merge already (an earlier
	// send committed, its answer lost), and the response is that state.
	Merged
	// Overwrote: a stale write was re-sent unchanged on the current version
	// ([ClientWins]), and the server accepted it.
	Overwrote
	// ServerWon: a stale write was dropped in favour of the server's current
	// state ([ServerWins]); the response is that state.
	ServerWon
	// Adopted: a create found its resource already there, and it is the one
	// this request meant to create; the response is that resource.
	Adopted
	// Aborted: recovery stopped; the [Result] holds the [*Error].
	Aborted
)

var outcomeNames = [...]string{"sent", "waited", "merged", "overwrote", "server_won", "adopted", "aborted"}

// String returns the outcome's lowercase name.
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return "outcome(?)"
	}
	return outcomeNames[o]
}

// A Result reports what a [Client] did for one call.
type Result struct {
	Outcome Outcome
	// Attempts is how many times the request (or its rebuilt form) was
	// sent; refresh and lookup reads are not counted.
	Attempts int
	// IdempotencyKey is the key of the last send, if the request had one.
	// Keys lists every key used, first to last: a merged payload is sent
	// under a key derived from the first.
	IdempotencyKey string
	Keys           []string
	// Conflict is the last conflict the server answered with, or nil.
	Conflict *Conflict
	// Err is the error of an aborted call. Through [Client.Do] it is also
	// the returned error; through [Client.RoundTrip] it is the only trace
	// of the abort.
	Err *Error
}

// resultCtx is the context of every request a call sends: the caller's
// context, and the call's Result, which is all a response keeps of the call.
type resultCtx struct {
	context.Context
	res     Result
	retried bool // a transport retry happened
	// lost: a send of the call may have been applied with its answer lost
	// (a connection that failed after the request was written, a gateway
	// error, or net/http sending a keyed request again on its own).
	lost  bool
	sends atomic.Int32 // physical sends so far, recovery reads included
}

type resultKey struct{}

func (r *resultCtx) Value(key any) any {
	if key == (resultKey{}) {
		return r
	}
	return r.Context.Value(key)
}

// ResultOf reports what the [Client] did to produce resp, or nil when resp
// does not come from a Client.
func ResultOf(resp *http.Response) *Result {
	if resp == nil || resp.Request == nil {
		return nil
	}
	rc, _ := resp.Request.Context().Value(resultKey{}).(*resultCtx)
	if rc == nil {
		return nil
	}
	r := rc.res
	r.Keys = append([]string(nil), r.Keys...)
	return &r
}

// ResendCount reports, for the context of a request a [Client] is sending,
// how many requests the same call sent before it: 0 for the first send, 1
// for the first re-send, transport retry or recovery read, and so on. ok is
// false for a context that does not come from a Client. A tracing
// transport given to [WithTransport] uses it for the
// http.request.resend_count attribute.
func ResendCount(ctx context.Context) (n int, ok bool) {
	rc, _ := ctx.Value(resultKey{}).(*resultCtx)
	if rc == nil {
		return 0, false
	}
	return max(int(rc.sends.Load())-1, 0), true
}
