package otelconflict

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/go-conflict/conflict"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// Transport returns a RoundTripper that sends each request through base
// (http.DefaultTransport if nil) inside a CLIENT span of its own, as the
// package documentation describes, with http.request.resend_count set on
// every request that is not the first its call sent.
func Transport(base http.RoundTripper, opts ...Option) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	cfg := newConfig(opts)
	return &transport{
		base:   base,
		tracer: cfg.tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		prop:   cfg.prop,
	}
}

type transport struct {
	base   http.RoundTripper
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	resends, fromClient := conflict.ResendCount(ctx)
	resends += redirects(r)

	method, original := normalizeMethod(r.Method)
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs, semconv.HTTPRequestMethodKey.String(method))
	if original != "" {
		attrs = append(attrs, semconv.HTTPRequestMethodOriginal(original))
	}
	if host, port := serverOf(r.URL); host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	attrs = append(attrs, semconv.URLFull(redact(r.URL)))
	if resends > 0 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(resends))
	}
	name := method
	if method == "_OTHER" {
		name = "HTTP"
	}
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))

	out := r.Clone(ctx) // a RoundTripper must not modify the request
	t.prop.Inject(ctx, propagation.HeaderCarrier(out.Header))

	resp, err := t.base.RoundTrip(out)
	if err != nil {
		span.SetAttributes(errorType(err))
		span.SetStatus(codes.Error, redactError(err))
		span.End()
		return resp, err
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
	if resp.StatusCode >= 400 {
		// For a client span every 4xx and 5xx is an error; the status code
		// says which, so the status has no description.
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(resp.StatusCode)))
		span.SetStatus(codes.Error, "")
	}
	if resp.Request == nil {
		resp.Request = out // events about resp find the span in its context
	}
	if !fromClient && (resp.Body == nil || resp.Body == http.NoBody) {
		span.End()
		return resp, nil
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	resp.Body = wrapBody(resp.Body, span, !fromClient)
	return resp, nil
}

// redirects counts the redirects that led to r: net/http sets Response on
// each request it makes to follow one.
func redirects(r *http.Request) int {
	n := 0
	for resp := r.Response; resp != nil && n < 100; n++ {
		if resp.Request == nil {
			return n + 1
		}
		resp = resp.Request.Response
	}
	return n
}

// normalizeMethod returns the method as http.request.method spells it, and
// the original when it is not one of the known methods (the comparison is
// case-sensitive, as HTTP's is).
func normalizeMethod(m string) (method, original string) {
	switch m {
	case "":
		return http.MethodGet, ""
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace, "QUERY":
		return m, ""
	}
	return "_OTHER", m
}

// serverOf returns the host and port of u, the port defaulted by the
// scheme.
func serverOf(u *url.URL) (host string, port int) {
	if u == nil {
		return "", 0
	}
	host = u.Hostname()
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
		return host, port
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		port = 80
	case "https":
		port = 443
	}
	return host, port
}

// redact drops user information, query and fragment from u, as the
// conflict package does for its events.
func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return r.String()
}

// redactError returns err's message with the URL of a *url.Error in it
// redacted.
func redactError(err error) string {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) && ue.URL != "" {
		safe := "(unparsable URL)"
		if u, perr := url.Parse(ue.URL); perr == nil {
			safe = redact(u)
		}
		msg = strings.ReplaceAll(msg, ue.URL, safe)
	}
	return msg
}

// errorType classifies a transport error for error.type.
func errorType(err error) attribute.KeyValue {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return semconv.ErrorTypeKey.String("timeout")
	case errors.Is(err, context.Canceled):
		return semconv.ErrorTypeKey.String("canceled")
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	return semconv.ErrorType(err)
}

// wrapBody returns body, which ends span when it is closed, or with endAtEOF
// when it has been read to its end. A body that can be written to (the body
// of a 101 Switching Protocols answer) stays one.
func wrapBody(body io.ReadCloser, span trace.Span, endAtEOF bool) io.ReadCloser {
	b := &spanBody{body: body, span: span, endAtEOF: endAtEOF}
	if w, ok := body.(io.Writer); ok {
		return &spanRWBody{spanBody: b, w: w}
	}
	return b
}

type spanBody struct {
	body     io.ReadCloser
	span     trace.Span
	endAtEOF bool
	once     sync.Once
}

func (b *spanBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		if b.endAtEOF {
			b.end()
		}
	default:
		b.span.SetStatus(codes.Error, redactError(err))
	}
	return n, err
}

func (b *spanBody) Close() error {
	err := b.body.Close()
	b.end()
	return err
}

func (b *spanBody) end() { b.once.Do(func() { b.span.End() }) }

type spanRWBody struct {
	*spanBody
	w io.Writer
}

func (b *spanRWBody) Write(p []byte) (int, error) { return b.w.Write(p) }
