package retry

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	lo, hi := 10*time.Millisecond, 100*time.Millisecond
	for n := 0; n < 40; n++ {
		ceil := min(hi, lo<<min(n, 30))
		for range 50 {
			if d := Backoff(lo, hi, n); d < lo || d > max(ceil, lo) {
				t.Fatalf("Backoff(%v, %v, %d) = %v, want in [%v, %v]", lo, hi, n, d, lo, ceil)
			}
			if d := FullJitter(lo, hi, n); d < 0 || d > ceil {
				t.Fatalf("FullJitter(%v, %v, %d) = %v, want in [0, %v]", lo, hi, n, d, ceil)
			}
		}
	}
	if Backoff(0, hi, 3) != 0 || FullJitter(0, 0, 3) != 0 {
		t.Error("zero bases must give zero waits")
	}
}

// withPermission returns a context carrying p, as call does for itself.
func withPermission(ctx context.Context, p Permission) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

type perm struct {
	may    bool
	failed int
}

func (p *perm) MayRetry() bool             { return p.may }
func (p *perm) Failed(status int, _ error) { p.failed = status }
func (p *perm) Retrying(int)               {}

func TestCheckRetry(t *testing.T) {
	t.Parallel()
	resp503 := &http.Response{StatusCode: 503}
	cases := []struct {
		name string
		ctx  func() context.Context
		resp *http.Response
		err  error
		want bool
	}{
		{"no permission", context.Background, resp503, nil, false},
		{"permission refused", func() context.Context { return withPermission(context.Background(), &perm{may: false}) }, resp503, nil, false},
		{"503 allowed", func() context.Context { return withPermission(context.Background(), &perm{may: true}) }, resp503, nil, true},
		{"connection error allowed", func() context.Context { return withPermission(context.Background(), &perm{may: true}) }, nil, errors.New("reset"), true},
		{"409 never", func() context.Context { return withPermission(context.Background(), &perm{may: true}) }, &http.Response{StatusCode: 409}, nil, false},
		{"cancelled", func() context.Context {
			ctx, cancel := context.WithCancel(withPermission(context.Background(), &perm{may: true}))
			cancel()
			return ctx
		}, resp503, nil, false},
	}
	for _, tc := range cases {
		got, _ := checkRetry(tc.ctx(), tc.resp, tc.err)
		if got != tc.want {
			t.Errorf("%s: retry = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v, date string
		want    time.Duration
		ok      bool
	}{
		{"", "", 0, false},
		{"-1", "", 0, false},
		{"7", "", 7 * time.Second, true},
		{"x", "", 0, false},
		{now.Add(time.Minute).Format(http.TimeFormat), "", time.Minute, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), "", 0, true},
		{"99999999", "", MaxRetryAfter, true},
	} {
		got, ok := ParseRetryAfter(tc.v, tc.date, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}
