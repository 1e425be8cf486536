package gateway

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/platformtest"
)

// fakeFollow serves FollowScopes: every added scope starts at once, no
// event is ever logged; the test ends sessions and takes the feed down.
type fakeFollow struct {
	eventsv1.UnimplementedEventInternalServiceServer

	mu      sync.Mutex
	down    bool                         // new streams fail
	watches map[string]string            // key -> token watched
	send    func(*eventsv1.SessionEnded) // on the live stream
	event   func(*eventsv1.Event) error  // on the live stream
	cut     chan struct{}                // closed to break the live stream
	hold    chan struct{}                // when set, acknowledgements wait for it to close
}

func newFakeFollow() *fakeFollow {
	return &fakeFollow{watches: map[string]string{}, cut: make(chan struct{})}
}

func (f *fakeFollow) FollowScopes(ss grpc.BidiStreamingServer[eventsv1.FollowScopesRequest, eventsv1.FollowScopesResponse]) error {
	f.mu.Lock()
	if f.down {
		f.mu.Unlock()
		return status.Error(codes.Unavailable, "down")
	}
	cut := f.cut
	var sendMu sync.Mutex
	send := func(m *eventsv1.FollowScopesResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return ss.Send(m)
	}
	f.send = func(e *eventsv1.SessionEnded) { _ = send(&eventsv1.FollowScopesResponse{SessionEnded: e}) }
	f.event = func(e *eventsv1.Event) error { return send(&eventsv1.FollowScopesResponse{Event: e}) }
	f.mu.Unlock()
	errc := make(chan error, 1)
	go func() {
		for {
			req, err := ss.Recv()
			if err == io.EOF {
				return
			}
			if err != nil {
				errc <- err
				return
			}
			f.mu.Lock()
			for _, w := range req.GetWatch() {
				f.watches[w.GetKey()] = w.GetAccessToken()
			}
			for _, k := range req.GetUnwatch() {
				delete(f.watches, k)
			}
			hold := f.hold
			f.mu.Unlock()
			if hold != nil && len(req.GetAdd()) > 0 {
				select {
				case <-hold:
				case <-ss.Context().Done():
					return
				}
			}
			for _, c := range req.GetAdd() {
				if err := send(&eventsv1.FollowScopesResponse{Started: &eventsv1.ScopeStarted{Scope: c.GetScope(), Position: "1-0"}}); err != nil {
					errc <- err
					return
				}
			}
		}
	}()
	select {
	case <-cut:
		return status.Error(codes.Unavailable, "cut")
	case err := <-errc:
		return err
	case <-ss.Context().Done():
		return nil
	}
}

func (f *fakeFollow) ReadScopes(context.Context, *eventsv1.ReadScopesRequest) (*eventsv1.ReadScopesResponse, error) {
	return &eventsv1.ReadScopesResponse{}, nil
}

// watched returns the key a token is watched under, or "".
func (f *fakeFollow) watched(token string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, t := range f.watches {
		if t == token {
			return k
		}
	}
	return ""
}

// end reports the end of key's session on the live stream.
func (f *fakeFollow) end(key, reason string) {
	f.mu.Lock()
	send := f.send
	delete(f.watches, key)
	f.mu.Unlock()
	send(&eventsv1.SessionEnded{Key: key, Reason: reason, Message: strings.ToLower(reason)})
}

// takeDown breaks the live stream and fails every new one.
func (f *fakeFollow) takeDown() {
	f.mu.Lock()
	f.down = true
	close(f.cut)
	f.mu.Unlock()
}

func newSharedWorld(t *testing.T, o WSOptions, tweak ...func(*Options)) *fakeWorld {
	t.Helper()
	o.SharedFeed = true
	if o.WriteDelay == 0 {
		o.WriteDelay = config.DefaultWSWriteDelay // as the commands run it
	}
	fw := newFakeWorld(t, o, tweak...)
	fw.server.mu.Lock()
	fw.server.servers = []string{}
	fw.server.mu.Unlock()
	return fw
}

// On the shared feed a socket's session is watched upstream: its end
// closes the socket with 4001, while an expired token the client replaced
// in time is watched again and the socket stays.
func TestWSSharedSessionEnd(t *testing.T) {
	fw := newSharedWorld(t, WSOptions{})
	uid := platformtest.NewID()

	t.Run("revoked", func(t *testing.T) {
		tok := fw.env.UserToken(uid)
		c := dialWS(t, fw.srv.URL, tok)
		c.hello("")
		var key string
		platformtest.Eventually(t, 5*time.Second, func() bool { key = fw.follow.watched(tok); return key != "" }, "session watched")
		fw.follow.end(key, "SESSION_REVOKED")
		code, reason := c.closed(time.Second)
		if code != CloseUnauthenticated || !strings.Contains(reason, "session_revoked") {
			t.Errorf("closed with %d %q, want 4001", code, reason)
		}
	})
	t.Run("token expired, renewed in time, then expired", func(t *testing.T) {
		tok, fresh := fw.env.UserToken(uid), fw.env.UserToken(uid)
		c := dialWS(t, fw.srv.URL, tok)
		c.hello("")
		var key string
		platformtest.Eventually(t, 5*time.Second, func() bool { key = fw.follow.watched(tok); return key != "" }, "session watched")
		c.send(map[string]any{"type": "token", "token": fresh})
		c.send(map[string]any{"type": "ping", "nonce": "after token"})
		c.expect("pong")
		fw.follow.end(key, "TOKEN_EXPIRED")
		platformtest.Eventually(t, 5*time.Second, func() bool { return fw.follow.watched(fresh) == key }, "fresh token watched")
		c.send(map[string]any{"type": "ping", "nonce": "still open"})
		if f := c.expect("pong"); f["nonce"] != "still open" {
			t.Fatalf("pong = %v", f)
		}
		fw.follow.end(key, "TOKEN_EXPIRED")
		if code, _ := c.closed(time.Second); code != CloseUnauthenticated {
			t.Errorf("closed with %d, want 4001", code)
		}
	})
}

// A shared feed that cannot be re-established for GiveUpAfter closes its
// sockets with 1011, as a socket's own stream does.
func TestWSSharedUpstreamDown(t *testing.T) {
	fw := newSharedWorld(t, WSOptions{RetryMax: 50 * time.Millisecond, GiveUpAfter: 500 * time.Millisecond})
	uid := platformtest.NewID()
	tok := fw.env.UserToken(uid)
	c := dialWS(t, fw.srv.URL, tok)
	c.hello("")
	platformtest.Eventually(t, 5*time.Second, func() bool { return fw.follow.watched(tok) != "" }, "session watched")
	fw.follow.takeDown()
	code, reason := c.closed(10 * time.Second)
	if code != 1011 || !strings.Contains(reason, "upstream") {
		t.Errorf("closed with %d %q, want 1011", code, reason)
	}
}

// An idle socket on the shared feed keeps no goroutine waiting for events:
// a drain starts only when the hub queues something for it.
func TestWSSharedIdleSocketHasNoPump(t *testing.T) {
	fw := newSharedWorld(t, WSOptions{})
	var toks []string
	for range 5 {
		tok := fw.env.UserToken(platformtest.NewID())
		c := dialWS(t, fw.srv.URL, tok)
		c.hello("")
		c.send(map[string]any{"type": "ping", "nonce": "n"})
		c.expect("pong")
		toks = append(toks, tok)
	}
	for _, tok := range toks {
		platformtest.Eventually(t, 5*time.Second, func() bool { return fw.follow.watched(tok) != "" }, "session watched")
	}
	pumps := func() int {
		buf := make([]byte, 1<<20)
		for {
			n := runtime.Stack(buf, true)
			if n < len(buf) {
				return strings.Count(string(buf[:n]), "gateway.(*sharedSession)") + strings.Count(string(buf[:n]), "gateway.(*wsSession).pumpShared")
			}
			buf = make([]byte, 2*len(buf))
		}
	}
	platformtest.Eventually(t, 10*time.Second, func() bool { return pumps() == 0 }, "no goroutine of an idle socket's shared session")
}

// On the shared feed ready comes once the feed follows the socket's
// scopes: a message logged after ready reaches the socket. (Sent before,
// the scopes' live start could come after it: the message was lost.)
func TestWSSharedReadyAfterFollow(t *testing.T) {
	fw := newSharedWorld(t, WSOptions{})
	hold := make(chan struct{})
	fw.follow.mu.Lock()
	fw.follow.hold = hold
	fw.follow.mu.Unlock()
	tok := fw.env.UserToken(platformtest.NewID())
	c := dialWS(t, fw.srv.URL, tok)
	c.send(map[string]any{"type": "hello", "client": "web"})
	platformtest.Eventually(t, 5*time.Second, func() bool { return fw.follow.watched(tok) != "" }, "session watched")
	select {
	case f, ok := <-c.frames:
		t.Fatalf("got %v (open %v) while the feed did not follow the socket's scopes yet", f, ok)
	case <-time.After(time.Second):
	}
	close(hold)
	c.expect("ready")
}

// On the shared feed a few workers write the events out (fanout.go): a
// socket whose client stopped reading, more of them than there are
// workers, must not hold up the others. The fast socket gets every event,
// in order, each before the next is sent, while the slow ones are still
// open (their grace is longer than the test): no worker waits on them.
func TestWSSharedTooSlowDoesNotBlockOthers(t *testing.T) {
	reg := prometheus.NewRegistry()
	fw := newSharedWorld(t, WSOptions{SendQueue: 16, SlowGrace: time.Minute, ClientTimeout: time.Minute}, func(o *Options) { o.Registry = reg })
	userID := platformtest.NewID()
	tok := fw.env.UserToken(userID)

	slowN := 2*runtime.GOMAXPROCS(0) + 2
	for range slowN {
		c, err := dialWSSmallBuffer(fw.srv.URL, tok)
		if err != nil {
			t.Fatal(err)
		}
		defer c.c.CloseNow()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = c.c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello"}`))
		if err == nil {
			// ready: the socket's scopes are followed; it reads no more.
			var b []byte
			if _, b, err = c.c.Read(ctx); err == nil && !strings.Contains(string(b), `"ready"`) {
				t.Fatalf("slow socket got %s, not ready", b)
			}
		}
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	fast := dialWS(t, fw.srv.URL, tok)
	fast.hello("")

	// 600 events of 48 KiB: far more than a socket's buffers hold (up to 4 MiB
	// on Linux with autotuning).
	big := strings.Repeat("x", 48<<10)
	fw.follow.mu.Lock()
	event := fw.follow.event
	fw.follow.mu.Unlock()
	for i := range 600 {
		ev := msgEvent("user:"+userID, fmt.Sprint(i), big+fmt.Sprint(i))
		ev.Cursor = fmt.Sprintf("%d-0", i+2)
		if err := event(ev); err != nil {
			t.Fatal(err)
		}
		if got := eventContent(fast.expect("event")); got != big+fmt.Sprint(i) {
			t.Fatalf("fast client event %d wrong", i)
		}
	}
	if n := testutil.ToFloat64(fw.srvMetric(reg, "4008")); n != 0 {
		t.Fatalf("%v slow sockets closed: the test needs them open", n)
	}
}
