// Package retry sends one request with transport-level retries (connection
// errors, 5xx, 429): the loop, its waits and its policy. It decides which
// failures are transient with go-retryablehttp's policy and keeps every
// go-retryablehttp type out of the public API. It knows nothing of
// conflicts; its caller passes everything it needs as arguments.
package retry

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// A Policy bounds the retries of one send.
type Policy struct {
	MaxRetries int // retries after the first try; 0 turns retries off
	WaitMin    time.Duration
	WaitMax    time.Duration
	// MaxRetryAfter caps a server's Retry-After on 429 and 503.
	MaxRetryAfter time.Duration
}

// A SendFunc sends one request once: an http.Client's Do, or an
// http.RoundTripper's RoundTrip.
type SendFunc func(*http.Request) (*http.Response, error)

// A Retry is what Do tells its caller before it retries.
type Retry struct {
	N      int           // 1 for the first retry
	Status int           // the failed try's status, 0 for a transport error
	Err    error         // the failed try's error, if any
	Wait   time.Duration // how long Do is about to wait
}

// An OnRetry hook is called before each retry waits. It returns the context
// that the wait and the retried request use (nil keeps the request's own),
// and false to give up instead: Do then returns the failed try's result.
type OnRetry func(Retry) (context.Context, bool)

// Do sends req with send and retries it, at most p.MaxRetries times, while
// the failure is transient and retryable allows it. Each retry sends a body
// from req.GetBody; a request with a body and no GetBody is never retried.
// The final response, if any, is returned with its body intact even when
// retries ran out, and Do touches nothing of the sender's (it never closes
// idle connections). It never modifies req.
func Do(send SendFunc, req *http.Request, p Policy, retryable bool, on OnRetry) (*http.Response, error) {
	resp, err := send(req)
	if err == nil && !transientStatus(resp.StatusCode) {
		return resp, nil // the common case, kept short
	}
	for n := 1; retryable && n <= p.MaxRetries; n++ {
		ctx := req.Context()
		if ctx.Err() != nil {
			break
		}
		if again, _ := retryablehttp.DefaultRetryPolicy(ctx, resp, err); !again {
			break
		}
		if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
			break
		}
		r := Retry{N: n, Err: err, Wait: p.wait(n-1, resp)}
		if resp != nil {
			r.Status = resp.StatusCode
		}
		if on != nil {
			c, ok := on(r)
			if !ok {
				break
			}
			if c != nil {
				ctx = c
			}
		}
		next := req.WithContext(ctx)
		if req.GetBody != nil {
			body, gerr := req.GetBody()
			if gerr != nil {
				break
			}
			next.Body = body
		}
		if werr := Sleep(ctx, r.Wait); werr != nil {
			if next.Body != nil {
				next.Body.Close()
			}
			Drain(resp)
			return nil, werr
		}
		Drain(resp)
		resp, err = send(next)
		if err == nil && !transientStatus(resp.StatusCode) {
			return resp, nil
		}
	}
	return resp, err
}

// transientStatus reports a status that go-retryablehttp's policy may retry.
func transientStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == 0 || (code >= 500 && code != http.StatusNotImplemented)
}

// wait is how long to wait before retry n+1: the server's Retry-After on 429
// and 503, else jittered backoff; capped.
func (p Policy) wait(n int, resp *http.Response) time.Duration {
	w := Backoff(p.WaitMin, p.WaitMax, n)
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if ra, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), resp.Header.Get("Date"), time.Now()); ok {
			w = ra
		}
	}
	return min(w, p.MaxRetryAfter)
}

// Sleep waits for d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Drain reads a little of a discarded response so that its connection can be
// reused, and closes it.
func Drain(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
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
