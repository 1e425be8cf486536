package events

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
)

func TestTraceContextRoundTrip(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0xa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
		SpanID:     trace.SpanID{0xb, 1, 2, 3, 4, 5, 6, 7},
		TraceFlags: trace.FlagsSampled,
	})
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want trace.SpanContext
	}{
		{"traced write", trace.ContextWithSpanContext(context.Background(), sc), sc.WithRemote(true)},
		{"untraced write", context.Background(), trace.SpanContext{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := &redis.XAddArgs{Values: []any{Field, "x"}}
			addTrace(tc.ctx, args)
			vals := args.Values.([]any)
			m := map[string]any{}
			for i := 0; i+1 < len(vals); i += 2 {
				m[vals[i].(string)] = vals[i+1]
			}
			got := trace.SpanContextFromContext(TraceContext(context.Background(), redis.XMessage{ID: "1-0", Values: m}))
			if !got.Equal(tc.want) {
				t.Errorf("span context %v, want %v (entry %v)", got, tc.want, m)
			}
		})
	}
}
