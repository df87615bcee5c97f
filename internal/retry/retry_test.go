package retry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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

func TestDo(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/flaky":
			if n%3 != 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "busy")
				return
			}
			w.Write(body)
		case "/down":
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "last words")
		case "/conflict":
			w.WriteHeader(http.StatusConflict)
		}
	}))
	defer srv.Close()
	p := Policy{MaxRetries: 3, WaitMin: time.Millisecond, WaitMax: 2 * time.Millisecond, MaxRetryAfter: time.Second}
	send := srv.Client().Do
	newReq := func(path, body string) *http.Request {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+path, strings.NewReader(body))
		return req
	}

	t.Run("retries a transient failure with the body again", func(t *testing.T) {
		hits.Store(0)
		var seen []Retry
		resp, err := Do(send, newReq("/flaky", "payload"), p, true, func(r Retry) (context.Context, bool) {
			seen = append(seen, r)
			return nil, true
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != "payload" || len(seen) != 2 || seen[0].Status != 503 || seen[1].N != 2 {
			t.Errorf("status %d body %q retries %+v", resp.StatusCode, got, seen)
		}
	})
	t.Run("not retryable: one try", func(t *testing.T) {
		hits.Store(0)
		resp, err := Do(send, newReq("/flaky", "x"), p, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		Drain(resp)
		if resp.StatusCode != 503 || hits.Load() != 1 {
			t.Errorf("status %d after %d tries", resp.StatusCode, hits.Load())
		}
	})
	t.Run("a body without GetBody is sent once", func(t *testing.T) {
		hits.Store(0)
		req := newReq("/flaky", "x")
		req.GetBody = nil
		resp, err := Do(send, req, p, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		Drain(resp)
		if hits.Load() != 1 {
			t.Errorf("%d tries", hits.Load())
		}
	})
	t.Run("giving up returns the last response, body intact", func(t *testing.T) {
		hits.Store(0)
		resp, err := Do(send, newReq("/down", ""), p, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 502 || string(got) != "last words" || hits.Load() != 4 {
			t.Errorf("status %d body %q after %d tries", resp.StatusCode, got, hits.Load())
		}
	})
	t.Run("the hook can give up", func(t *testing.T) {
		hits.Store(0)
		resp, err := Do(send, newReq("/down", ""), p, true, func(Retry) (context.Context, bool) { return nil, false })
		if err != nil {
			t.Fatal(err)
		}
		Drain(resp)
		if hits.Load() != 1 {
			t.Errorf("%d tries", hits.Load())
		}
	})
	t.Run("409 is never retried", func(t *testing.T) {
		hits.Store(0)
		resp, err := Do(send, newReq("/conflict", ""), p, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		Drain(resp)
		if resp.StatusCode != 409 || hits.Load() != 1 {
			t.Errorf("status %d after %d tries", resp.StatusCode, hits.Load())
		}
	})
	t.Run("a context that ends during the wait", func(t *testing.T) {
		hits.Store(0)
		ctx, cancel := context.WithCancel(context.Background())
		slow := p
		slow.WaitMin, slow.WaitMax = time.Hour, time.Hour
		slow.MaxRetryAfter = time.Hour
		resp, err := Do(send, newReq("/down", "").WithContext(ctx), slow, true, func(Retry) (context.Context, bool) {
			cancel()
			return nil, true
		})
		if !errors.Is(err, context.Canceled) || resp != nil || hits.Load() != 1 {
			t.Errorf("resp %v, err %v after %d tries; want the context's error at once", resp, err, hits.Load())
		}
	})
	t.Run("connection errors are retried", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		url := dead.URL
		dead.Close()
		var n int
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		_, err := Do(http.DefaultClient.Do, req, p, true, func(r Retry) (context.Context, bool) {
			n++
			if r.Err == nil || r.Status != 0 {
				t.Errorf("retry %+v", r)
			}
			return nil, true
		})
		if err == nil || n != 3 {
			t.Errorf("err %v after %d retries", err, n)
		}
	})
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
