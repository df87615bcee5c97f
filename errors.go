package conflict

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-conflict/conflict/jsonmerge"
)

// Reasons recovery stops. An [*Error] carries exactly one of them in its
// Reason field, and errors.Is finds it through the *Error.
var (
	// ErrUnrecoverable means the conflict's kind has no safe automatic
	// recovery (an invalid state transition, a dependency, an unknown
	// reason), or the endpoint's rule does not allow one.
	ErrUnrecoverable = errors.New("conflict: not recoverable")

	// ErrMergeConflict means a three-way merge found paths that both sides
	// changed to different values. It is jsonmerge.ErrConflict, so a
	// merge function's *jsonmerge.ConflictError satisfies errors.Is too;
	// errors.As finds that error in the chain, with every path.
	ErrMergeConflict = jsonmerge.ErrConflict

	// ErrAttemptsExhausted means the recovery loop reached its bound on
	// attempts or total time while the server still answered with a conflict.
	ErrAttemptsExhausted = errors.New("conflict: attempts exhausted")

	// ErrNotReplayable means recovery needed to send the request body again,
	// but the body had no GetBody and was larger than the buffer limit.
	ErrNotReplayable = errors.New("conflict: request body cannot be replayed")
)

// ErrNoBase is the cause of an abort (with [ErrUnrecoverable]) when a stale
// write had to be merged but the representation it was based on is unknown:
// it was neither read through the client (to the end of its body, with the
// same credentials, at a URL a rule matches) nor given with [WithBase].
var ErrNoBase = errors.New("conflict: the representation the write was based on is unknown: read it through the client (to the end of its body) or pass it with conflict.WithBase")

// An Error is what [Client.Do] returns when it stops recovering from a
// conflict. It carries what the server said, what the client tried, and why
// it stopped:
//
//	var e *conflict.Error
//	if errors.As(err, &e) {
//		switch {
//		case errors.Is(err, conflict.ErrMergeConflict):
//			// e.Base, e.Ours, e.Theirs; errors.As finds the *jsonmerge.ConflictError
//		case errors.Is(err, conflict.ErrAttemptsExhausted):
//			// the server kept answering with conflicts
//		case errors.Is(err, conflict.ErrNotReplayable):
//			// recovery needed to re-send a body that could not be replayed
//		case errors.Is(err, conflict.ErrUnrecoverable):
//			// e.Conflict.Kind says why: an invalid transition, a foreign
//			// duplicate, an unknown reason...
//		}
//	}
//
// An Error holds no response: everything the server said is copied into
// Conflict.
type Error struct {
	// Method and URL identify the request; the URL has no user
	// information and no query.
	Method string
	URL    string
	// Conflict is the last conflict the server answered with.
	Conflict *Conflict
	// Attempts is how many times the request was sent.
	Attempts int
	// IdempotencyKey is the key the last send carried, if any. A merge
	// re-sends a new payload under a key derived from the first; Keys lists
	// every key used, first to last.
	IdempotencyKey string
	Keys           []string
	// Reason is one of ErrUnrecoverable, ErrMergeConflict,
	// ErrAttemptsExhausted or ErrNotReplayable.
	Reason error
	// Err is the underlying cause, if any: a *MergeConflictError, a
	// context error, ErrNoBase, an error from a rule's function.
	Err error
	// Base, Ours and Theirs are the three representations of a stale write
	// that could not be resolved, when they were known.
	Base, Ours, Theirs []byte
	// lost: a send of the call may have been applied, its answer lost.
	lost bool
}

// Error describes the failure in one line: control characters in what the
// server said are escaped.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("conflict: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.URL)
	b.WriteString(": ")
	if e.Conflict != nil {
		b.WriteString(e.Conflict.String())
		b.WriteString(": ")
	}
	if e.Reason != nil {
		b.WriteString(strings.TrimPrefix(e.Reason.Error(), "conflict: "))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(oneLine(strings.TrimPrefix(e.Err.Error(), "conflict: ")))
	}
	fmt.Fprintf(&b, " after %d attempt", e.Attempts)
	if e.Attempts != 1 {
		b.WriteByte('s')
	}
	return b.String()
}

// Unwrap returns Reason and Err, so that errors.Is and errors.As see both.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Reason != nil {
		errs = append(errs, e.Reason)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}
