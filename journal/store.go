package journal

import (
	"context"
	"errors"
	"time"
)

// A Store keeps intents durably. [FileStore] is the default, one file on
// local disk; a fleet of replicas can share a Store backed by their
// database instead (see the package documentation for a SQL schema).
//
// Every method must be safe for concurrent use, and a method that returns
// nil must have made its change durable: a Journal sends a request only
// after Append returned nil, and tells its caller the outcome only after
// Done returned nil.
type Store interface {
	// Append records a new pending intent. It assigns rec.Seq, greater
	// than the Seq of every intent the Store ever held, and must fail if
	// an intent with rec.ID exists.
	Append(ctx context.Context, rec *Record) error

	// Claim gives owner the right to send intent id until lease has
	// passed, and reports whether it did: it does if the intent is pending
	// and not claimed by another owner whose lease runs. A Journal claims
	// an intent before every send. Claims need not be durable where only
	// one process uses the Store (FileStore keeps them in memory).
	Claim(ctx context.Context, id, owner string, lease time.Duration) (bool, error)

	// Done records the outcome of intent id; it is pending no more. Done
	// on an intent that is already done does nothing and returns nil; on
	// an unknown intent it returns an error matching [ErrNotFound].
	Done(ctx context.Context, id string, o Outcome) error

	// Pending returns every pending intent, in Seq order.
	Pending(ctx context.Context) ([]Record, error)

	// Close releases the Store.
	Close() error
}

// Errors of stores.
var (
	// ErrNotFound: the store holds no intent with that id.
	ErrNotFound = errors.New("journal: no such intent")
	// ErrClosed: the store or journal is closed.
	ErrClosed = errors.New("journal: closed")
	// ErrLocked: another process has the journal file open.
	ErrLocked = errors.New("journal: the journal file is in use by another process")
)
