package gateway

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
)

// deliverSpanName names the span a gateway records when it renders a feed
// event for its sockets: the last step of a traced send, in the trace of
// the call that appended the event.
const deliverSpanName = "accord.gateway/DeliverEvent"

// renderEvent turns a feed event into its socket frame, once per gateway
// (the frame is shared by every socket that receives it). An event that
// carries the trace of the call that appended it continues that trace with
// a span of its own; the trace parent is internal and left out of the
// frame. ev is the caller's own decoded copy and is modified.
func renderEvent(ev *eventsv1.Event) []byte {
	if tp := ev.GetTraceParent(); tp != "" {
		ev.TraceParent = ""
		ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": tp})
		if trace.SpanContextFromContext(ctx).IsValid() {
			_, span := otel.Tracer("accord/gateway").Start(ctx, deliverSpanName,
				trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(attribute.String("accord.scope", ev.GetScope()), attribute.String("accord.cursor", ev.GetCursor())))
			defer span.End()
		}
	}
	return eventFrame(ev)
}

// withoutTraceParent is the REST mux's response rewriter: the events of
// the streaming route reach clients without their internal trace parent.
// The response may be shared, so a copy is changed.
func withoutTraceParent(_ context.Context, resp proto.Message) (any, error) {
	r, ok := resp.(*eventsv1.StreamEventsResponse)
	if !ok || r.GetEvent().GetTraceParent() == "" {
		return resp, nil
	}
	c := proto.CloneOf(r)
	c.Event.TraceParent = ""
	return c, nil
}
