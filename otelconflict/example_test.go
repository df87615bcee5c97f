package otelconflict_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"sort"
	"strings"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
	"github.com/go-conflict/conflict/otelconflict"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A stale write, merged: three attempt spans under the caller's span, the
// second and third with their resend count, the conflict on the first and
// the outcome on the last.
func ExampleInstrument() {
	// An SDK that keeps spans and metrics in memory; a program would
	// install exporters, or leave the options out to use the global
	// providers.
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	srv := conflicttest.NewServer()
	defer srv.Close()
	srv.PutDocument("7", `{"title":"Draft","body":"..."}`)

	opts := otelconflict.Instrument(http.DefaultTransport,
		otelconflict.WithTracerProvider(tp), otelconflict.WithMeterProvider(mp))
	opts = append(opts, conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
	c := conflict.New(opts...)

	// Read the document (the base of a later merge); meanwhile someone
	// else edits it.
	get, _ := http.NewRequest("GET", srv.URL+"/documents/7", nil)
	resp, err := c.Do(get)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	srv.PutDocument("7", `{"title":"Draft","body":"Edited elsewhere"}`)

	ctx, op := tp.Tracer("example").Start(context.Background(), "rename document")
	req, _ := http.NewRequestWithContext(ctx, "PUT", srv.URL+"/documents/7",
		strings.NewReader(strings.Replace(string(body), "Draft", "Final", 1)))
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	resp, err = c.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	op.End()

	var attempts []sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		if s.Parent().SpanID() == op.SpanContext().SpanID() {
			attempts = append(attempts, s)
		}
	}
	sort.Slice(attempts, func(i, j int) bool { return attempts[i].StartTime().Before(attempts[j].StartTime()) })
	for _, s := range attempts {
		line := s.Name()
		for _, key := range []attribute.Key{"http.response.status_code", "http.request.resend_count",
			otelconflict.KindKey, otelconflict.RecoveryKey, otelconflict.OutcomeKey} {
			for _, kv := range s.Attributes() {
				if kv.Key == key {
					line += fmt.Sprintf(" %s=%s", kv.Key, kv.Value.Emit())
				}
			}
		}
		fmt.Println(line)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			p := d.DataPoints[0]
			fmt.Println(m.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Value)
		case metricdata.Histogram[int64]:
			p := d.DataPoints[0]
			fmt.Println(m.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), "count", p.Count, "sum", p.Sum)
		}
	}
	// Output:
	// PUT http.response.status_code=412 conflict.kind=stale_version conflict.recovery=["refresh","merge","resend"]
	// GET http.response.status_code=200 http.request.resend_count=1
	// PUT http.response.status_code=200 http.request.resend_count=2 conflict.outcome=merged
	// conflict.conflicts conflict.kind=stale_version,http.request.method=PUT 1
	// conflict.calls conflict.kind=stale_version,conflict.outcome=merged 1
	// conflict.call.attempts conflict.kind=stale_version,conflict.outcome=merged count 1 sum 2
}
