package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/platformtest"
)

func msgEvent(scope, id, content string) *eventsv1.Event {
	return &eventsv1.Event{Scope: scope, CreateTime: timestamppb.New(time.Unix(1700000000, 0)),
		Payload: &eventsv1.Event_MessageCreated{MessageCreated: &serverv1.Message{Id: id, ChannelId: "c1", Content: content}}}
}

// eventContent returns the content of a message_created event frame.
func eventContent(f map[string]any) string {
	ev, _ := f["event"].(map[string]any)
	m, _ := ev["message_created"].(map[string]any)
	c, _ := m["content"].(string)
	return c
}

// ready comes once the socket's stream is subscribed upstream (the server
// sends the stream's header then): an event logged right after ready
// reaches the socket. (Sent before the stream was even opened, ready let a
// client act while its scopes were not subscribed yet, and the first
// events after it could be lost.)
func TestWSReadyAfterSubscribe(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{})
	hold := make(chan struct{})
	fw.server.mu.Lock()
	fw.server.hold = hold
	fw.server.mu.Unlock()
	c := dialWS(t, fw.srv.URL, fw.env.UserToken(platformtest.NewID()))
	c.send(map[string]any{"type": "hello", "client": "web"})
	platformtest.Eventually(t, 5*time.Second, func() bool {
		fw.server.mu.Lock()
		defer fw.server.mu.Unlock()
		return fw.server.opened > 0
	}, "the event stream opened")
	select {
	case f, ok := <-c.frames:
		t.Fatalf("got %v (open %v) while the stream was not subscribed yet", f, ok)
	case <-time.After(time.Second):
	}
	close(hold)
	c.expect("ready")
	fw.server.publish(msgEvent("server:s1", "m1", "right after ready"))
	if f := c.expect("event"); eventContent(f) != "right after ready" {
		t.Fatalf("got %v, want the message logged right after ready", f)
	}
}

func TestWSReady(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{})
	uid := platformtest.NewID()
	for _, tc := range []struct {
		name       string
		subproto   bool
		helloToken bool
	}{{"token as subprotocol", true, false}, {"token in hello", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			tok := fw.env.UserToken(uid)
			bearer, hello := "", ""
			if tc.subproto {
				bearer = tok
			} else {
				hello = tok
			}
			c := dialWS(t, fw.srv.URL, bearer)
			if got := c.c.Subprotocol(); got != Subprotocol {
				t.Errorf("subprotocol = %q, want %q", got, Subprotocol)
			}
			r := c.hello(hello)
			user := r["user"].(map[string]any)
			if user["id"] != uid {
				t.Errorf("ready user = %v, want id %s", user, uid)
			}
			if r["heartbeat_interval_ms"] != float64(1000) {
				t.Errorf("heartbeat_interval_ms = %v, want 1000", r["heartbeat_interval_ms"])
			}
			sid, _ := r["session_id"].(string)
			if sid == "" {
				t.Fatalf("ready without session_id: %v", r)
			}
			fw.presence.mu.Lock()
			owner := fw.presence.open[sid]
			fw.presence.mu.Unlock()
			if owner != uid {
				t.Errorf("presence session owner = %q, want %q", owner, uid)
			}
			// Closing the socket closes the presence session at once.
			_ = c.c.Close(websocket.StatusNormalClosure, "bye")
			platformtest.Eventually(t, 5*time.Second, func() bool {
				fw.presence.mu.Lock()
				defer fw.presence.mu.Unlock()
				_, open := fw.presence.open[sid]
				return !open
			}, "presence session closed")
		})
	}
}

func TestWSRefused(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{HelloTimeout: 300 * time.Millisecond})
	uid := platformtest.NewID()
	good := fw.env.UserToken(uid)
	sid := platformtest.RandomHex(8)
	revoked, _, err := fw.env.Signer.UserToken(uid, sid, false, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.env.Revocations.Revoke(context.Background(), sid, time.Minute); err != nil {
		t.Fatal(err)
	}
	expired, _, err := fw.env.Signer.UserToken(uid, platformtest.RandomHex(8), false, -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		bearer string
		send   func(c *wsClient)
		code   websocket.StatusCode
		reason string
	}{
		{"no token", "", func(c *wsClient) { c.send(map[string]any{"type": "hello"}) }, CloseUnauthenticated, "missing access token"},
		{"garbage token", "", func(c *wsClient) { c.send(map[string]any{"type": "hello", "token": "nope"}) }, CloseUnauthenticated, "unauthenticated"},
		{"revoked token", revoked, func(c *wsClient) { c.send(map[string]any{"type": "hello"}) }, CloseUnauthenticated, "unauthenticated"},
		{"expired token", "", func(c *wsClient) { c.send(map[string]any{"type": "hello", "token": expired}) }, CloseUnauthenticated, "unauthenticated"},
		{"no hello", good, func(c *wsClient) {}, CloseUnauthenticated, "no hello"},
		{"first frame not hello", good, func(c *wsClient) { c.send(map[string]any{"type": "ping"}) }, CloseBadFrame, "must be hello"},
		{"invalid JSON", good, func(c *wsClient) { c.sendRaw([]byte(`{"type":`)) }, CloseBadFrame, "invalid JSON"},
		{"unknown type", good, func(c *wsClient) { c.sendRaw([]byte(`{"type":"shout"}`)) }, CloseBadFrame, "unknown type"},
		{"frame over 64 KiB", good, func(c *wsClient) {
			c.sendRaw([]byte(`{"type":"hello","client":"` + strings.Repeat("a", 70000) + `"}`))
		}, CloseBadFrame, "bad frame"},
		{"binary frame", good, func(c *wsClient) {
			_ = c.c.Write(context.Background(), websocket.MessageBinary, []byte("{}"))
		}, CloseBadFrame, "binary"},
		{"hello with bad cursor", good, func(c *wsClient) {
			c.send(map[string]any{"type": "hello", "cursors": []map[string]string{{"scope": "", "position": "1"}}})
		}, CloseBadFrame, "cursors[0]"},
		// ready waits for the stream's subscription, so a hello the
		// server refuses gets no ready.
		{"cursor refused upstream", good, func(c *wsClient) {
			c.send(map[string]any{"type": "hello", "cursors": []map[string]string{{"scope": "user:x", "position": "bad"}}})
		}, CloseBadFrame, "bad position"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWS(t, fw.srv.URL, tc.bearer)
			tc.send(c)
			code, reason := c.closed(5 * time.Second)
			if code != tc.code || !strings.Contains(reason, tc.reason) {
				t.Errorf("closed with %d %q, want %d containing %q", code, reason, tc.code, tc.reason)
			}
		})
	}
	platformtest.Eventually(t, 5*time.Second, func() bool { return fw.presence.sessions() == 0 }, "no presence session left open")
}

func TestWSEventsResumeAfterUpstreamBreak(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{RetryMax: 100 * time.Millisecond})
	uid := platformtest.NewID()
	c := dialWS(t, fw.srv.URL, fw.env.UserToken(uid))
	c.hello("")
	platformtest.Eventually(t, 5*time.Second, func() bool { return fw.server.streams() == 1 }, "stream open")

	scopeA, scopeB := "server:a", "user:"+uid
	var want []string
	for i := range 5 {
		fw.server.publish(msgEvent(scopeA, fmt.Sprint("a", i), fmt.Sprint("a", i)))
		fw.server.publish(msgEvent(scopeB, fmt.Sprint("b", i), fmt.Sprint("b", i)))
		want = append(want, fmt.Sprint("a", i), fmt.Sprint("b", i))
	}
	for i := range 10 {
		f := c.expect("event")
		if got := eventContent(f); got != want[i] {
			t.Fatalf("event %d = %q, want %q", i, got, want[i])
		}
		ev := f["event"].(map[string]any)
		if ev["cursor"] == "" || ev["scope"] == "" {
			t.Fatalf("event without scope or cursor: %v", f)
		}
	}

	// The upstream stream breaks; events published while it is down must
	// arrive after the gateway resumes, once each and in order.
	fw.server.cut()
	for i := 5; i < 8; i++ {
		fw.server.publish(msgEvent(scopeA, fmt.Sprint("a", i), fmt.Sprint("a", i)))
		fw.server.publish(msgEvent(scopeB, fmt.Sprint("b", i), fmt.Sprint("b", i)))
	}
	var gotA, gotB []string
	for len(gotA)+len(gotB) < 6 {
		f := c.expect("event")
		s := eventContent(f)
		if strings.HasPrefix(s, "a") {
			gotA = append(gotA, s)
		} else {
			gotB = append(gotB, s)
		}
	}
	if fmt.Sprint(gotA) != "[a5 a6 a7]" || fmt.Sprint(gotB) != "[b5 b6 b7]" {
		t.Fatalf("after resume got %v %v, want [a5 a6 a7] [b5 b6 b7]", gotA, gotB)
	}
	fw.server.mu.Lock()
	last := fw.server.requests[len(fw.server.requests)-1]
	fw.server.mu.Unlock()
	if len(last.GetCursors()) != 2 {
		t.Errorf("resume request cursors = %v, want one per scope", last.GetCursors())
	}
	// Nothing more: no duplicate was sent.
	c.send(map[string]any{"type": "ping", "nonce": "end"})
	if f := c.expect("pong"); f["nonce"] != "end" {
		t.Errorf("pong = %v", f)
	}
}

// An event stream that ends UNAUTHENTICATED (the token expired or its
// session was revoked while it was open) closes the socket with 4001, so
// that the client reconnects with a fresh token instead of being resumed.
func TestWSStreamUnauthenticatedCloses(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{RetryMax: 100 * time.Millisecond})
	uid := platformtest.NewID()
	c := dialWS(t, fw.srv.URL, fw.env.UserToken(uid))
	c.hello("")
	platformtest.Eventually(t, 5*time.Second, func() bool { return fw.server.streams() == 1 }, "stream open")
	fw.server.publish(msgEvent("user:"+uid, "m1", "hello"))
	c.expect("event")

	fw.server.cutWith(status.Error(codes.Unauthenticated, "session revoked"))
	code, reason := c.closed(5 * time.Second)
	if code != CloseUnauthenticated || !strings.Contains(reason, "session revoked") {
		t.Errorf("closed with %d %q, want 4001 naming the upstream reason", code, reason)
	}
	platformtest.Eventually(t, 5*time.Second, func() bool { return fw.presence.sessions() == 0 }, "presence session closed")
}

// A scope without any event since the socket opened has no cursor; when the
// upstream breaks, its events of the break must not be lost either.
func TestWSResumeCoversQuietScopes(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{RetryMax: 100 * time.Millisecond})
	uid := platformtest.NewID()
	fw.server.mu.Lock()
	fw.server.servers = []string{"quiet"}
	fw.server.mu.Unlock()
	c := dialWS(t, fw.srv.URL, fw.env.UserToken(uid))
	c.hello("")
	platformtest.Eventually(t, 5*time.Second, func() bool { return fw.server.streams() == 1 }, "stream open")
	fw.server.publish(msgEvent("server:busy", "b0", "b0"))
	if got := eventContent(c.expect("event")); got != "b0" {
		t.Fatalf("got %q", got)
	}
	fw.server.cut()
	fw.server.publish(msgEvent("server:quiet", "q0", "q0"))
	fw.server.publish(msgEvent("user:"+uid, "u0", "u0"))
	got := map[string]bool{}
	for range 2 {
		got[eventContent(c.expect("event"))] = true
	}
	if !got["q0"] || !got["u0"] {
		t.Fatalf("after resume got %v, want q0 and u0", got)
	}
	c.send(map[string]any{"type": "ping", "nonce": "end"})
	c.expect("pong")
}

func TestWSClientFrames(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{})
	uid := platformtest.NewID()
	c := dialWS(t, fw.srv.URL, fw.env.UserToken(uid))
	c.hello("")
	ch, msg := platformtest.NewID(), platformtest.NewID()

	c.send(map[string]any{"type": "ping", "nonce": 42})
	if f := c.expect("pong"); f["nonce"] != float64(42) {
		t.Errorf("pong nonce = %v, want 42", f["nonce"])
	}
	c.send(map[string]any{"type": "ping"})
	if f := c.expect("pong"); len(f) != 1 {
		t.Errorf("pong without nonce = %v", f)
	}

	c.send(map[string]any{"type": "typing", "channel_id": ch})
	c.send(map[string]any{"type": "mark_read", "channel_id": ch, "message_id": msg})
	c.send(map[string]any{"type": "set_status", "status": "STATUS_DND"})
	c.send(map[string]any{"type": "ping", "nonce": "sync"})
	c.expect("pong")
	fw.server.mu.Lock()
	typing, marks := fmt.Sprint(fw.server.typing), fmt.Sprint(fw.server.marks)
	fw.server.mu.Unlock()
	if typing != "["+ch+"]" || marks != "["+ch+"/"+msg+"]" {
		t.Errorf("typing %s marks %s", typing, marks)
	}
	fw.presence.mu.Lock()
	statuses := fmt.Sprint(fw.presence.statuses)
	fw.presence.mu.Unlock()
	if statuses != "[STATUS_DND]" {
		t.Errorf("statuses = %s", statuses)
	}

	// Refused frames answer with an error frame; the socket stays open.
	for _, tc := range []struct {
		frame map[string]any
		want  map[string]any
	}{
		{map[string]any{"type": "typing", "channel_id": "nope"},
			map[string]any{"type": "error", "code": "INVALID_ARGUMENT", "field": "channel_id", "request": "typing"}},
		{map[string]any{"type": "typing", "channel_id": "000000000000000000000000"},
			map[string]any{"type": "error", "code": "NOT_FOUND", "request": "typing"}},
		{map[string]any{"type": "set_status", "status": "STATUS_OFFLINE"},
			map[string]any{"type": "error", "code": "INVALID_ARGUMENT", "field": "status", "request": "set_status"}},
		{map[string]any{"type": "mark_read", "channel_id": ch},
			map[string]any{"type": "error", "code": "INVALID_ARGUMENT", "field": "message_id", "request": "mark_read"}},
		{map[string]any{"type": "ping", "nonce": map[string]any{"x": 1}},
			map[string]any{"type": "error", "code": "INVALID_ARGUMENT", "field": "nonce", "request": "ping"}},
		{map[string]any{"type": "watch_presence", "user_ids": []string{"x"}},
			map[string]any{"type": "error", "code": "INVALID_ARGUMENT", "field": "user_ids[0]", "request": "watch_presence"}},
		{map[string]any{"type": "hello"},
			map[string]any{"type": "error", "code": "FAILED_PRECONDITION", "request": "hello"}},
		{map[string]any{"type": "token", "token": fw.env.UserToken(platformtest.NewID())},
			map[string]any{"type": "error", "code": "PERMISSION_DENIED", "request": "token"}},
		{map[string]any{"type": "token", "token": "garbage"},
			map[string]any{"type": "error", "code": "UNAUTHENTICATED", "request": "token"}},
	} {
		c.send(tc.frame)
		got := c.expect("error")
		if got["message"] == "" {
			t.Errorf("%v: error frame without message: %v", tc.frame, got)
		}
		delete(got, "message")
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%v: got %v, want %v", tc.frame, got, tc.want)
		}
	}
	// A fresh token of the same user is taken silently.
	c.send(map[string]any{"type": "token", "token": fw.env.UserToken(uid)})
	c.send(map[string]any{"type": "ping", "nonce": "after-token"})
	if f := c.expect("pong"); f["nonce"] != "after-token" {
		t.Errorf("got %v after token", f)
	}

	// Presence: snapshot, then changes; a new set replaces the old one.
	a, b := platformtest.NewID(), platformtest.NewID()
	c.send(map[string]any{"type": "watch_presence", "user_ids": []string{a, b}})
	snap := c.expect("presence")
	if snap["snapshot"] != true || len(snap["presences"].([]any)) != 2 {
		t.Fatalf("snapshot = %v", snap)
	}
	fw.presence.changes <- &presencev1.Presence{UserId: a, Status: presencev1.Status_STATUS_ONLINE}
	ch1 := c.expect("presence")
	p := ch1["presences"].([]any)[0].(map[string]any)
	if ch1["snapshot"] != false || p["user_id"] != a || p["status"] != "STATUS_ONLINE" {
		t.Fatalf("change = %v", ch1)
	}
	c.send(map[string]any{"type": "watch_presence", "user_ids": []string{}})
	if f := c.expect("presence"); f["snapshot"] != true || len(f["presences"].([]any)) != 0 {
		t.Fatalf("empty snapshot = %v", f)
	}
}

func TestWSClientTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name      string
		openDelay time.Duration
	}{
		{"a silent client is closed after the timeout", 0},
		// The client learns its heartbeat interval from ready: the silence
		// it is allowed starts there, however long the hello took upstream.
		{"the timeout counts from ready, not from a slow hello", 2 * timeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fw := newFakeWorld(t, WSOptions{ClientTimeout: timeout})
			fw.presence.mu.Lock()
			fw.presence.openDelay = tc.openDelay
			fw.presence.mu.Unlock()
			c := dialWS(t, fw.srv.URL, fw.env.UserToken(platformtest.NewID()))
			c.hello("")
			code, reason := c.closed(5 * time.Second)
			if code != CloseTimeout || reason != "timeout" {
				t.Errorf("closed with %d %q, want 4000 timeout", code, reason)
			}
			// The gateway sends ready only after the presence session is
			// open, so the clock cannot start before OpenSession answered;
			// the close arrives after it fired, whatever the load.
			if d := time.Since(fw.presence.lastOpened()); d < timeout {
				t.Errorf("closed %s after the session opened, before the %s timeout", d, timeout)
			}
			platformtest.Eventually(t, 5*time.Second, func() bool { return fw.presence.sessions() == 0 }, "presence session closed")
		})
	}
}

func TestWSHeartbeats(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{HeartbeatInterval: 50 * time.Millisecond, ClientTimeout: 10 * time.Second})
	c := dialWS(t, fw.srv.URL, fw.env.UserToken(platformtest.NewID()))
	r := c.hello("")
	if r["heartbeat_interval_ms"] != float64(50) {
		t.Errorf("heartbeat_interval_ms = %v", r["heartbeat_interval_ms"])
	}
	platformtest.Eventually(t, 5*time.Second, func() bool {
		fw.presence.mu.Lock()
		defer fw.presence.mu.Unlock()
		return fw.presence.heartbeats >= 3
	}, "heartbeats")
	// A session that expired upstream is reopened.
	fw.presence.mu.Lock()
	clear(fw.presence.open)
	fw.presence.mu.Unlock()
	platformtest.Eventually(t, 5*time.Second, func() bool { return fw.presence.sessions() == 1 }, "session reopened")
}

func TestWSTooSlowDoesNotBlockOthers(t *testing.T) {
	reg := prometheus.NewRegistry()
	fw := newFakeWorld(t, WSOptions{SendQueue: 16, SlowGrace: 500 * time.Millisecond, ClientTimeout: time.Minute}, func(o *Options) { o.Registry = reg })
	tok := fw.env.UserToken(platformtest.NewID())

	// The slow client says hello and then never reads.
	slow, err := dialWSSmallBuffer(fw.srv.URL, tok)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := slow.c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello"}`)); err != nil {
		t.Fatal(err)
	}
	fast := dialWS(t, fw.srv.URL, tok)
	fast.hello("")
	platformtest.Eventually(t, 5*time.Second, func() bool { return fw.server.streams() == 2 }, "two streams")

	// Publish until the slow socket is dropped; the fast one must get every
	// event, in order, all along.
	big := strings.Repeat("x", 32<<10)
	stop := make(chan struct{})
	published := make(chan int, 1)
	var received atomic.Int64
	go func() {
		i := 0
		defer func() { published <- i }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if int64(i)-received.Load() > 32 {
				// Stay just ahead of the fast reader: only the slow one may fall behind.
				time.Sleep(time.Millisecond)
				continue
			}
			fw.server.publish(msgEvent("server:s", fmt.Sprint(i), big+fmt.Sprint(i)))
			i++
		}
	}()
	closed := fw.srvMetric(reg, "4008")
	deadline := time.Now().Add(30 * time.Second)
	i := 0
	for testutil.ToFloat64(closed) == 0 {
		if time.Now().After(deadline) {
			close(stop)
			t.Fatalf("slow socket not closed after %d events (delivered %v, streams %d)", i, testutil.ToFloat64(newMetrics(reg).eventsDelivered), fw.server.streams())
		}
		if got := eventContent(fast.expect("event")); got != big+fmt.Sprint(i) {
			t.Fatalf("fast client event %d wrong", i)
		}
		i++
		received.Store(int64(i))
	}
	close(stop)
	n := <-published
	for ; i < n; i++ {
		if got := eventContent(fast.expect("event")); got != big+fmt.Sprint(i) {
			t.Fatalf("fast client event %d wrong", i)
		}
	}
	t.Logf("slow socket dropped; fast socket got all %d events", n)
}

// srvMetric returns the closed-sockets counter for code.
func (fw *fakeWorld) srvMetric(reg *prometheus.Registry, code string) prometheus.Collector {
	m := newMetrics(reg)
	return m.socketsClosed.WithLabelValues(code)
}

func TestWSGatewayShutdown(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{})
	c := dialWS(t, fw.srv.URL, fw.env.UserToken(platformtest.NewID()))
	c.hello("")
	fw.cancel()
	code, _ := c.closed(5 * time.Second)
	if code != websocket.StatusGoingAway {
		t.Errorf("closed with %d, want 1001", code)
	}
}

// TestWSGatewayDrain takes a gateway out of service the orderly way: its
// health check fails and new sockets are refused at once, while open
// sockets keep receiving events until the drain delay ends; then they
// close with 1001 and a reconnect hint, and Drain returns once they ended.
func TestWSGatewayDrain(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{})
	uid := platformtest.NewID()
	c := dialWS(t, fw.srv.URL, fw.env.UserToken(uid))
	c.hello("")
	platformtest.Eventually(t, 5*time.Second, func() bool { return fw.server.streams() == 1 }, "stream open")

	t.Run("during the delay", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- fw.gw.Drain(ctx, time.Hour) }()
		platformtest.Eventually(t, 5*time.Second, func() bool {
			res, _ := httpDo(t, "GET", fw.srv.URL+"/healthz", "", "")
			return res.StatusCode == http.StatusServiceUnavailable
		}, "healthz to fail")
		if _, err := dialWSErr(fw.srv.URL, fw.env.UserToken(uid)); err == nil {
			t.Error("a new socket was accepted while draining")
		}
		fw.server.publish(msgEvent("user:"+uid, "m1", "still served"))
		if got := eventContent(c.expect("event")); got != "still served" {
			t.Errorf("event = %q", got)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Drain = %v, want context.Canceled", err)
		}
	})

	t.Run("after the delay", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := fw.gw.Drain(ctx, 0); err != nil {
			t.Fatalf("Drain = %v", err)
		}
		code, reason := c.closed(5 * time.Second)
		if code != websocket.StatusGoingAway || !strings.Contains(reason, "reconnect") {
			t.Errorf("closed with %d %q, want 1001 with a reconnect hint", code, reason)
		}
	})
}

// TestWSDeliveryLatency checks that an event written to a socket is timed
// from its create_time: an event committed a minute ago is observed as a
// minute late.
func TestWSDeliveryLatency(t *testing.T) {
	reg := prometheus.NewRegistry()
	fw := newFakeWorld(t, WSOptions{}, func(o *Options) { o.Registry = reg })
	uid := platformtest.NewID()
	c := dialWS(t, fw.srv.URL, fw.env.UserToken(uid))
	c.hello("")
	platformtest.Eventually(t, 5*time.Second, func() bool { return fw.server.streams() == 1 }, "stream open")
	ev := msgEvent("user:"+uid, "m1", "late")
	ev.CreateTime = timestamppb.New(time.Now().Add(-time.Minute))
	fw.server.publish(ev)
	c.expect("event")
	var h *dto.Histogram
	platformtest.Eventually(t, 5*time.Second, func() bool {
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == "accord_gateway_delivery_latency_seconds" {
				h = f.GetMetric()[0].GetHistogram()
			}
		}
		return h.GetSampleCount() == 1
	}, "one delivery observed")
	if s := h.GetSampleSum(); s < 60 {
		t.Errorf("delivery latency = %vs, want at least 60s", s)
	}
}
