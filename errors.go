package conflict

import "errors"

// Reasons recovery stops. An [*Error] carries exactly one of them in its
// Reason field, and errors.Is finds it through the *Error.
var (
	// ErrUnrecoverable means the conflict's kind has no safe automatic
	// recovery (an invalid state transition, a dependency, an unknown
	// reason), or the endpoint's rule does not allow one.
	ErrUnrecoverable = errors.New("conflict: not recoverable")

	// ErrMergeConflict means a three-way merge found paths that both sides
	// changed to different values. The [*MergeConflictError] in the chain
	// lists them.
	ErrMergeConflict = errors.New("conflict: merge conflict")

	// ErrAttemptsExhausted means the recovery loop reached its bound on
	// attempts or total time while the server still answered with a conflict.
	ErrAttemptsExhausted = errors.New("conflict: attempts exhausted")

	// ErrNotReplayable means recovery needed to send the request body again,
	// but the body had no GetBody and was larger than the buffer limit.
	ErrNotReplayable = errors.New("conflict: request body cannot be replayed")
)
