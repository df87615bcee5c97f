package otelconflict_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
	"github.com/go-conflict/conflict/otelconflict"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// auth adds a credential to every request, as an oauth2.Transport does, and
// notes what it saw.
type auth struct {
	base http.RoundTripper

	mu           sync.Mutex
	inSpan       []bool // a recording span was in the request's context
	traceparents []string
}

func (a *auth) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	a.inSpan = append(a.inSpan, trace.SpanFromContext(r.Context()).IsRecording())
	a.traceparents = append(a.traceparents, r.Header.Get("Traceparent"))
	a.mu.Unlock()
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer t0ken")
	return a.base.RoundTrip(r)
}

// The order of composition: conflict.Client → otelconflict.Transport →
// auth → network. The credential is added inside the attempt's span, so
// the span times it, and it sees the traceparent; every recovery read and
// re-send carries the credential too. On the server, otelhttp's handler
// continues each attempt's trace: each server span is the child of its
// client span.
func TestComposition(t *testing.T) {
	t.Parallel()
	api := conflicttest.NewUnstartedServer()
	t.Cleanup(api.Close)
	api.PutDocument("7", `{"title":"Draft","body":"..."}`)
	tel := newTelemetry(t)

	var mu sync.Mutex
	var authorized []string
	front := httptest.NewServer(otelhttp.NewHandler(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			authorized = append(authorized, r.Header.Get("Authorization"))
			mu.Unlock()
			api.Handler().ServeHTTP(w, r)
		}),
		"api",
		otelhttp.WithTracerProvider(tel.tp),
		otelhttp.WithPropagators(propagation.TraceContext{}),
	))
	t.Cleanup(front.Close)

	a := &auth{base: http.DefaultTransport}
	c := conflict.New(append(otelconflict.Instrument(a, tel.options()...),
		conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))...)

	resp, err := c.Do(request(t, context.Background(), "GET", front.URL+"/documents/7", ""))
	if err != nil {
		t.Fatal(err)
	}
	etag := resp.Header.Get("ETag")
	body := readAll(t, resp)
	api.PutDocument("7", `{"title":"Draft","body":"Edited elsewhere"}`)

	ctx, parent := tel.parent("save")
	req := request(t, ctx, "PUT", front.URL+"/documents/7", strings.Replace(body, "Draft", "Final", 1))
	req.Header.Set("If-Match", etag)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	parent.End()

	clients := tel.attempts(parent)
	if len(clients) != 3 {
		t.Fatalf("%d client spans, want 3", len(clients))
	}
	var servers int
	for _, s := range tel.spans.Ended() {
		if s.SpanKind() != trace.SpanKindServer || s.SpanContext().TraceID() != parent.SpanContext().TraceID() {
			continue
		}
		servers++
		found := false
		for _, cs := range clients {
			found = found || s.Parent().SpanID() == cs.SpanContext().SpanID()
		}
		if !found {
			t.Errorf("server span %s is not the child of a client attempt span", s.Name())
		}
	}
	if servers != 3 {
		t.Errorf("%d server spans in the trace, want 3", servers)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.inSpan {
		if !a.inSpan[i] || !strings.HasPrefix(a.traceparents[i], "00-") {
			t.Errorf("request %d reached the inner RoundTripper outside a span (traceparent %q)", i, a.traceparents[i])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(authorized) != 4 {
		t.Fatalf("the server saw %d requests, want 4", len(authorized))
	}
	for i, h := range authorized {
		if h != "Bearer t0ken" {
			t.Errorf("request %d carried Authorization %q", i, h)
		}
	}
}

// A RoundTripper that wraps the tracing transport runs outside the span:
// it sees no span and no traceparent.
func TestCompositionOutside(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	tel := newTelemetry(t)
	a := &auth{base: otelconflict.Transport(nil, tel.options()...)}
	c := conflict.New(conflict.WithTransport(a))
	resp, err := c.Do(request(t, context.Background(), "GET", srv.URL, ""))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if a.inSpan[0] || a.traceparents[0] != "" {
		t.Errorf("the outer RoundTripper saw a span (%v) or a traceparent (%q)", a.inSpan[0], a.traceparents[0])
	}
	if n := len(tel.spans.Ended()); n != 1 {
		t.Errorf("%d spans, want 1", n)
	}
}

// Why otelhttp's own Transport is not enough: it sets no resend count, and
// it ends a span when the body is read to its end, which the client does to
// classify the conflict before the hook is told of it. Pinned to the
// otelhttp release in go.mod; if it starts to pass, the package
// documentation should say so.
func TestOtelhttpTransportLosesTheConflict(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.PutDocument("7", `{"title":"Draft"}`)
	srv.PutDocument("7", `{"title":"Theirs"}`)
	tel := newTelemetry(t)
	c := conflict.New(
		conflict.WithTransport(otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithTracerProvider(tel.tp))),
		conflict.WithHook(otelconflict.Hook(tel.options()...)),
		conflict.WithRule("PUT /documents/{id}", conflict.Rule{Resolve: conflict.ServerWins}),
	)
	ctx, parent := tel.parent("save")
	req := request(t, ctx, "PUT", srv.URL+"/documents/7", `{"title":"Mine"}`)
	req.Header.Set("If-Match", `"1"`)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	parent.End()
	spans := tel.attempts(parent)
	if len(spans) != 2 {
		t.Fatalf("%d client spans, want 2", len(spans))
	}
	want(t, 0, spans[0], map[string]string{"conflict.kind": "<none>", "http.request.resend_count": "<none>"})
	want(t, 1, spans[1], map[string]string{"http.request.resend_count": "<none>"})
}
