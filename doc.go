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
//	c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
//	resp, err := c.Do(req) // same signature as (*http.Client).Do
//	var e *conflict.Error
//	if errors.As(err, &e) {
//		log.Printf("%s: %s", e.Conflict.Kind, e.Conflict.Message)
//	}
//
// The default recovery for each [Kind]:
//
//	StaleVersion          refresh (from the conflict body when it is the whole representation,
//	                      else one GET), merge base/ours/theirs with the endpoint's Merge,
//	                      re-send under the fresh precondition
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
// the body and leaves the body readable by the caller. [WithClassifier] maps
// an API's own reason codes to kinds.
//
// # Endpoint rules
//
// A [Rule], registered with [WithRule] under a pattern written like an
// [http.ServeMux] pattern ("PUT /documents/{id}"), says how an endpoint
// recovers: its merge function (package jsonmerge has a three-way JSON merge
// and RFC 7396 merge patches), where its version travels (an ETag, or a JSON
// field), how to find an existing resource, and its limits. A stale
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
// header, in any spelling, or from [WithIdempotencyKey], which puts it on a
// request of any method), or a random UUID. The key is fixed
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
// [Limits].MaxBodyBuffer bytes; a larger body without GetBody is sent once,
// with no transport retry, and a recovery that would need to send it again
// stops with [ErrNotReplayable]. The caller's request is never modified.
// Every loop is bounded ([Limits]: attempts, total time, each wait) and ends
// at once when the request's context is done.
//
// A client's writes to one resource (PUT, PATCH and DELETE of an endpoint
// with a rule, and [Update]) take turns, so that its own writers never make
// each other stale; a hook or a rule's function must therefore not write
// that resource through the same client from inside a call, or it waits for
// its own turn until the call's time limit. PUTs of a merged endpoint that
// wait their turn travel together: the next write carries their changes,
// merged in, in one request, and each caller gets the answer as its own with
// the outcome [Merged]. Only writes known to be built on the state that
// request is sent onto (or an older one), with the same headers, are
// carried; a change that does not merge, or a request the server does not
// accept, sends each write alone, so that one caller's conflict or invalid
// change fails that caller only. [Update]s that wait their turn travel
// together too: the holder of the turn hands each one the document it
// writes, and each calls its mutate there, on its own goroutine (see
// Update). The request that carries others is sent with the carrying
// caller's context: a transport that takes credentials from the request's
// context, rather than from its headers, should serve each set of
// credentials through a client of its own.
//
// Recovery reads never follow redirects, and nothing is read or re-sent on
// another origin. Cancellation says nothing about whether the server applied
// a write; the idempotency key is how to find out. A write whose answer was
// lost is checked against the current state before anything is sent again:
// if the state holds it, it is not sent. If the state does not, the write is
// merged and sent, which is right when it was not applied; when it was, and
// another writer then set back what it set, that change is undone. Only an
// idempotency key the server honours tells the two apart. [Update], which
// calls mutate again, stops instead.
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
// The client is silent by default. [WithHook] receives the call's context
// and an [Event] at each step, and [WithLogger] logs the same to a
// *slog.Logger. Events never carry bodies; their URLs, and the URLs in their
// errors, carry no user information or query; text from the server is
// escaped to one line.
//
// A Client is safe for concurrent use by multiple goroutines.
//
// # Architecture
//
// Data flows one way: request → rule → send → classify → recover → result.
//
//	client.go     Client, New, Do, RoundTrip, StandardClient
//	options.go    Option, Limits and the With... options
//	rule.go       Rule, its validation, and the pattern matcher
//	version.go    where a precondition travels: Version, Header, Query, Field
//	call.go       one call: its loop, the send, classification, abort, done
//	queue.go      one client's writes to one resource take turns
//	fold.go       waiting writes carried in the write that has the turn
//	body.go       replayable request bodies
//	refresh.go    stale version: refresh and merge (etag.go: entity tags)
//	adopt.go      duplicate: find and adopt the existing resource
//	wait.go       idempotency key in use, locked: wait and re-send
//	read.go       the recovery read: same origin, no redirects
//	base.go       merge bases: WithBase and the cache of representations read
//	idempotency.go keys: attach, derive, KeyFor
//	kind.go, conflict.go, classify.go, decide.go, walk*.go, dialects*.go,
//	vocabulary.go
//	              classification: Kind, Conflict, Classify; a bounded walk of
//	              any JSON body for codes and messages, scored; the dialects
//	              of known servers as priors; the shared vocabulary
//	errors.go, result.go, events.go, update.go
//
// A dialect is a match function in dialects.go or dialects_apis.go, listed
// in the dialects table; a reason code or phrase that many APIs share goes
// in vocabulary.go. A recovery is a file of its own, called from
// call.recover by kind. internal/retry sends with transport retries and
// knows nothing of conflicts; internal/jsonv is the one JSON model and JSON
// Pointer (and the pool of parse memory); internal/credential is the one list
// of names that carry credentials; package jsonmerge is the merge, usable
// alone.
package conflict
