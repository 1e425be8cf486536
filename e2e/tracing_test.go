package e2e

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/platform/tracing"
	"github.com/accordchat/accord/suite/client"
	"github.com/accordchat/accord/suite/suitetest"
)

// TestSendIsOneTrace records the spans of the whole suite in memory and
// sends one message through the gateway's REST API: the gateway's call and
// the server service's handling are one trace, parent and child, and the
// event the send appended to the event log carries that trace to the
// gateway that delivers it, whose delivery span is in the same trace, while
// the frame the socket receives does not show it.
func TestSendIsOneTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	// The suite's gRPC servers and clients take the global provider when
	// they are built, so it is installed first; spans after the test go
	// nowhere once it is shut down.
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(tracing.Propagator())
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	s := suitetest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rest := client.NewREST(s.HTTP)
	acc, err := rest.Register(ctx, "tracer", "password-tracer")
	if err != nil {
		t.Fatal(err)
	}
	serverID, channelID, err := rest.CreateServer(ctx, acc.Token, "Traced")
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := client.Dial(ctx, s.HTTP, client.DialOptions{Token: acc.Token})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	// A socket without cursors starts live: a message sent before its feed
	// reaches the stream is not delivered. Send until one is; the traced
	// send below is the next one.
	ws.Background(100)
	for i := 0; ; i++ {
		if i == 10 {
			t.Fatal("no message event reached the socket")
		}
		if err := rest.Do(ctx, "POST", "/v1/channels/"+channelID+"/messages", acc.Token, map[string]string{"content": "warm-up " + strconv.Itoa(i)}, nil); err != nil {
			t.Fatal(err)
		}
		if waitMessage(t, ws, "", 3*time.Second) {
			break
		}
	}
	before := len(rec.Ended())
	var sent struct {
		Message struct {
			ID string `json:"id"`
		} `json:"message"`
	}
	if err := rest.Do(ctx, "POST", "/v1/channels/"+channelID+"/messages", acc.Token, map[string]string{"content": "follow me"}, &sent); err != nil {
		t.Fatal(err)
	}

	const method = "accord.server.v1.ServerService/SendMessage"
	var clientSpan, serverSpan sdktrace.ReadOnlySpan
	platformtest.Eventually(t, 10*time.Second, func() bool {
		clientSpan, serverSpan = nil, nil
		for _, sp := range rec.Ended()[before:] {
			if sp.Name() != method {
				continue
			}
			switch sp.SpanKind() {
			case trace.SpanKindClient:
				clientSpan = sp
			case trace.SpanKindServer:
				serverSpan = sp
			}
		}
		return clientSpan != nil && serverSpan != nil
	}, "client and server spans of SendMessage")

	if got, want := serverSpan.SpanContext().TraceID(), clientSpan.SpanContext().TraceID(); got != want {
		t.Fatalf("the server handled the send in trace %s, the gateway called in trace %s", got, want)
	}
	if got, want := serverSpan.Parent().SpanID(), clientSpan.SpanContext().SpanID(); got != want || !serverSpan.Parent().IsRemote() {
		t.Errorf("server span parent %s (remote %v), want the gateway's client span %s", got, serverSpan.Parent().IsRemote(), want)
	}

	// The event of the send, in the server's stream, names the same trace.
	key := events.NewLog(s.Env.Redis, redisx.NewKeyspace(s.Config.RedisPrefix)).Key(events.ServerScope(serverID))
	entries, err := s.Env.Redis.XRevRangeN(ctx, key, "+", "-", 20).Result()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		ev, err := events.Decode(events.ServerScope(serverID), e)
		if err != nil || ev.GetMessageCreated().GetId() != sent.Message.ID {
			continue
		}
		found = true
		sc := trace.SpanContextFromContext(events.TraceContext(context.Background(), e))
		if sc.TraceID() != clientSpan.SpanContext().TraceID() {
			t.Errorf("the event's entry carries trace %s, want the send's %s", sc.TraceID(), clientSpan.SpanContext().TraceID())
		}
	}
	if !found {
		t.Fatalf("no message_created event for %s in %s", sent.Message.ID, key)
	}

	// The socket receives the event, without the trace parent, and the
	// gateway's delivery span continues the send's trace.
	if !waitMessage(t, ws, sent.Message.ID, 30*time.Second) {
		t.Fatal("the traced message did not reach the socket")
	}
	platformtest.Eventually(t, 10*time.Second, func() bool {
		for _, sp := range rec.Ended() {
			if sp.Name() == "accord.gateway/DeliverEvent" && sp.SpanContext().TraceID() == clientSpan.SpanContext().TraceID() {
				return true
			}
		}
		return false
	}, "the delivering gateway's span in the send's trace")
}

// waitMessage reads ws until a message_created event arrives (of id, when
// set) and reports whether one did within timeout of quiet; it fails the
// test when a frame shows a trace parent.
func waitMessage(t *testing.T, ws *client.WS, id string, timeout time.Duration) bool {
	t.Helper()
	for {
		f, err := ws.Next(timeout)
		if errors.Is(err, client.ErrTimeout) {
			return false
		}
		if err != nil {
			t.Fatalf("reading the socket: %v", err)
		}
		if strings.Contains(string(f.Raw), "trace_parent") || strings.Contains(string(f.Raw), "traceParent") {
			t.Errorf("the frame shows the trace: %s", f.Raw)
		}
		ev, err := client.DecodeEvent(f)
		if f.Type == "event" && err == nil && ev.MessageCreated != nil && (id == "" || ev.MessageCreated.ID == id) {
			return true
		}
	}
}
