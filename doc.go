// Package conflict makes Go API clients recover safely from HTTP 409
// Conflict and 412 Precondition Failed.
//
// Every serious HTTP API answers some writes with a conflict: a stale
// version, a duplicate create, a forbidden state transition, an idempotency
// key still in flight. Retrying such a request blindly makes things worse: it
// replays a write built on stale assumptions, or creates the same resource
// twice. This package recognises what the server meant and picks the
// recovery that is safe for it.
//
// # Classifying conflicts
//
// [Classify] turns a response into a [*Conflict]: its [Kind], the server's
// own reason code, and whatever the server said (the conflicting field, the
// current version, state and allowed transitions, the existing resource, the
// RFC 9457 problem). It understands RFC 9457 problem details (JSON and XML)
// and the spellings of Kubernetes, CouchDB, Elasticsearch, PostgREST, Stripe,
// Google APIs, Azure, S3, GitHub, Twilio, GoCardless, commercetools and the
// common vocabulary of hand-written JSON APIs. It reads a bounded prefix of
// the body and leaves the body readable by the caller.
//
//	resp, err := http.DefaultClient.Do(req)
//	...
//	c, err := conflict.Classify(resp)
//	if c != nil && c.Kind == conflict.StaleVersion {
//		// refresh, merge, and try again with the new version
//	}
//
// The default recovery for each kind:
//
//	StaleVersion          refresh and merge, then re-send with the fresh precondition
//	Duplicate             adopt the existing resource if it is the one this request meant to create
//	IdempotencyInUse      wait (Retry-After or backoff) and re-send with the same key
//	Locked                wait and re-send unchanged
//	InvalidTransition     abort with the current state and allowed transitions
//	Dependency            abort
//	IdempotencyMismatch   abort: the key was reused with another payload, a caller bug
//	PreconditionRequired  abort: the request must carry a precondition
//	Unknown               abort with everything the server said
//
// Two rules never bend: a request is never re-sent on stale assumptions, and
// no write is lost or doubled.
package conflict
