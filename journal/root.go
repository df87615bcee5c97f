package journal

// Everything this package needs from the root package conflict is in this
// file, so that a change of the root API is adapted here alone.

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-conflict/conflict"
)

// sendContext returns the context a send of an intent runs with: its
// idempotency key and its merge base, for the client's recoveries.
func sendContext(ctx context.Context, key string, base []byte) context.Context {
	if key != "" {
		ctx = conflict.WithIdempotencyKey(ctx, key)
	}
	if base != nil {
		ctx = conflict.WithBase(ctx, base)
	}
	return ctx
}

// callerKey returns the idempotency key the caller gave in ctx, with
// [WithIdempotencyKey] or conflict.WithIdempotencyKey.
func callerKey(ctx context.Context) string {
	if k, _ := ctx.Value(keyCtx{}).(string); k != "" {
		return k
	}
	k, _ := conflict.IdempotencyKeyFrom(ctx)
	return k
}

// callerBase returns the base the caller gave in ctx, with [WithBase] or
// conflict.WithBase.
func callerBase(ctx context.Context) []byte {
	if b, _ := ctx.Value(baseCtx{}).([]byte); b != nil {
		return b
	}
	b, _ := conflict.BaseFrom(ctx)
	return b
}

// resultName names what the client did for resp ("sent", "merged",
// "adopted"...), or "" if resp does not come from a client.
func resultName(resp *http.Response) string {
	if r := conflict.ResultOf(resp); r != nil {
		return r.Outcome.String()
	}
	return ""
}

// abort is what the journal keeps of a *conflict.Error.
type abort struct {
	kind, reason       string
	base, ours, theirs []byte
}

// asAbort reports whether err is the client giving up on a conflict, or
// refusing the request before sending it (an invalid idempotency key).
func asAbort(err error) (abort, bool) {
	var e *conflict.Error
	if errors.As(err, &e) {
		a := abort{reason: e.Error(), base: e.Base, ours: e.Ours, theirs: e.Theirs}
		if e.Conflict != nil {
			a.kind = e.Conflict.Kind.String()
		}
		return a, true
	}
	if errors.Is(err, conflict.ErrInvalidKey) {
		return abort{reason: err.Error()}, true
	}
	return abort{}, false
}

// clientBase is the base the client itself would merge req against: what it
// read at req's URL and version, with req's credentials.
func clientBase(c *conflict.Client, req *http.Request, body []byte) []byte {
	b, _ := c.BaseFor(req, body)
	return b
}
