package journal

import (
	"context"
	"time"
)

// An Option configures a [Journal].
type Option func(*config)

type config struct {
	offline   bool
	owner     string
	lease     time.Duration
	keyHeader string
	maxBody   int64
	workers   int
	order     func(*Record) string
}

// WithOfflineQueue makes [Journal.Do] queue a write when the server cannot
// be reached (a transport error: connection refused, DNS failure, timeout;
// or a 502, 503 or 504 after the client's transport retries): Do returns a
// [*PendingError] for which errors.Is(err, [ErrQueued]) holds, and
// [Journal.Replay] sends the write later. A later write to a URL with
// queued writes is queued behind them without being sent.
//
// Without it, such a write stays pending too, and Do returns the
// transport error (inside a *PendingError) or the response.
func WithOfflineQueue() Option {
	return func(c *config) { c.offline = true }
}

// WithOwner names this Journal in claims: replicas sharing a Store must
// have different owners. A process that restarts under the same owner
// takes its claims back at once; under a new owner, it waits for their
// leases to end. The default is random, one per Journal.
func WithOwner(owner string) Option {
	return func(c *config) { c.owner = owner }
}

// WithLease sets how long a claim lasts; d <= 0 means [DefaultLease].
func WithLease(d time.Duration) Option {
	return func(c *config) { c.lease = d }
}

// WithIdempotencyHeader names the header the Journal reads a caller's
// idempotency key from; empty means [DefaultIdempotencyHeader]. Set it to
// the header the client sends keys in (conflict.WithIdempotencyHeader).
// The header is never written to the journal: the key has its own field.
func WithIdempotencyHeader(name string) Option {
	return func(c *config) { c.keyHeader = name }
}

// WithMaxBody sets the largest request body the Journal records; n < 1
// means [DefaultMaxBody]. Do refuses a larger one with [ErrTooLarge].
func WithMaxBody(n int64) Option {
	return func(c *config) { c.maxBody = n }
}

// WithReplayConcurrency sets how many URLs [Journal.Replay] sends to at
// once; writes to one URL are always sent one after another. n < 1 means
// [DefaultReplayConcurrency].
func WithReplayConcurrency(n int) Option {
	return func(c *config) { c.workers = n }
}

// WithOrderKey sets what orders intents: two intents with the same key are
// sent one after the other in the order they were made, in Do and in
// Replay, and a later one waits for an earlier one that is still pending.
// The default key is the URL. Return a resource's URL for its action
// sub-resources too ("/orders/o_1/pay" and "/orders/o_1/ship" both
// "/orders/o_1") to keep their order, or the intent's ID for creates that
// need no order among themselves (so that they are not sent one at a
// time).
func WithOrderKey(key func(r *Record) string) Option {
	return func(c *config) { c.order = key }
}

type keyCtx struct{}
type baseCtx struct{}

// WithIdempotencyKey returns a context that makes the write it is used with
// carry key as its idempotency key, recorded with the intent and sent with
// every send of it. It is conflict.WithIdempotencyKey, which the Journal
// reads too; either may be used.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return sendContext(context.WithValue(ctx, keyCtx{}, key), key, nil)
}

// WithBase returns a context that gives the representation the write it is
// used with was built on: recorded with the intent, and the base a stale
// write is merged against, at the first send and at every replay. It also
// sets conflict.WithBase, which the Journal reads too; either may be used.
func WithBase(ctx context.Context, base []byte) context.Context {
	return sendContext(context.WithValue(ctx, baseCtx{}, base), "", base)
}
