package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestLinesCarryTheTraceOfTheirContext(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:  trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
	})
	traced := trace.ContextWithSpanContext(context.Background(), sc)
	for _, tc := range []struct {
		name      string
		ctx       context.Context
		wantTrace string
	}{
		{"traced", traced, sc.TraceID().String()},
		{"untraced", context.Background(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := New(&buf, "json", "info").With("service", "user").WithGroup("g")
			log.InfoContext(tc.ctx, "rpc", "method", "/x")
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("%q: %v", buf.String(), err)
			}
			g, _ := line["g"].(map[string]any)
			got, _ := g["trace_id"].(string)
			if got != tc.wantTrace {
				t.Errorf("trace_id %q, want %q (line %s)", got, tc.wantTrace, buf.String())
			}
			if tc.wantTrace != "" && g["span_id"] != sc.SpanID().String() {
				t.Errorf("span_id %v, want %s", g["span_id"], sc.SpanID())
			}
		})
	}
}
