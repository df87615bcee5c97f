package conflict

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// DefaultIdempotencyHeader is the header that carries idempotency keys
// unless [WithIdempotencyHeader] or a [Rule] names another.
const DefaultIdempotencyHeader = "Idempotency-Key"

// Limits bound what a [Client] does for one call. A zero field means its
// default, given in [DefaultLimits]; [WithLimits] sets them for a client, and
// a [Rule] may override MaxAttempts and MaxElapsed for its endpoint.
type Limits struct {
	// MaxAttempts is how many times one call may send its request,
	// counting the first send and every re-send after a conflict (transport
	// retries inside one send are counted separately).
	MaxAttempts int
	// MaxElapsed bounds the total time of one call once it starts
	// recovering, counted from its first conflict or transport retry (or,
	// for a write that waits its turn, from the call's start): every
	// transport retry, recovery read, wait and re-send ends by it. The
	// request's context deadline, if earlier, applies too.
	MaxElapsed time.Duration
	// MaxWait caps any single wait, including one a server asks for with
	// Retry-After.
	MaxWait time.Duration
	// BackoffMin and BackoffMax shape the jittered exponential backoff used
	// when a server asks to wait without saying how long: the n-th wait is
	// random in [BackoffMin, BackoffMin*2^n], at most BackoffMax.
	BackoffMin, BackoffMax time.Duration
	// TransportRetries is how many times a send is retried after a
	// connection error, a 5xx or a 429; a negative value turns transport
	// retries off. A request is retried only if it is safe to send again:
	// its method is idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or
	// it carries an idempotency key.
	TransportRetries int
	// MaxBodyBuffer is the largest request body the client buffers when the
	// request has no GetBody, and the largest representation a recovery
	// reads. A larger request body is sent once and never again: its call
	// gets no transport retries and no recovery.
	MaxBodyBuffer int64
	// BaseCacheBytes bounds the memory of the representations remembered
	// as merge bases (see [WithBase]).
	BaseCacheBytes int64
}

// DefaultLimits returns the limits of a client configured without
// [WithLimits].
func DefaultLimits() Limits {
	return Limits{
		MaxAttempts:      32,
		MaxElapsed:       30 * time.Second,
		MaxWait:          10 * time.Second,
		BackoffMin:       50 * time.Millisecond,
		BackoffMax:       2 * time.Second,
		TransportRetries: 3,
		MaxBodyBuffer:    1 << 20,
		BaseCacheBytes:   32 << 20,
	}
}

// over returns d with the fields of l that are set: positive, or, for
// TransportRetries, non-zero (a negative value turns retries off).
func (l Limits) over(d Limits) Limits {
	set := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	if l.MaxAttempts > 0 {
		d.MaxAttempts = l.MaxAttempts
	}
	set(&d.MaxElapsed, l.MaxElapsed)
	set(&d.MaxWait, l.MaxWait)
	set(&d.BackoffMin, l.BackoffMin)
	set(&d.BackoffMax, l.BackoffMax)
	if l.TransportRetries != 0 {
		d.TransportRetries = l.TransportRetries
	}
	if l.MaxBodyBuffer > 0 {
		d.MaxBodyBuffer = l.MaxBodyBuffer
	}
	if l.BaseCacheBytes > 0 {
		d.BaseCacheBytes = l.BaseCacheBytes
	}
	return d
}

// An Option configures a [Client] in [New].
type Option func(*config)

type config struct {
	httpClient *http.Client
	transport  http.RoundTripper
	rules      []rule
	classifier Classifier
	limits     Limits
	hook       func(context.Context, Event)
	logger     *slog.Logger
	keyHeader  string
	keyQuoted  bool
	// wait replaces the timer-based wait in tests.
	wait func(ctx context.Context, d time.Duration) error
}

// WithHTTPClient sets the client that sends requests through [Client.Do]:
// its Transport, Timeout, CheckRedirect and Jar apply to every send. (Through
// [Client.RoundTrip] only its Transport is used: the *http.Client around the
// RoundTripper, such as [Client.StandardClient], follows redirects and keeps
// cookies.) If not set, a client with its own clone of
// [http.DefaultTransport] is used.
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) { cfg.httpClient = c }
}

// WithTransport sets the RoundTripper that sends every request, for
// transports that compose (an oauth2.Transport, an otelhttp.Transport). With
// [WithHTTPClient] too, it replaces that client's Transport.
func WithTransport(rt http.RoundTripper) Option {
	return func(cfg *config) { cfg.transport = rt }
}

// WithRule sets how the endpoints matching pattern recover from conflicts.
//
// The pattern is written like an [http.ServeMux] pattern of Go 1.22:
// "PUT /documents/{id}", "POST /users", "/orders/{id}/{action}". A pattern
// without a method matches every method. When several rules match a
// request, the most specific wins, as in ServeMux. A malformed pattern, two
// rules with the same pattern, or a malformed field of the rule (see
// [Rule]) make New panic, as ServeMux.Handle does, with a message that names
// the pattern and the field.
func WithRule(pattern string, r Rule) Option {
	return func(cfg *config) { cfg.rules = append(cfg.rules, rule{pattern: pattern, Rule: r}) }
}

// WithClassifier sets how responses are classified: the API's own reason
// codes ([Classifier.Reasons]) and how much of a body is read. The reasons
// map is copied.
func WithClassifier(cl Classifier) Option {
	return func(cfg *config) {
		if cl.Reasons != nil {
			m := make(map[string]Kind, len(cl.Reasons))
			for k, v := range cl.Reasons {
				m[k] = v
			}
			cl.Reasons = m
		}
		cfg.classifier = cl
	}
}

// WithLimits sets the client's limits: each field of l that is set
// (positive; for TransportRetries, non-zero) replaces the default, so that
// several WithLimits options combine.
func WithLimits(l Limits) Option {
	return func(cfg *config) { cfg.limits = l.over(cfg.limits) }
}

// WithHook calls fn with the call's context and an [Event] at each step of
// every call: a conflict classified, a refresh, a merge, a wait, a re-send,
// an adoption, an abort, a transport retry, the end. fn runs synchronously on
// the calling goroutine and must not block. The context is the request's, so
// a hook finds the active trace span in it.
func WithHook(fn func(context.Context, Event)) Option {
	return func(cfg *config) { cfg.hook = fn }
}

// WithLogger logs each [Event] to l: at debug level for steps and transport
// retries, warn level for aborts. Without a logger, the client writes
// nothing.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) { cfg.logger = l }
}

// WithIdempotencyHeader sets the header that carries idempotency keys for
// every rule that does not name its own; empty means
// [DefaultIdempotencyHeader]. With quoted, keys are written as
// structured-field strings (Idempotency-Key: "8e03978e-..."), as the IETF
// Idempotency-Key draft specifies; otherwise bare, as most servers expect
// today.
func WithIdempotencyHeader(name string, quoted bool) Option {
	return func(cfg *config) { cfg.keyHeader, cfg.keyQuoted = name, quoted }
}
