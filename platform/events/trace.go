package events

import (
	"context"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/propagation"
)

// TraceField is the stream entry field that holds the W3C traceparent of the
// call that appended the event, when it was traced: the feed that delivers
// the event continues that trace.
const TraceField = "tp"

// addTrace stores the trace context of ctx, if any, in the entry.
func addTrace(ctx context.Context, args *redis.XAddArgs) {
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	if tp := c["traceparent"]; tp != "" {
		args.Values = append(args.Values.([]any), TraceField, tp)
	}
}

// TraceContext returns ctx with the remote span context stored in a stream
// entry (ctx unchanged when the entry has none), to parent the spans of
// the event's delivery.
func TraceContext(ctx context.Context, msg redis.XMessage) context.Context {
	tp, ok := msg.Values[TraceField].(string)
	if !ok || tp == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": tp})
}
