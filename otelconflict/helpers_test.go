package otelconflict_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-conflict/conflict/otelconflict"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// telemetry is an SDK that keeps every span and metric in memory.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t testing.TB) *telemetry {
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	return tel
}

func (tel *telemetry) options() []otelconflict.Option {
	return []otelconflict.Option{
		otelconflict.WithTracerProvider(tel.tp),
		otelconflict.WithMeterProvider(tel.mp),
		otelconflict.WithPropagators(propagation.TraceContext{}),
	}
}

// parent starts the caller's own span, which the attempts are children of.
func (tel *telemetry) parent(name string) (context.Context, trace.Span) {
	return tel.tp.Tracer("test").Start(context.Background(), name)
}

// attempts returns the ended client spans of the trace of parent, first
// started first.
func (tel *telemetry) attempts(parent trace.Span) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tel.spans.Ended() {
		if s.SpanKind() == trace.SpanKindClient && s.SpanContext().TraceID() == parent.SpanContext().TraceID() {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartTime().Before(out[j].StartTime()) })
	return out
}

func (tel *telemetry) collect(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// counter returns the points of an int64 counter as "k=v,k=v" -> value.
func counter(t testing.TB, rm metricdata.ResourceMetrics, name string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("%s is a %T, want a Sum[int64]", name, m.Data)
			}
			for _, p := range sum.DataPoints {
				out[setString(p.Attributes)] += p.Value
			}
		}
	}
	return out
}

// histogram returns the points of an int64 histogram as "k=v,k=v" ->
// "count=N sum=N".
func histogram(t testing.TB, rm metricdata.ResourceMetrics, name string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			h, ok := m.Data.(metricdata.Histogram[int64])
			if !ok {
				t.Fatalf("%s is a %T, want a Histogram[int64]", name, m.Data)
			}
			for _, p := range h.DataPoints {
				out[setString(p.Attributes)] = fmt.Sprintf("count=%d sum=%d", p.Count, p.Sum)
			}
		}
	}
	return out
}

func setString(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.Emit())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// attr returns the value of attribute key on s, emitted as a string, or
// "<none>".
func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			if kv.Value.Type() == attribute.STRINGSLICE {
				return strings.Join(kv.Value.AsStringSlice(), ",")
			}
			return kv.Value.Emit()
		}
	}
	return "<none>"
}

// events returns the names of the span events of s.
func events(s sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, e := range s.Events() {
		out = append(out, e.Name)
	}
	return out
}

// want checks attributes of a span: key -> value ("<none>" for absent).
func want(t testing.TB, i int, s sdktrace.ReadOnlySpan, kv map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if got := attr(s, k); got != kv[k] {
			t.Errorf("span %d (%s %s): %s = %q, want %q", i, s.Name(), attr(s, "url.full"), k, got, kv[k])
		}
	}
}

func request(t testing.TB, ctx context.Context, method, url, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// readAll reads and closes resp's body.
func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
