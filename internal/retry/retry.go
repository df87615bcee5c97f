// Package retry is the one place that uses go-retryablehttp: it sends a
// request with transport-level retries (connection errors, 5xx, 429) and
// keeps every go-retryablehttp type out of the public API.
package retry

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Config is a sender's configuration. Zero fields are not defaulted here;
// the caller fills them in.
type Config struct {
	HTTPClient *http.Client
	Logger     *slog.Logger // nil: silent
	MaxRetries int          // retries after the first try
	WaitMin    time.Duration
	WaitMax    time.Duration
	// MaxRetryAfter caps a server's Retry-After on 429 and 503.
	MaxRetryAfter time.Duration
}

// A Sender sends requests with transport retries. It is safe for concurrent
// use.
type Sender struct {
	c *retryablehttp.Client
}

type ctxKey struct{}

// A Permission says whether the request being sent may be sent again, and
// hears about each retry. It travels in the request's context: the
// context's Value returns it for the key IsPermissionKey recognises. A
// request whose context carries no Permission is never retried.
type Permission interface {
	// MayRetry is asked after every failed try.
	MayRetry() bool
	// Failed is told of a failed try that may be retried: its status (0 for
	// a transport error) and error.
	Failed(status int, err error)
	// Retrying is told that retry n (1 for the first) is about to be sent.
	Retrying(n int)
}

// IsPermissionKey reports whether key is the context key of a Permission,
// for a context type that carries one itself.
func IsPermissionKey(key any) bool {
	_, ok := key.(ctxKey)
	return ok
}

// PermissionFrom returns the Permission in ctx, or nil.
func PermissionFrom(ctx context.Context) Permission {
	p, _ := ctx.Value(ctxKey{}).(Permission)
	return p
}

// New returns a Sender.
func New(cfg Config) *Sender {
	c := retryablehttp.NewClient() // never a zero Client: it panics
	c.HTTPClient = cfg.HTTPClient
	c.Logger = nil // the default writes to stderr
	if cfg.Logger != nil {
		c.Logger = cfg.Logger // *slog.Logger is a LeveledLogger
	}
	c.RetryMax = cfg.MaxRetries
	c.RetryWaitMin = cfg.WaitMin
	c.RetryWaitMax = cfg.WaitMax
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler // keep the last response
	c.CheckRetry = checkRetry
	// Bodies are rewound here, from the request's own GetBody, rather than
	// through SetBody, which calls the body function once more up front.
	c.PrepareRetry = func(req *http.Request) error {
		if req.GetBody == nil {
			return nil
		}
		body, err := req.GetBody()
		if err != nil {
			return err
		}
		req.Body = body
		return nil
	}
	c.RequestLogHook = func(_ retryablehttp.Logger, req *http.Request, attempt int) {
		if p := PermissionFrom(req.Context()); p != nil && attempt > 0 {
			p.Retrying(attempt)
		}
	}
	maxRA := cfg.MaxRetryAfter
	c.Backoff = func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
		wait := Backoff(lo, hi, attempt)
		if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			if ra, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), resp.Header.Get("Date"), time.Now()); ok {
				wait = ra
			}
		}
		return min(wait, maxRA)
	}
	return &Sender{c: c}
}

// FullJitter returns a random duration in [0, min(hi, base*2^n)], the
// "full jitter" backoff that best spreads writers contending for one
// resource.
func FullJitter(base, hi time.Duration, n int) time.Duration {
	ceil := hi
	if n < 30 {
		if c := base << n; c > 0 && c < hi {
			ceil = c
		}
	}
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil + 1)
}

// Backoff is jittered exponential backoff: a random duration in
// [lo, lo*2^attempt], capped at hi. It is a pure function of its
// arguments and the random source, so concurrent callers never share state.
func Backoff(lo, hi time.Duration, attempt int) time.Duration {
	if lo <= 0 {
		return 0
	}
	ceil := hi
	if attempt < 30 {
		if c := lo << attempt; c > 0 && c < hi {
			ceil = c
		}
	}
	if ceil <= lo {
		return lo
	}
	return lo + rand.N(ceil-lo+1)
}

// MaxRetryAfter bounds a parsed Retry-After, so arithmetic on it cannot
// overflow; callers apply their own, lower, caps.
const MaxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After header value: delay-seconds or an
// HTTP-date, measured from date (the response's Date header) when that
// parses, else from now. It reports false for a missing or malformed value;
// a date in the past gives zero.
func ParseRetryAfter(value, date string, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(value)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		switch {
		case secs < 0:
			return 0, false
		case secs > int64(MaxRetryAfter/time.Second):
			return MaxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d, err := http.ParseTime(date); err == nil {
		now = d
	}
	return min(max(at.Sub(now), 0), MaxRetryAfter), true
}

// checkRetry retries what go-retryablehttp's default policy retries, but
// never a request that may not be re-sent, and never after the context ends.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	retry, checkErr := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	if !retry {
		return false, checkErr
	}
	p := PermissionFrom(ctx)
	if p == nil || !p.MayRetry() {
		return false, nil
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	p.Failed(status, err)
	return true, checkErr
}

// Send sends req. Each retry sends a body from req.GetBody; a request
// without GetBody must not be allowed retries. Transport retries happen only
// when the Permission in req's context allows them. req must not be used by
// the caller until the response body is closed. The final response, if any,
// is returned even when the retries ran out; err is then nil.
func (s *Sender) Send(req *http.Request) (*http.Response, error) {
	resp, err := s.c.Do(&retryablehttp.Request{Request: req})
	if resp != nil {
		// PassthroughErrorHandler hands back the final response together
		// with the reason retries stopped; the response says it all.
		return resp, nil
	}
	return nil, err
}

// CloseIdleConnections closes the underlying client's idle connections.
func (s *Sender) CloseIdleConnections() { s.c.HTTPClient.CloseIdleConnections() }
