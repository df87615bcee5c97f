package otelconflict_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
	"github.com/go-conflict/conflict/otelconflict"
	"go.opentelemetry.io/otel/codes"
)

func newClient(tel *telemetry, opts ...conflict.Option) *conflict.Client {
	return conflict.New(append(otelconflict.Instrument(nil, tel.options()...), opts...)...)
}

// A stale write: the 412, the refresh read and the merged re-send are three
// client spans of the caller's trace, with resend counts 1 and 2 on the
// second and third.
func TestMerged(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.PutDocument("7", `{"title":"Draft","body":"..."}`)
	tel := newTelemetry(t)
	c := newClient(tel, conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))

	// Read the base through the client, outside the traced operation.
	resp, err := c.Do(request(t, context.Background(), "GET", srv.URL+"/documents/7?token=secret", ""))
	if err != nil {
		t.Fatal(err)
	}
	etag := resp.Header.Get("ETag")
	body := readAll(t, resp)
	srv.PutDocument("7", `{"title":"Draft","body":"Edited elsewhere"}`)

	ctx, parent := tel.parent("save")
	req := request(t, ctx, "PUT", srv.URL+"/documents/7?token=secret", strings.Replace(body, "Draft", "Final", 1))
	req.Header.Set("If-Match", etag)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	parent.End()
	if got := conflict.ResultOf(resp).Outcome; got != conflict.Merged {
		t.Fatalf("outcome = %s, want merged", got)
	}

	spans := tel.attempts(parent)
	if len(spans) != 3 {
		t.Fatalf("%d client spans, want 3 (PUT, GET, PUT)", len(spans))
	}
	url := srv.URL + "/documents/7"
	want(t, 0, spans[0], map[string]string{
		"http.request.method": "PUT", "url.full": url, "http.response.status_code": "412", "error.type": "412",
		"http.request.resend_count": "<none>",
		"conflict.kind":             "stale_version", "conflict.recovery": "refresh,merge,resend", "conflict.outcome": "<none>",
	})
	want(t, 1, spans[1], map[string]string{
		"http.request.method": "GET", "url.full": url, "http.response.status_code": "200",
		"http.request.resend_count": "1", "conflict.kind": "<none>",
	})
	want(t, 2, spans[2], map[string]string{
		"http.request.method": "PUT", "url.full": url, "http.response.status_code": "200", "error.type": "<none>",
		"http.request.resend_count": "2", "conflict.kind": "<none>", "conflict.outcome": "merged",
	})
	for i, s := range spans {
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %d is not a child of the caller's span: no logical span may stand between", i)
		}
	}
	if got := events(spans[0]); !slices.Equal(got, []string{"conflict.refresh", "conflict.merge", "conflict.resend"}) {
		t.Errorf("events of the conflict span = %q", got)
	}
	if spans[0].Status().Code != codes.Error || spans[2].Status().Code != codes.Unset {
		t.Errorf("statuses = %v, %v; want Error for the 412, Unset for the 200", spans[0].Status(), spans[2].Status())
	}
	if got := attr(spans[0], "conflict.reason"); got == "<none>" {
		t.Error("the conflict span has no conflict.reason")
	}

	rm := tel.collect(t)
	if got := counter(t, rm, otelconflict.ConflictsMetric); len(got) != 1 || got["conflict.kind=stale_version,http.request.method=PUT"] != 1 {
		t.Errorf("conflicts = %v", got)
	}
	if got := counter(t, rm, otelconflict.CallsMetric); len(got) != 1 || got["conflict.kind=stale_version,conflict.outcome=merged"] != 1 {
		t.Errorf("calls = %v", got)
	}
	if got := histogram(t, rm, otelconflict.CallAttemptsMetric); len(got) != 1 || got["conflict.kind=stale_version,conflict.outcome=merged"] != "count=1 sum=2" {
		t.Errorf("attempts = %v", got)
	}
}

// A duplicate create: the 409 and the read of the existing resource; the
// call returns that resource, so its outcome is on the conflict's span.
func TestAdopted(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	const user = `{"email":"ana@example.com","name":"Ana"}`
	resp, err := srv.Client().Do(request(t, context.Background(), "POST", srv.URL+"/users", user))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)

	tel := newTelemetry(t)
	c := newClient(tel)
	ctx, parent := tel.parent("signup")
	resp, err = c.Do(request(t, ctx, "POST", srv.URL+"/users", user))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	parent.End()
	if r := conflict.ResultOf(resp); r.Outcome != conflict.Adopted || resp.StatusCode != http.StatusCreated {
		t.Fatalf("%d %s, want 201 adopted", resp.StatusCode, r.Outcome)
	}

	spans := tel.attempts(parent)
	if len(spans) != 2 {
		t.Fatalf("%d client spans, want 2 (POST, GET)", len(spans))
	}
	want(t, 0, spans[0], map[string]string{
		"http.request.method": "POST", "http.response.status_code": "409", "http.request.resend_count": "<none>",
		"conflict.kind": "duplicate", "conflict.recovery": "adopt", "conflict.outcome": "adopted",
	})
	want(t, 1, spans[1], map[string]string{
		"http.request.method": "GET", "url.full": srv.URL + "/users/u_1", "http.response.status_code": "200",
		"http.request.resend_count": "1", "conflict.outcome": "<none>",
	})

	rm := tel.collect(t)
	if got := counter(t, rm, otelconflict.ConflictsMetric); got["conflict.kind=duplicate,http.request.method=POST"] != 1 || len(got) != 1 {
		t.Errorf("conflicts = %v", got)
	}
	if got := counter(t, rm, otelconflict.CallsMetric); got["conflict.kind=duplicate,conflict.outcome=adopted"] != 1 || len(got) != 1 {
		t.Errorf("calls = %v", got)
	}
	if got := histogram(t, rm, otelconflict.CallAttemptsMetric); got["conflict.kind=duplicate,conflict.outcome=adopted"] != "count=1 sum=1" {
		t.Errorf("attempts = %v", got)
	}
}

// An idempotency key in flight: the 409, a wait, and the re-send with the
// same key, which the server replays.
func TestWaited(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer(conflicttest.WithFaults(conflicttest.Faults{
		InFlight: 300 * time.Millisecond,
		Routes:   []string{"POST /users"},
	}))
	t.Cleanup(srv.Close)
	const user = `{"email":"dee@example.com","name":"Dee"}`

	// Another process holds the key.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		req := request(t, context.Background(), "POST", srv.URL+"/users", user)
		req.Header.Set("Idempotency-Key", "key-1")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		readAll(t, resp)
	}()
	for srv.Stats().Requests["POST /users"] == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)

	tel := newTelemetry(t)
	// The server asks for Retry-After: 1; one wait of 800ms outlasts the
	// 300ms the key is in flight.
	c := newClient(tel, conflict.WithLimits(conflict.Limits{MaxWait: 800 * time.Millisecond}))
	ctx, parent := tel.parent("signup")
	resp, err := c.Do(request(t, conflict.WithIdempotencyKey(ctx, "key-1"), "POST", srv.URL+"/users", user))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	parent.End()
	wg.Wait()
	if r := conflict.ResultOf(resp); r.Outcome != conflict.Waited {
		t.Fatalf("outcome = %s, want waited", r.Outcome)
	}

	spans := tel.attempts(parent)
	if len(spans) != 2 {
		t.Fatalf("%d client spans, want 2 (POST, POST)", len(spans))
	}
	want(t, 0, spans[0], map[string]string{
		"http.request.method": "POST", "http.response.status_code": "409", "http.request.resend_count": "<none>",
		"conflict.kind": "idempotency_in_use", "conflict.recovery": "wait,resend", "conflict.outcome": "<none>",
	})
	want(t, 1, spans[1], map[string]string{
		"http.request.method": "POST", "http.response.status_code": "201", "http.request.resend_count": "1",
		"conflict.kind": "<none>", "conflict.outcome": "waited",
	})
	if ev := spans[0].Events(); len(ev) == 0 || ev[0].Name != "conflict.wait" || len(ev[0].Attributes) == 0 ||
		ev[0].Attributes[0].Key != otelconflict.WaitKey || ev[0].Attributes[0].Value.AsFloat64() != 0.8 {
		t.Errorf("events = %+v, want conflict.wait of 0.8s first", ev)
	}

	rm := tel.collect(t)
	if got := counter(t, rm, otelconflict.ConflictsMetric); got["conflict.kind=idempotency_in_use,http.request.method=POST"] != 1 || len(got) != 1 {
		t.Errorf("conflicts = %v", got)
	}
	if got := counter(t, rm, otelconflict.CallsMetric); got["conflict.kind=idempotency_in_use,conflict.outcome=waited"] != 1 || len(got) != 1 {
		t.Errorf("calls = %v", got)
	}
	if got := histogram(t, rm, otelconflict.CallAttemptsMetric); got["conflict.kind=idempotency_in_use,conflict.outcome=waited"] != "count=1 sum=2" {
		t.Errorf("attempts = %v", got)
	}
}

// An invalid transition is not recovered: one span, which carries the
// conflict, the outcome and why.
func TestAborted(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Do(request(t, context.Background(), "POST", srv.URL+"/orders", `{"item":"book"}`))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)

	tel := newTelemetry(t)
	c := newClient(tel)
	ctx, parent := tel.parent("ship")
	_, err = c.Do(request(t, ctx, "POST", srv.URL+"/orders/o_1/ship", ""))
	parent.End()
	var e *conflict.Error
	if !errors.As(err, &e) || e.Conflict.Kind != conflict.InvalidTransition {
		t.Fatalf("err = %v, want an invalid transition", err)
	}

	spans := tel.attempts(parent)
	if len(spans) != 1 {
		t.Fatalf("%d client spans, want 1", len(spans))
	}
	want(t, 0, spans[0], map[string]string{
		"http.request.method": "POST", "http.response.status_code": "409", "error.type": "409",
		"http.request.resend_count": "<none>", "conflict.kind": "invalid_transition", "conflict.reason": "invalid_transition",
		"conflict.recovery": "<none>", "conflict.outcome": "aborted", "conflict.abort_reason": "unrecoverable",
	})

	rm := tel.collect(t)
	if got := counter(t, rm, otelconflict.ConflictsMetric); got["conflict.kind=invalid_transition,http.request.method=POST"] != 1 || len(got) != 1 {
		t.Errorf("conflicts = %v", got)
	}
	if got := counter(t, rm, otelconflict.CallsMetric); got["conflict.kind=invalid_transition,conflict.outcome=aborted"] != 1 || len(got) != 1 {
		t.Errorf("calls = %v", got)
	}
	if got := histogram(t, rm, otelconflict.CallAttemptsMetric); got["conflict.kind=invalid_transition,conflict.outcome=aborted"] != "count=1 sum=1" {
		t.Errorf("attempts = %v", got)
	}
}

// ServerWins: the call returns the state read in the refresh, so its
// outcome is on the conflict's span.
func TestServerWon(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.PutDocument("7", `{"title":"Draft"}`)
	srv.PutDocument("7", `{"title":"Theirs"}`)
	tel := newTelemetry(t)
	c := newClient(tel, conflict.WithRule("PUT /documents/{id}", conflict.Rule{Resolve: conflict.ServerWins}))

	ctx, parent := tel.parent("save")
	req := request(t, ctx, "PUT", srv.URL+"/documents/7", `{"title":"Mine"}`)
	req.Header.Set("If-Match", `"1"`)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	parent.End()
	if r := conflict.ResultOf(resp); r.Outcome != conflict.ServerWon {
		t.Fatalf("outcome = %s, want server_won", r.Outcome)
	}
	spans := tel.attempts(parent)
	if len(spans) != 2 {
		t.Fatalf("%d client spans, want 2 (PUT, GET)", len(spans))
	}
	want(t, 0, spans[0], map[string]string{"conflict.kind": "stale_version", "conflict.recovery": "refresh", "conflict.outcome": "server_won"})
	want(t, 1, spans[1], map[string]string{"http.request.method": "GET", "http.request.resend_count": "1", "conflict.outcome": "<none>"})
}

// A transport retry is a span of its own with a resend count; a call that
// met no conflict records no conflict metric.
func TestTransportRetry(t *testing.T) {
	t.Parallel()
	var n int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	tel := newTelemetry(t)
	c := newClient(tel)
	ctx, parent := tel.parent("put")
	resp, err := c.Do(request(t, ctx, "PUT", srv.URL+"/things/1", `{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	parent.End()
	spans := tel.attempts(parent)
	if len(spans) != 2 {
		t.Fatalf("%d client spans, want 2", len(spans))
	}
	want(t, 0, spans[0], map[string]string{"http.response.status_code": "503", "error.type": "503", "http.request.resend_count": "<none>"})
	want(t, 1, spans[1], map[string]string{"http.response.status_code": "204", "http.request.resend_count": "1", "conflict.outcome": "<none>"})
	rm := tel.collect(t)
	if got := counter(t, rm, otelconflict.CallsMetric); len(got) != 0 {
		t.Errorf("calls = %v, want none", got)
	}
}

// Outside a conflict.Client, the transport is a plain tracing transport:
// a span per request, ended at the end of the body, a resend count for each
// redirect, and no user information or query in url.full.
func TestTransportAlone(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		w.Write([]byte("hello"))
	}))
	t.Cleanup(srv.Close)
	tel := newTelemetry(t)
	hc := &http.Client{Transport: otelconflict.Transport(nil, tel.options()...)}
	ctx, parent := tel.parent("get")
	u := strings.Replace(srv.URL, "http://", "http://user:pass@", 1) + "/old?q=secret"
	resp, err := hc.Do(request(t, ctx, "GET", u, ""))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64)
	for err == nil {
		_, err = resp.Body.Read(b) // to EOF, not closed
	}
	spans := tel.attempts(parent)
	if len(spans) != 2 {
		t.Fatalf("%d ended client spans, want 2: a span ends at the end of its body", len(spans))
	}
	resp.Body.Close()
	want(t, 0, spans[0], map[string]string{
		"url.full": srv.URL + "/old", "http.response.status_code": "302", "http.request.resend_count": "<none>",
		"server.address": "127.0.0.1",
	})
	want(t, 1, spans[1], map[string]string{"url.full": srv.URL + "/new", "http.response.status_code": "200", "http.request.resend_count": "1"})
	if spans[0].Name() != "GET" || attr(spans[0], "server.port") == "<none>" {
		t.Errorf("span name %q, server.port %s", spans[0].Name(), attr(spans[0], "server.port"))
	}
}

// Concurrent calls through one client keep their conflicts and outcomes
// apart.
func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	const n = 12
	for range n {
		resp, err := srv.Client().Do(request(t, context.Background(), "POST", srv.URL+"/orders", `{"item":"book"}`))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	tel := newTelemetry(t)
	c := newClient(tel)
	ctx, parent := tel.parent("ship all")
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Do(request(t, ctx, "POST", srv.URL+"/orders/o_"+strconv.Itoa(i+1)+"/ship", ""))
			if !errors.Is(err, conflict.ErrUnrecoverable) {
				t.Errorf("order %d: err = %v", i+1, err)
			}
		}()
	}
	wg.Wait()
	parent.End()
	spans := tel.attempts(parent)
	if len(spans) != n {
		t.Fatalf("%d client spans, want %d", len(spans), n)
	}
	for i, s := range spans {
		want(t, i, s, map[string]string{"conflict.kind": "invalid_transition", "conflict.outcome": "aborted", "http.request.resend_count": "<none>"})
	}
	rm := tel.collect(t)
	if got := counter(t, rm, otelconflict.CallsMetric); got["conflict.kind=invalid_transition,conflict.outcome=aborted"] != n {
		t.Errorf("calls = %v", got)
	}
	if got := histogram(t, rm, otelconflict.CallAttemptsMetric); got["conflict.kind=invalid_transition,conflict.outcome=aborted"] != "count=12 sum=12" {
		t.Errorf("attempts = %v", got)
	}
}
