// Package conflict makes Go API clients recover safely from HTTP 409
// Conflict and 412 Precondition Failed.
//
// Every serious HTTP API answers some writes with a conflict: a stale
// version, a duplicate create, a forbidden state transition, an idempotency
// key still in flight. Retrying such a request blindly makes things worse: it
// replays a write built on stale assumptions, or creates the same resource
// twice. A [Client] recognises what the server meant and runs the recovery
// that is safe for it:
//
//	c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: conflict.MergeJSON}))
//	resp, err := c.Do(req) // same signature as (*http.Client).Do
//	var e *conflict.Error
//	if errors.As(err, &e) {
//		log.Printf("%s: %s", e.Conflict.Kind, e.Conflict.Message)
//	}
//
// The default recovery for each [Kind]:
//
//	StaleVersion          refresh (from the conflict body, or one GET), merge base/ours/theirs
//	                      with the endpoint's MergeFunc, re-send under the fresh precondition
//	Duplicate             adopt the existing resource if it is the one this request meant to create
//	IdempotencyInUse      wait (Retry-After, capped, or jittered backoff), re-send with the same key
//	Locked                wait, re-send unchanged
//	InvalidTransition     abort with the current state and allowed transitions
//	Dependency            abort
//	IdempotencyMismatch   abort: the key was reused with another payload, a caller bug
//	PreconditionRequired  abort: the request must carry a precondition
//	Unknown               abort with everything the server said
//
// Two rules never bend. A request is never re-sent on stale assumptions:
// every re-send after a conflict is rebuilt from fresh server state, or it
// is not sent. And no write is lost or doubled: a create carries an
// idempotency key that stays the same across every retry of that one
// intent, and a merge that cannot be decided safely aborts instead of
// overwriting someone else's change.
//
// # Classifying conflicts
//
// [Classify] turns a response into a [*Conflict]: its Kind, the server's own
// reason code, and whatever the server said (the conflicting field, the
// current version, state and allowed transitions, the existing resource, the
// RFC 9457 problem). It understands RFC 9457 problem details (JSON and XML)
// and the spellings of Kubernetes, CouchDB, Elasticsearch, PostgREST, Stripe,
// Google APIs, Azure, S3, GitHub, Twilio, GoCardless, commercetools and the
// common vocabulary of hand-written JSON APIs. It reads a bounded prefix of
// the body and leaves the body readable by the caller. [WithReasons] maps an
// API's own reason codes to kinds.
//
// # Endpoint rules
//
// A [Rule], registered with [WithRule] under a pattern written like an
// [http.ServeMux] pattern ("PUT /documents/{id}"), says how an endpoint
// recovers: its merge function, where its version travels (an ETag, or a
// JSON field), how to find an existing resource, and its limits. A stale
// write is merged against its base: the representation the write was built
// on, which the client remembers from reads of the same URL through it, or
// which the caller gives with [WithBase]. Without a base, it never guesses:
// it aborts with [ErrNoBase]. [Update] is the typed read-modify-write loop
// that re-derives a write from fresh state instead.
//
// # Idempotency keys
//
// POST requests, and every request of a rule marked Idempotent, carry an
// idempotency key (Idempotency-Key by default): the caller's own (in the
// header, or from [WithIdempotencyKey]), or a random UUID. The key is fixed
// before the first send and reused on every transport retry and every wait;
// a merged payload is a new intent and is sent under a key derived from the
// first. [KeyFor] derives a key from a business identity, so that every
// process that retries the same intent sends the same key. A key lets the
// client retry a create after a dropped connection or a 5xx without
// creating twice, and it makes net/http's own behaviour safe: an
// [http.Transport] treats a request that carries an Idempotency-Key header
// as replayable and may send it again on a connection that failed before
// any response, so the server can see more sends than the client counts.
//
// # Bodies, cancellation and limits
//
// A body is re-sent through the request's GetBody, or from a buffer of up to
// [DefaultMaxBodyBuffer] bytes; a larger body without GetBody is sent once,
// with no transport retry, and a recovery that would need to send it again
// stops with [ErrNotReplayable]. The caller's request is never modified.
// Every loop is bounded ([DefaultMaxAttempts], [DefaultMaxElapsed], waits
// capped at [DefaultMaxWait]) and ends at once when the request's context
// is done. Cancellation says nothing about whether the server applied a
// write; the idempotency key is how to find out.
//
// # Wrapping generated clients
//
// A *Client is a doer (oapi-codegen's HttpRequestDoer and the like), and
// [Client.StandardClient] is an *http.Client for generators that take one
// (ogen, openapi-generator, go-swagger). Through the latter, an unrecovered
// conflict reaches the generated code as the server's own response, body
// intact, so its typed 409 still decodes; [ResultOf] tells what happened.
//
// # Observability
//
// The client is silent by default. [WithHook] receives an [Event] at each
// step, and [WithLogger] logs the same to a *slog.Logger. Events never carry
// bodies, and their URLs carry no user information or query.
//
// A Client is safe for concurrent use by multiple goroutines.
package conflict
