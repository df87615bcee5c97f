package conflict

import (
	"net/http"

	"github.com/go-conflict/conflict/internal/retry"
)

// An Outcome is what happened to a call, as [ResultOf] reports it.
type Outcome int

// The outcomes of a call.
const (
	// Passed: the server's answer is returned as it is, and it is not a
	// successful write (a read, or a response that is not a conflict).
	Passed Outcome = iota
	// Created: a create succeeded (a 2xx to a POST, or a 201).
	Created
	// Updated: a write other than a create succeeded.
	Updated
	// Merged: a stale write was merged with the current state and re-sent,
	// and the server accepted it.
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

var outcomeNames = [...]string{"passed", "created", "updated", "merged", "overwrote", "server_won", "adopted", "aborted"}

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

// ResultOf reports what the [Client] did to produce resp, or nil when resp
// does not come from a Client.
func ResultOf(resp *http.Response) *Result {
	if resp == nil || resp.Request == nil {
		return nil
	}
	st, _ := retry.PermissionFrom(resp.Request.Context()).(*call)
	if st == nil {
		return nil
	}
	r := st.res
	r.Keys = append([]string(nil), r.Keys...)
	return &r
}
