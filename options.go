package conflict

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Defaults for a [Client]. Each can be changed with an [Option] or, per
// endpoint, with a [Rule].
const (
	// DefaultMaxAttempts is how many times one call sends its request,
	// counting the first send and every re-send after a conflict (transport
	// retries inside one send are counted separately).
	DefaultMaxAttempts = 5
	// DefaultMaxElapsed bounds the total time one call spends recovering.
	DefaultMaxElapsed = 30 * time.Second
	// DefaultMaxWait caps any single wait, including one asked for by a
	// server's Retry-After.
	DefaultMaxWait = 10 * time.Second
	// DefaultTransportRetries is how many times a send is retried after a
	// connection error, a 5xx or a 429.
	DefaultTransportRetries = 3
	// DefaultMaxBodyBuffer is the largest request body the client buffers
	// to be able to send it again when the request has no GetBody.
	DefaultMaxBodyBuffer = 1 << 20
	// DefaultIdempotencyHeader is the header that carries idempotency keys.
	DefaultIdempotencyHeader = "Idempotency-Key"
)

// An Option configures a [Client] in [New].
type Option func(*config)

type config struct {
	httpClient       *http.Client
	rules            []rule
	classifier       Classifier
	maxAttempts      int
	maxElapsed       time.Duration
	maxWait          time.Duration
	backoffMin       time.Duration
	backoffMax       time.Duration
	transportRetries int
	maxBodyBuffer    int64
	baseCache        int
	hook             func(Event)
	logger           *slog.Logger
	keyHeader        string
	keyFormat        KeyFormat
	// wait replaces the timer-based wait in tests.
	wait func(ctx context.Context, d time.Duration) error
}

// WithHTTPClient sets the client that sends requests: its Transport,
// Timeout, CheckRedirect and Jar apply to every send. If not set, a client
// with its own clone of [http.DefaultTransport] is used.
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) { cfg.httpClient = c }
}

// WithRule sets how the endpoints matching pattern recover from conflicts.
//
// The pattern is written like an [http.ServeMux] pattern of Go 1.22:
// "PUT /documents/{id}", "POST /users", "/orders/{id}/{action}". A pattern
// without a method matches every method. When several rules match a
// request, the most specific wins, as in ServeMux. A malformed pattern, or
// two rules with the same pattern, make New panic, as ServeMux.Handle does.
func WithRule(pattern string, r Rule) Option {
	return func(cfg *config) { cfg.rules = append(cfg.rules, rule{pattern: pattern, Rule: r}) }
}

// WithReasons maps an API's own reason codes to kinds; see
// [Classifier.Reasons]. The map is copied.
func WithReasons(reasons map[string]Kind) Option {
	return func(cfg *config) {
		m := make(map[string]Kind, len(reasons))
		for k, v := range reasons {
			m[k] = v
		}
		cfg.classifier.Reasons = m
	}
}

// WithMaxAttempts sets how many times one call may send its request,
// counting the first send; n < 1 means [DefaultMaxAttempts].
func WithMaxAttempts(n int) Option {
	return func(cfg *config) { cfg.maxAttempts = n }
}

// WithMaxElapsed bounds the total time one call spends recovering; d <= 0
// means [DefaultMaxElapsed]. The request's context deadline, if earlier,
// applies too.
func WithMaxElapsed(d time.Duration) Option {
	return func(cfg *config) { cfg.maxElapsed = d }
}

// WithMaxWait caps any single wait, including a server's Retry-After;
// d <= 0 means [DefaultMaxWait].
func WithMaxWait(d time.Duration) Option {
	return func(cfg *config) { cfg.maxWait = d }
}

// WithBackoff sets the jittered exponential backoff used when a server asks
// to wait without saying how long: the n-th wait is random in
// [lo, lo*2^n], at most hi. Zero or negative values keep the defaults
// (50ms and 2s).
func WithBackoff(lo, hi time.Duration) Option {
	return func(cfg *config) { cfg.backoffMin, cfg.backoffMax = lo, hi }
}

// WithTransportRetries sets how many times a send is retried after a
// connection error, a 5xx or a 429; n < 0 means
// [DefaultTransportRetries], and 0 turns transport retries off. A request
// is retried only if it is safe to send again: its method is idempotent
// (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or it carries an idempotency key.
func WithTransportRetries(n int) Option {
	return func(cfg *config) { cfg.transportRetries = n }
}

// WithMaxBodyBuffer sets the largest request body the client buffers when
// the request has no GetBody; n < 1 means [DefaultMaxBodyBuffer]. A larger
// body is sent once and never again: its call gets no transport retries and
// no recovery.
func WithMaxBodyBuffer(n int64) Option {
	return func(cfg *config) { cfg.maxBodyBuffer = n }
}

// WithBaseCache sets how many representations read through the client are
// remembered as merge bases; n < 1 means 1024. A representation larger than
// the body buffer limit is not remembered.
func WithBaseCache(n int) Option {
	return func(cfg *config) { cfg.baseCache = n }
}

// WithHook calls fn with an [Event] at each step of every call: a conflict
// classified, a refresh, a merge, a wait, a re-send, an adoption, an abort.
// fn runs synchronously on the calling goroutine and must not block.
func WithHook(fn func(Event)) Option {
	return func(cfg *config) { cfg.hook = fn }
}

// WithLogger logs each [Event] to l, at debug level for steps and warn level
// for aborts, and gives l to the transport retries. Without a logger, the
// client writes nothing.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) { cfg.logger = l }
}

// WithIdempotencyHeader sets the header that carries idempotency keys for
// every rule that does not set its own; empty means
// [DefaultIdempotencyHeader].
func WithIdempotencyHeader(name string) Option {
	return func(cfg *config) { cfg.keyHeader = name }
}

// WithKeyFormat sets how keys are written in the header; the default is
// [KeyToken].
func WithKeyFormat(f KeyFormat) Option {
	return func(cfg *config) { cfg.keyFormat = f }
}

// A Rule says how one endpoint recovers from conflicts. Its zero value
// recovers nothing that needs endpoint knowledge: stale versions abort
// (there is no merge function), duplicates are adopted only when the
// existing resource can be found and matches, waits and aborts behave as
// for any endpoint.
type Rule struct {
	// Merge merges a stale write: base is the representation the write was
	// based on, ours the request body, theirs the current representation.
	// [MergeJSON] suits JSON documents written with PUT; [RebaseMergePatch]
	// suits JSON merge patches sent with PATCH. A field the server owns
	// (an updated_at, a version in the body of an ETag endpoint) that the
	// write leaves out or leaves at its old value makes MergeJSON report a
	// conflict there; [NewJSONMerge] with [PathPolicy](ptr, [TakeTheirs])
	// resolves it. The base is the representation this client read at the
	// write's URL and version (read to the end of its body), or the one given
	// with [WithBase].
	Merge MergeFunc

	// Resolve chooses how a stale version is resolved. The zero value,
	// [ResolveMerge], merges with Merge and aborts if Merge is nil.
	Resolve Resolution

	// VersionField is the JSON Pointer ("/version") of a version field in
	// the body that works as the precondition. If empty, the version
	// travels as an ETag: If-Match on writes, ETag on reads.
	VersionField string

	// Refresh returns the URL to read the current representation from;
	// nil means the request's own URL. It must return a URL on the same
	// origin.
	Refresh func(req *http.Request) string

	// Lookup finds the resource a duplicate create collided with and
	// returns its URL, or "" if it cannot be found. If nil, the conflict's
	// Location (header or body) is used, then its existing id appended to
	// the request's URL path ("POST /users" + "u_7" = "/users/u_7"), and
	// for a create by PUT the request's own URL.
	Lookup func(ctx context.Context, c *Conflict, req *http.Request) (string, error)

	// Same reports whether the existing resource is the one this request
	// meant to create. If nil, it is when the existing resource records this
	// request's idempotency key (a field "idempotency_key" or
	// "idempotencyKey"), or when every top-level field of the request body
	// has the same value in the existing resource.
	Same func(req []byte, existing []byte) bool

	// Statuses are extra status codes that count as conflicts on this
	// endpoint, beyond 409, 412, 423 and 428 (for example 400 for an API
	// that reports duplicates as bad requests).
	Statuses []int

	// MaxAttempts and MaxElapsed override the client's bounds for this
	// endpoint when positive.
	MaxAttempts int
	MaxElapsed  time.Duration

	// IdempotencyHeader overrides the client's idempotency header name.
	IdempotencyHeader string

	// Idempotent attaches an idempotency key to this endpoint's requests
	// whatever their method. Without it, keys go on POST requests only.
	Idempotent bool
}

// A Resolution says how a stale version is resolved.
type Resolution int

const (
	// ResolveMerge merges base, ours and theirs with the rule's Merge and
	// re-sends the result with the fresh precondition. A merge conflict
	// aborts with [ErrMergeConflict].
	ResolveMerge Resolution = iota
	// ClientWins re-sends the request body unchanged with the fresh
	// precondition, overwriting whatever changed on the server. It needs no
	// base. Use it only where last-write-wins is really meant.
	ClientWins
	// ServerWins keeps the server's current representation: nothing is
	// re-sent, and the call returns the current representation with
	// [ServerWon].
	ServerWins
	// Manual aborts with base, ours and theirs in the [Error], for the
	// caller to decide.
	Manual
)

var resolutionNames = [...]string{"merge", "client_wins", "server_wins", "manual"}

// String returns the resolution's lowercase name.
func (r Resolution) String() string {
	if r < 0 || int(r) >= len(resolutionNames) {
		return "resolution(?)"
	}
	return resolutionNames[r]
}
