package gateway

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
)

// The WebSocket endpoint, /v1/events, in five parts:
//   - ws.go: the handler, a socket's lifecycle (wsConn) and its session
//     (hello, authentication, the goroutines it starts);
//   - ws_send.go: the send queue and its writes, and the socket's clock;
//   - ws_events.go: the event pump, upstream StreamEvents to event frames;
//   - ws_presence.go: the presence session (heartbeats) and watched presence;
//   - ws_read.go: client frames, read and answered.

// Subprotocol is the WebSocket subprotocol of the event API.
const Subprotocol = "accord.v1"

// goingAwayReason is the close reason of 1001: the client is to reconnect
// at once (to another gateway) with its cursors (docs/websocket.md).
const goingAwayReason = "server going away; reconnect"

// Close codes of /v1/events (docs/websocket.md).
const (
	CloseTimeout         websocket.StatusCode = 4000
	CloseUnauthenticated websocket.StatusCode = 4001
	CloseBadFrame        websocket.StatusCode = 4002
	CloseTooSlow         websocket.StatusCode = 4008
)

// WSOptions tune the WebSocket endpoint; zero values mean the defaults.
type WSOptions struct {
	// SendQueue is the number of frames queued per socket (DefaultSendQueue).
	SendQueue int
	// SlowGrace is how long a full send queue may stay full before the
	// socket is closed with 4008 (default 2 s).
	SlowGrace time.Duration
	// HelloTimeout bounds the wait for the hello frame (default 10 s).
	HelloTimeout time.Duration
	// HeartbeatInterval overrides the presence session's interval (tests).
	HeartbeatInterval time.Duration
	// ClientTimeout is how long a silent client is kept (default 3 heartbeat intervals).
	ClientTimeout time.Duration
	// RetryMax caps the backoff between attempts to resume an upstream
	// stream (default 5 s).
	RetryMax time.Duration
	// GiveUpAfter is how long an upstream may stay broken before the socket
	// is closed with 1011 (default 30 s).
	GiveUpAfter time.Duration
	// CallTimeout bounds each upstream call made for a client frame (default 10 s).
	CallTimeout time.Duration
	// SharedFeed relays events from one upstream feed per gateway
	// (EventInternalService.FollowScopes, fanned out locally) instead of
	// one StreamEvents call per socket. It needs Options.ServiceCreds.
	// Sessions are watched on the stream: a revoked session or an expired
	// token closes the socket with 4001, as on the per-socket path.
	SharedFeed bool
	// WriteDelay coalesces the writes of busy sockets on the shared feed:
	// a socket that wrote less than WriteDelay ago waits until WriteDelay
	// after that write, and one write then carries the events that came
	// meanwhile (fanout.go). A socket that did not write within it is
	// written at once. 0 (or less): every drain writes at once. The
	// commands take it from config (ACCORD_WS_WRITE_DELAY, default on), as
	// they do SharedFeed.
	WriteDelay time.Duration
}

func (o *WSOptions) defaults() {
	if o.SendQueue <= 0 {
		o.SendQueue = DefaultSendQueue
	}
	if o.SlowGrace <= 0 {
		o.SlowGrace = 2 * time.Second
	}
	if o.HelloTimeout <= 0 {
		o.HelloTimeout = 10 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Second
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 30 * time.Second
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 10 * time.Second
	}
}

// wsHandler serves /v1/events.
type wsHandler struct {
	// life ends when the gateway stops or, during a drain, when open
	// sockets are to be closed.
	life     context.Context
	endLife  context.CancelFunc
	draining atomic.Bool
	// open counts the sockets being served; idle is closed, and replaced,
	// whenever it drops to zero.
	openMu   sync.Mutex
	open     int
	idle     chan struct{}
	log      *slog.Logger
	m        *metrics
	o        WSOptions
	origins  []string
	users    userv1.UserServiceClient
	servers  serverv1.ServerServiceClient
	feed     eventsv1.EventServiceClient
	presence presencev1.PresenceServiceClient
	frames   *frameCache

	// The shared feed (WSOptions.SharedFeed); hub is nil without it.
	hub          *feedHub
	internal     serverv1.ServerInternalServiceClient
	feedInternal eventsv1.EventInternalServiceClient
	creds        grpc.CallOption
}

func newWSHandler(ctx context.Context, o Options, m *metrics) *wsHandler {
	wo := o.WS
	wo.defaults()
	life, end := context.WithCancel(ctx)
	h := &wsHandler{
		life: life, endLife: end, idle: make(chan struct{}), log: o.Log, m: m, o: wo, origins: o.AllowedOrigins,
		users:    userv1.NewUserServiceClient(o.Peers.User),
		servers:  serverv1.NewServerServiceClient(o.Peers.Server),
		feed:     eventsv1.NewEventServiceClient(o.Peers.Server),
		presence: presencev1.NewPresenceServiceClient(o.Peers.Presence),
		frames:   newFrameCache(4096),
	}
	if wo.SharedFeed && o.ServiceCreds != nil {
		h.creds = grpc.PerRPCCredentials(o.ServiceCreds)
		h.internal = serverv1.NewServerInternalServiceClient(o.Peers.Server)
		h.feedInternal = eventsv1.NewEventInternalServiceClient(o.Peers.Server)
		h.hub = newFeedHub(h.feedInternal, h.creds, o.Log, wo, m)
		go h.hub.run(ctx)
	}
	return h
}

// bearerSubprotocol returns the token offered as the "bearer.<token>" subprotocol.
func bearerSubprotocol(r *http.Request) string {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if t, ok := strings.CutPrefix(strings.TrimSpace(p), "bearer."); ok {
				return t
			}
		}
	}
	return ""
}

// wsConn is a socket's connection and its lifecycle: every part of the
// session may close it, the first close wins, and closing cancels ctx.
type wsConn struct {
	conn   *websocket.Conn
	wire   *corkConn // under conn
	ctx    context.Context
	cancel context.CancelFunc
	m      *metrics

	closing   atomic.Bool
	closeOnce sync.Once
	closeCode atomic.Int32
	closeDone chan struct{} // closed once the connection is closed
}

// close starts closing the socket with code and reason; the first call wins.
func (c *wsConn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		c.closeCode.Store(int32(code))
		c.m.socketsClosed.WithLabelValues(closeLabel(code)).Inc()
		// The close handshake can take seconds with a stuck client; it must
		// not hold up the goroutine that decided to close.
		go func() {
			defer close(c.closeDone)
			_ = c.conn.Close(code, truncate(reason, 120))
			c.cancel()
		}()
	})
}

// closeNow drops the connection unless a close handshake was started, in
// which case it waits for that to end (it is bounded by the library).
func (c *wsConn) closeNow() {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		_ = c.conn.CloseNow()
		close(c.closeDone)
	})
	<-c.closeDone
}

// closeLabel is the metrics label of a close code.
func closeLabel(c websocket.StatusCode) string {
	return strconv.Itoa(int(c))
}

// wsSession is one socket's state; nothing outlives the socket. Its parts
// share the connection (wsConn) and the send queue; each keeps its own
// state: the event pump its cursors, presence its session and watch.
type wsSession struct {
	*wsConn
	h   *wsHandler
	log *slog.Logger
	out sendQueue

	// userID is set by the hello, before any other goroutine starts.
	userID string
	// token is the access token upstream calls carry; a token frame
	// replaces it.
	token atomic.Pointer[string]
	// lastSeen is the unix nanoseconds of the last frame or pong from the client.
	lastSeen atomic.Int64

	presence wsPresence

	wg sync.WaitGroup
}

// drain implements Gateway.Drain.
func (h *wsHandler) drain(ctx context.Context, delay time.Duration) error {
	h.draining.Store(true)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	h.endLife()
	for {
		h.openMu.Lock()
		n, idle := h.open, h.idle
		h.openMu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-idle:
		}
	}
}

// track counts a socket being served until the returned function is called.
func (h *wsHandler) track() (done func()) {
	h.openMu.Lock()
	h.open++
	h.openMu.Unlock()
	return func() {
		h.openMu.Lock()
		defer h.openMu.Unlock()
		if h.open--; h.open == 0 {
			close(h.idle)
			h.idle = make(chan struct{})
		}
	}
}

// healthz answers 503 while the gateway drains, else asks next.
func (h *wsHandler) healthz(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.draining.Load() || h.life.Err() != nil {
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		next(w, r)
	}
}

func (h *wsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() || h.life.Err() != nil {
		// A stopping gateway takes no new sockets: the client retries,
		// and the load balancer sends it to another gateway.
		w.Header().Set("Retry-After", "1")
		http.Error(w, "draining; reconnect to another gateway", http.StatusServiceUnavailable)
		return
	}
	done := h.track()
	bearer := bearerSubprotocol(r)
	c := &wsConn{m: h.m, closeDone: make(chan struct{})}
	s := &wsSession{wsConn: c, h: h, log: h.log}
	s.out.init(c, &s.wg, h.o.SendQueue, h.o.SlowGrace)
	cw := &corkingWriter{ResponseWriter: w}
	conn, err := websocket.Accept(cw, r, &websocket.AcceptOptions{
		Subprotocols:   []string{Subprotocol},
		OriginPatterns: h.origins,
		OnPongReceived: func(context.Context, []byte) { s.touch() },
	})
	if err != nil {
		done()
		return // Accept has answered the request
	}
	// The frame limit is enforced by readFrame, so that an oversized frame
	// closes with 4002 as documented rather than the library's 1009.
	conn.SetReadLimit(-1)
	c.conn, c.wire = conn, cw.conn
	// The socket outlives this handler (below), and so its context does
	// not end with the request's.
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(r.Context()))
	s.touch()
	h.m.sockets.Inc()
	// When the gateway goes away the socket writes out what is queued for
	// it, then closes with 1001; its client resumes elsewhere with its
	// cursors, so whatever was not written is replayed there, not lost.
	stopDrain := context.AfterFunc(h.life, func() {
		s.out.drain(h.o.SlowGrace)
		s.close(websocket.StatusGoingAway, goingAwayReason)
	})
	end := func() {
		c.cancel()
		// Closing before waiting also ends a write stuck on a client that
		// stopped reading.
		c.closeNow()
		s.wg.Wait()
		if c.closeCode.Load() == 0 {
			h.m.socketsClosed.WithLabelValues("client").Inc()
		}
		stopDrain()
		h.m.sockets.Dec()
		done()
	}

	// The hello and its upstream calls run on this goroutine, whose stack
	// is deep already; client frames are then read by a goroutine of their
	// own, and this one returns: the server lets go of the connection's
	// state (its buffers, the request) and of this stack, so that an idle
	// socket costs one small stack, its reader's.
	if !s.hello(bearer) {
		end()
		return
	}
	go func() {
		defer end()
		s.readLoop()
		s.closePresence()
	}()
}

// hello serves the socket until it is set up: it takes the hello, checks
// the token, opens the presence session, and starts the clock and the
// event pump. On false the socket is closing; on true the presence session
// is open and the caller reads client frames.
func (s *wsSession) hello(bearer string) bool {
	h := s.h
	timer := time.AfterFunc(h.o.HelloTimeout, func() { s.close(CloseUnauthenticated, "no hello frame in time") })
	f, ok := s.readFrame()
	timer.Stop()
	if !ok {
		return false
	}
	if f.Type != frameHello {
		s.close(CloseBadFrame, "the first frame must be hello")
		return false
	}
	if fe := f.validate(); fe != nil {
		s.close(CloseBadFrame, "hello: "+fe.Error())
		return false
	}
	token := f.Token
	if token == "" {
		token = bearer
	}
	if token == "" {
		s.close(CloseUnauthenticated, "missing access token")
		return false
	}
	s.token.Store(&token)

	// The token is checked by the user service, not just its signature, so a
	// revoked session cannot open a socket.
	ctx, cancel := context.WithTimeout(s.ctx, h.o.CallTimeout)
	me, err := h.users.GetCurrentUser(s.authCtx(ctx), &userv1.GetCurrentUserRequest{})
	cancel()
	if err != nil {
		s.closeForUpstream("user", err)
		return false
	}
	s.userID = me.GetUser().GetId()
	s.log = slog.New(userLog{h.log.Handler(), s.userID})

	client := f.Client
	if client == "" {
		client = "web"
	}
	interval, ok := s.openPresence(client)
	if !ok {
		return false
	}
	timeout := h.o.ClientTimeout
	if timeout <= 0 {
		timeout = 3 * interval
	}

	// The client learns its heartbeat interval from ready, so its allowed
	// silence starts here, not at hello: slow upstream calls above must not
	// use it up.
	s.touch()
	ready := outFrame{b: readyFrame(me.GetUser(), s.presence.session(), interval.Milliseconds()), typ: "ready"}
	cursors := make(map[string]string, len(f.Cursors))
	for _, c := range f.Cursors {
		cursors[c.Scope] = c.Position
	}
	s.startClock(interval, timeout)
	s.wg.Add(1)
	if h.hub != nil {
		// On the shared feed ready goes out once the feed follows the
		// socket's scopes (pumpShared): every event logged after it
		// reaches the socket.
		go s.pumpShared(cursors, ready)
	} else {
		// So does it on a socket's own stream, once the server subscribed
		// its scopes (pumpEvents).
		go s.pumpEvents(cursors, ready)
	}
	return true
}

// userLog adds the socket's user to each record it handles. It is
// logger.With("user", id) made lazy: With formats the attribute at once,
// in a buffer of its own that every socket would keep, while a socket
// seldom logs.
type userLog struct {
	slog.Handler
	user string
}

func (u userLog) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(slog.String("user", u.user))
	return u.Handler.Handle(ctx, r)
}

func (u userLog) WithAttrs(as []slog.Attr) slog.Handler {
	return userLog{u.Handler.WithAttrs(as), u.user}
}

func (u userLog) WithGroup(name string) slog.Handler {
	return u.Handler.WithAttrs([]slog.Attr{slog.String("user", u.user)}).WithGroup(name)
}

// touch records that the client showed signs of life.
func (s *wsSession) touch() { s.lastSeen.Store(time.Now().UnixNano()) }

// authCtx makes ctx carry the socket's current access token.
func (s *wsSession) authCtx(ctx context.Context) context.Context {
	return auth.WithBearer(ctx, *s.token.Load())
}

// closeForUpstream closes the socket after a failed upstream call.
func (s *wsSession) closeForUpstream(service string, err error) {
	st := status.Convert(err)
	switch {
	case s.ctx.Err() != nil:
		s.close(websocket.StatusNormalClosure, "")
	case st.Code() == codes.Unauthenticated:
		s.close(CloseUnauthenticated, "unauthenticated: "+st.Message())
	case st.Code() == codes.InvalidArgument:
		s.close(CloseBadFrame, "invalid: "+st.Message())
	default:
		s.countUpstream(service, st.Code())
		s.log.Warn("closing socket after upstream failure", "service", service, "code", st.Code().String(), "err", st.Message())
		s.close(websocket.StatusInternalError, "upstream failure; reconnect")
	}
}

func (s *wsSession) countUpstream(service string, c codes.Code) {
	if upstreamFault(c) {
		s.h.m.upstreamErrors.WithLabelValues(service, codeName(c)).Inc()
	}
}

// backoff is a capped exponential backoff with jitter, for reopening
// upstream streams.
type backoff struct {
	next, max time.Duration
}

func (b *backoff) wait(ctx context.Context) bool {
	if b.next == 0 {
		b.next = 50 * time.Millisecond
	}
	d := b.next/2 + rand.N(b.next/2+1)
	b.next = min(2*b.next, b.max)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (b *backoff) reset() { b.next = 0 }
