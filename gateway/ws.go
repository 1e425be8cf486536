package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
)

// Subprotocol is the WebSocket subprotocol of the event API.
const Subprotocol = "accord.v1"

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
	life     context.Context
	log      *slog.Logger
	m        *metrics
	o        WSOptions
	origins  []string
	users    userv1.UserServiceClient
	servers  serverv1.ServerServiceClient
	presence presencev1.PresenceServiceClient
	frames   *frameCache
}

func newWSHandler(ctx context.Context, o Options, m *metrics) *wsHandler {
	wo := o.WS
	wo.defaults()
	return &wsHandler{
		life: ctx, log: o.Log, m: m, o: wo, origins: o.AllowedOrigins,
		users:    userv1.NewUserServiceClient(o.Peers.User),
		servers:  serverv1.NewServerServiceClient(o.Peers.Server),
		presence: presencev1.NewPresenceServiceClient(o.Peers.Presence),
		frames:   newFrameCache(4096),
	}
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

// outFrame is a frame waiting in a socket's send queue.
type outFrame struct {
	b     []byte
	event bool
	typ   string
}

// wsSession is one socket's state; nothing outlives the socket.
type wsSession struct {
	h      *wsHandler
	conn   *websocket.Conn
	wire   *corkConn // under conn
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger

	// The send queue: frames wait here while a goroutine writes (enqueue).
	qmu        sync.Mutex
	queue      []outFrame
	writing    bool          // a goroutine is writing the queue out
	room       chan struct{} // the queue got room
	kick       chan struct{} // writeLoop is to write the queue out (writing is set for it)
	writeStart atomic.Int64  // unix nanoseconds the current write began, 0 when none

	lastSeen  atomic.Int64 // unix nanoseconds of the last frame or pong from the client
	closing   atomic.Bool
	closeOnce sync.Once
	closeCode atomic.Int32
	closeDone chan struct{} // closed once the connection is closed

	mu        sync.Mutex
	token     string
	userID    string
	sessionID string

	watchMu  sync.Mutex
	watchGen uint64
	watchEnd context.CancelFunc

	wg sync.WaitGroup
}

func (h *wsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bearer := bearerSubprotocol(r)
	s := &wsSession{h: h, room: make(chan struct{}, 1), kick: make(chan struct{}, 1), log: h.log, closeDone: make(chan struct{})}
	cw := &corkingWriter{ResponseWriter: w}
	conn, err := websocket.Accept(cw, r, &websocket.AcceptOptions{
		Subprotocols:   []string{Subprotocol},
		OriginPatterns: h.origins,
		OnPongReceived: func(context.Context, []byte) { s.touch() },
	})
	if err != nil {
		return // Accept has answered the request
	}
	// The frame limit is enforced by readFrame, so that an oversized frame
	// closes with 4002 as documented rather than the library's 1009.
	conn.SetReadLimit(-1)
	s.conn, s.wire = conn, cw.conn
	s.ctx, s.cancel = context.WithCancel(r.Context())
	defer s.cancel()
	s.touch()
	h.m.sockets.Inc()
	defer h.m.sockets.Dec()

	s.run(bearer)
	s.cancel()
	// Closing before waiting also ends a write stuck on a client that
	// stopped reading.
	s.closeNow()
	s.wg.Wait()
	if s.closeCode.Load() == 0 {
		h.m.socketsClosed.WithLabelValues("client").Inc()
	}
}

// closeLabel is the metrics label of a close code.
func closeLabel(c websocket.StatusCode) string {
	return strconv.Itoa(int(c))
}

// run serves the socket until it closes.
func (s *wsSession) run(bearer string) {
	h := s.h
	timer := time.AfterFunc(h.o.HelloTimeout, func() { s.close(CloseUnauthenticated, "no hello frame in time") })
	f, ok := s.readFrame()
	timer.Stop()
	if !ok {
		return
	}
	if f.Type != frameHello {
		s.close(CloseBadFrame, "the first frame must be hello")
		return
	}
	if fe := f.validate(); fe != nil {
		s.close(CloseBadFrame, "hello: "+fe.Error())
		return
	}
	token := f.Token
	if token == "" {
		token = bearer
	}
	if token == "" {
		s.close(CloseUnauthenticated, "missing access token")
		return
	}
	s.token = token

	// The token is checked by the user service, not just its signature, so a
	// revoked session cannot open a socket.
	ctx, cancel := context.WithTimeout(s.ctx, h.o.CallTimeout)
	me, err := h.users.GetCurrentUser(s.authCtx(ctx), &userv1.GetCurrentUserRequest{})
	cancel()
	if err != nil {
		s.closeForUpstream("user", err)
		return
	}
	s.userID = me.GetUser().GetId()
	s.log = h.log.With("user", s.userID)

	client := f.Client
	if client == "" {
		client = "web"
	}
	ctx, cancel = context.WithTimeout(s.ctx, h.o.CallTimeout)
	sess, err := h.presence.OpenSession(s.authCtx(ctx), &presencev1.OpenSessionRequest{Client: client})
	cancel()
	if err != nil {
		s.closeForUpstream("presence", err)
		return
	}
	s.sessionID = sess.GetSessionId()
	defer s.closeSession()

	interval := sess.GetHeartbeatInterval().AsDuration()
	if h.o.HeartbeatInterval > 0 {
		interval = h.o.HeartbeatInterval
	}
	if interval <= 0 {
		interval = 20 * time.Second
	}
	timeout := h.o.ClientTimeout
	if timeout <= 0 {
		timeout = 3 * interval
	}

	s.enqueue(outFrame{b: readyFrame(me.GetUser(), s.sessionID, interval.Milliseconds()), typ: "ready"})
	cursors := make(map[string]string, len(f.Cursors))
	for _, c := range f.Cursors {
		cursors[c.Scope] = c.Position
	}
	s.wg.Add(2)
	go s.writeLoop(interval, timeout, client)
	go s.pumpEvents(cursors)
	s.readLoop()
}

// touch records that the client showed signs of life.
func (s *wsSession) touch() { s.lastSeen.Store(time.Now().UnixNano()) }

func (s *wsSession) authCtx(ctx context.Context) context.Context {
	s.mu.Lock()
	t := s.token
	s.mu.Unlock()
	return auth.WithBearer(ctx, t)
}

// close starts closing the socket with code and reason; the first call wins.
func (s *wsSession) close(code websocket.StatusCode, reason string) {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.closeCode.Store(int32(code))
		s.h.m.socketsClosed.WithLabelValues(closeLabel(code)).Inc()
		// The close handshake can take seconds with a stuck client; it must
		// not hold up the goroutine that decided to close.
		go func() {
			defer close(s.closeDone)
			_ = s.conn.Close(code, truncate(reason, 120))
			s.cancel()
		}()
	})
}

// closeNow drops the connection unless a close handshake was started, in
// which case it waits for that to end (it is bounded by the library).
func (s *wsSession) closeNow() {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		_ = s.conn.CloseNow()
		close(s.closeDone)
	})
	<-s.closeDone
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

// closeSession ends the presence session at once, even though the socket's
// context is gone.
func (s *wsSession) closeSession() {
	s.mu.Lock()
	sid := s.sessionID
	s.mu.Unlock()
	if sid == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.h.presence.CloseSession(s.authCtx(ctx), &presencev1.CloseSessionRequest{SessionId: sid}); err != nil {
		st := status.Convert(err)
		s.countUpstream("presence", st.Code())
		s.log.Info("presence session not closed", "session", sid, "code", st.Code().String(), "err", st.Message())
	}
}

// enqueue queues a frame and writes the queue out, unless another of the
// socket's goroutines is writing it already (then that one writes this
// frame too). Handing frames to a dedicated writer goroutine would cost a
// goroutine switch per frame, the most expensive step after the system
// call itself.
//
// A queue that stays full for the grace period, or a write that does not
// complete within it (writeLoop checks), closes the socket with 4008; only
// this socket's goroutines ever wait here.
func (s *wsSession) enqueue(f outFrame) bool { return s.queueFrame(f, true) }

// behindThreshold: a RecvMsg that returns faster than this found its
// message waiting.
const behindThreshold = 10 * time.Microsecond

// queueFrame is enqueue, except that with write false the frame is left to
// writeLoop when nobody is writing.
func (s *wsSession) queueFrame(f outFrame, write bool) bool {
	if s.closing.Load() {
		return false
	}
	s.qmu.Lock()
	if len(s.queue) >= s.h.o.SendQueue && !s.waitForRoom() {
		return false
	}
	s.queue = append(s.queue, f)
	if len(s.queue) < s.h.o.SendQueue {
		// Pass the room on to the next goroutine waiting, if any.
		select {
		case s.room <- struct{}{}:
		default:
		}
	}
	if s.writing {
		s.qmu.Unlock()
		return true
	}
	s.writing = true
	s.qmu.Unlock()
	if !write {
		s.kick <- struct{}{} // never blocks: only the one goroutine that set writing sends
		return true
	}
	return s.flush()
}

// waitForRoom waits, with qmu held, until the queue has room; on failure
// it returns false with qmu released.
func (s *wsSession) waitForRoom() bool {
	t := time.NewTimer(s.h.o.SlowGrace)
	defer t.Stop()
	for len(s.queue) >= s.h.o.SendQueue {
		s.qmu.Unlock()
		select {
		case <-s.room:
		case <-t.C:
			s.close(CloseTooSlow, "too slow")
			return false
		case <-s.ctx.Done():
			return false
		}
		if s.closing.Load() {
			return false
		}
		s.qmu.Lock()
	}
	return true
}

// flush writes the queue out until it is empty. The caller has set
// s.writing; flush clears it.
func (s *wsSession) flush() bool {
	var spare []outFrame
	for {
		s.qmu.Lock()
		if len(s.queue) == 0 || s.closing.Load() {
			ok := len(s.queue) == 0
			s.queue, s.writing = nil, false
			if ok && cap(spare) <= 16 {
				s.queue = spare // small: kept for the next frame
			}
			s.qmu.Unlock()
			return ok
		}
		batch := s.queue
		s.queue = spare
		s.qmu.Unlock()
		select {
		case s.room <- struct{}{}:
		default:
		}
		s.writeStart.Store(time.Now().UnixNano())
		ok := s.writeFrames(batch)
		s.writeStart.Store(0)
		if !ok {
			s.qmu.Lock()
			s.queue, s.writing = nil, false
			s.qmu.Unlock()
			s.cancel()
			return false
		}
		clear(batch)
		spare = batch[:0]
	}
}

// writeLoop writes the queue out when a frame is left to it, and keeps
// the socket's clock: it heartbeats the presence session,
// pings the client at the protocol level, and closes the socket when the
// client falls silent, a write stays stuck, or the gateway shuts down.
func (s *wsSession) writeLoop(interval, timeout time.Duration, client string) {
	defer s.wg.Done()
	h := s.h
	hb := time.NewTicker(interval)
	defer hb.Stop()
	check := time.NewTicker(max(min(timeout/4, interval, h.o.SlowGrace/2), 10*time.Millisecond))
	defer check.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-h.life.Done():
			s.close(websocket.StatusGoingAway, "server going away; reconnect")
			return
		case <-s.kick:
			if !s.flush() {
				return
			}
		case <-check.C:
			if time.Since(time.Unix(0, s.lastSeen.Load())) > timeout {
				s.close(CloseTimeout, "timeout")
				return
			}
			if t := s.writeStart.Load(); t != 0 && time.Since(time.Unix(0, t)) > h.o.SlowGrace {
				s.close(CloseTooSlow, "too slow")
				return
			}
		case <-hb.C:
			// Both wait on the network: they must not hold up the clock.
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				ctx, cancel := context.WithTimeout(s.ctx, interval)
				defer cancel()
				_ = s.conn.Ping(ctx)
			}()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.heartbeat(client)
			}()
		}
	}
}

// Batch limits of writeFrames.
const (
	maxBatchFrames = 64
	maxBatchBytes  = 64 << 10
)

// writeFrames writes frames with one system call per batch: a socket that
// falls behind catches up in large writes instead of one per frame. It
// reports whether the socket is still writable.
//
// Writes take a context that is never done, which spares the library a
// timer handoff per frame; a write stuck on a client that stopped reading
// ends when the connection is closed (closeNow, or the too-slow close).
func (s *wsSession) writeFrames(frames []outFrame) bool {
	s.wire.cork()
	defer s.wire.uncork()
	n, size := 0, 0
	for _, f := range frames {
		if s.closing.Load() {
			return false
		}
		if err := s.conn.Write(context.Background(), websocket.MessageText, f.b); err != nil {
			return false
		}
		s.h.m.frameSent(f.typ, f.event)
		n, size = n+1, size+len(f.b)
		if n == maxBatchFrames || size >= maxBatchBytes {
			if s.wire.uncork() != nil {
				return false
			}
			s.wire.cork()
			n, size = 0, 0
		}
	}
	return s.wire.uncork() == nil
}

// readFrame reads one client frame; on a bad frame it starts closing the
// socket and returns false.
func (s *wsSession) readFrame() (*clientFrame, bool) {
	for {
		typ, rd, err := s.conn.Reader(s.ctx)
		if err != nil {
			return nil, false
		}
		data, err := io.ReadAll(io.LimitReader(rd, maxFrameBytes+1))
		if err != nil {
			return nil, false
		}
		s.touch()
		if typ != websocket.MessageText {
			s.close(CloseBadFrame, "binary frames are not accepted")
			return nil, false
		}
		f, err := parseClientFrame(data)
		if errors.Is(err, errBadFrame) {
			s.close(CloseBadFrame, err.Error())
			return nil, false
		}
		var fe *fieldError
		if errors.As(err, &fe) && f.Type != frameHello {
			s.enqueue(outFrame{b: errorFrame(codes.InvalidArgument, fe.Message, fe.Field, f.Type), typ: "error"})
			continue
		}
		return f, true
	}
}

// readLoop handles client frames until the socket closes.
func (s *wsSession) readLoop() {
	for {
		f, ok := s.readFrame()
		if !ok {
			return
		}
		s.handle(f)
	}
}

// handle answers one client frame.
func (s *wsSession) handle(f *clientFrame) {
	h := s.h
	if f.Type == framePing {
		s.enqueue(outFrame{b: pongFrame(f.Nonce), typ: "pong"})
		return
	}
	if f.Type == frameWatchPresence {
		s.watch(f.UserIDs)
		return
	}
	if f.Type == frameHello {
		s.enqueue(outFrame{b: errorFrame(codes.FailedPrecondition, "hello was already accepted", "", f.Type), typ: "error"})
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, h.o.CallTimeout)
	defer cancel()
	var (
		err     error
		service string
	)
	switch f.Type {
	case frameTyping:
		service = "server"
		_, err = h.servers.SendTyping(s.authCtx(ctx), &serverv1.SendTypingRequest{ChannelId: f.ChannelID})
	case frameMarkRead:
		service = "server"
		_, err = h.servers.MarkRead(s.authCtx(ctx), &serverv1.MarkReadRequest{ChannelId: f.ChannelID, MessageId: f.MessageID})
	case frameSetStatus:
		service = "presence"
		st, _ := settableStatus(f.Status)
		_, err = h.presence.SetStatus(s.authCtx(ctx), &presencev1.SetStatusRequest{Status: st})
	case frameToken:
		service = "user"
		err = s.replaceToken(ctx, f.Token)
	}
	if err == nil || s.ctx.Err() != nil {
		return
	}
	st := status.Convert(err)
	s.countUpstream(service, st.Code())
	if st.Code() == codes.Unauthenticated && f.Type != frameToken {
		s.close(CloseUnauthenticated, "unauthenticated: "+st.Message())
		return
	}
	s.enqueue(outFrame{b: errorFrame(st.Code(), clientMessage(st), fieldOf(st), f.Type), typ: "error"})
}

// replaceToken switches the socket to a fresh access token of the same user,
// so that a socket outlives the access token it was opened with.
func (s *wsSession) replaceToken(ctx context.Context, token string) error {
	me, err := s.h.users.GetCurrentUser(auth.WithBearer(ctx, token), &userv1.GetCurrentUserRequest{})
	if err != nil {
		return err
	}
	if me.GetUser().GetId() != s.userID {
		return status.Error(codes.PermissionDenied, "the token belongs to another user")
	}
	s.mu.Lock()
	s.token = token
	s.mu.Unlock()
	return nil
}

// clientMessage is a status message safe to show to the client.
func clientMessage(st *status.Status) string {
	if st.Code() == codes.Unknown && len(st.Details()) == 0 {
		return "upstream error"
	}
	return st.Message()
}

// fieldOf returns the first field violation of a status.
func fieldOf(st *status.Status) string {
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetField()
		}
	}
	return ""
}

// backoff is a capped exponential backoff with jitter.
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

// pumpEvents relays the caller's event feed. When the upstream stream
// breaks it is reopened after the last cursor of every scope, so the client
// sees neither a gap nor a duplicate.
func (s *wsSession) pumpEvents(cursors map[string]string) {
	defer s.wg.Done()
	h := s.h
	bo := backoff{max: h.o.RetryMax}
	var failingSince time.Time
	first := true
	// Scopes the client gave no cursor for start live upstream. Should the
	// stream break, such a quiet scope resumes from shortly before the
	// first open (stream positions are milliseconds), so that its events
	// of the break are not lost; the margin allows for clock skew with Redis.
	quietFrom := fmt.Sprintf("%d-0", time.Now().Add(-quietMargin).UnixMilli())
	for s.ctx.Err() == nil {
		if !first {
			s.addQuietScopes(cursors, quietFrom)
		}
		req := &serverv1.StreamEventsRequest{Cursors: make([]*serverv1.Cursor, 0, len(cursors))}
		for scope, pos := range cursors {
			req.Cursors = append(req.Cursors, &serverv1.Cursor{Scope: scope, Position: pos})
		}
		start := time.Now()
		received := false
		// Responses are decoded through the shared frame cache: the sockets
		// of a channel's members all receive the same bytes.
		stream, err := h.servers.StreamEvents(s.authCtx(s.ctx), req, grpc.ForceCodecV2(feedCodec{}))
		if err == nil {
			m := feedMsg{cache: h.frames}
			for {
				t0 := time.Now()
				if err = stream.RecvMsg(&m); err != nil {
					break
				}
				// An event that was waiting already means the socket is
				// behind its stream: hand the writing to writeLoop and
				// keep receiving, so that the frames go out in batches.
				behind := time.Since(t0) < behindThreshold
				received = true
				ev := m.ev
				if ev.frame == nil {
					continue
				}
				if ev.cursor != "" && ev.scope != "" {
					cursors[ev.scope] = ev.cursor
				}
				if !s.queueFrame(outFrame{b: ev.frame, event: true, typ: "event"}, !behind) {
					return
				}
			}
		}
		if s.ctx.Err() != nil {
			return
		}
		st := status.Convert(err)
		switch st.Code() {
		case codes.Unauthenticated:
			s.close(CloseUnauthenticated, "unauthenticated: "+st.Message())
			return
		case codes.InvalidArgument, codes.PermissionDenied:
			if first && !received {
				s.close(CloseBadFrame, "hello: "+st.Message())
				return
			}
		}
		first = false
		s.countUpstream("server", st.Code())
		if received || time.Since(start) > h.o.RetryMax {
			// The stream worked for a while: this is a fresh break.
			failingSince = time.Time{}
			bo.reset()
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		} else if time.Since(failingSince) > h.o.GiveUpAfter {
			s.log.Warn("event stream did not come back; closing socket", "code", st.Code().String(), "err", st.Message())
			s.close(websocket.StatusInternalError, "upstream failure; reconnect")
			return
		}
		s.log.Debug("event stream broke; resuming", "code", st.Code().String(), "err", st.Message())
		if !bo.wait(s.ctx) {
			return
		}
	}
}

// quietMargin is how far before a socket's first stream open its quiet
// scopes are resumed from.
const quietMargin = 2 * time.Second

// addQuietScopes gives every scope of the user that has no cursor yet (its
// own scope, and servers without an event since the socket opened) the
// position quietFrom. Failing to list them is not fatal: the stream still
// resumes the scopes with cursors.
func (s *wsSession) addQuietScopes(cursors map[string]string, quietFrom string) {
	add := func(scope string) {
		if _, ok := cursors[scope]; !ok && len(cursors) < maxCursors {
			cursors[scope] = quietFrom
		}
	}
	add("user:" + s.userID)
	ctx, cancel := context.WithTimeout(s.ctx, s.h.o.CallTimeout)
	defer cancel()
	token := ""
	for range maxCursors / 500 {
		res, err := s.h.servers.ListServers(s.authCtx(ctx), &serverv1.ListServersRequest{PageSize: 500, PageToken: token})
		if err != nil {
			s.countUpstream("server", status.Code(err))
			return
		}
		for _, srv := range res.GetServers() {
			add("server:" + srv.GetId())
		}
		if token = res.GetNextPageToken(); token == "" {
			return
		}
	}
}

// watch replaces the set of users whose presence the socket streams.
func (s *wsSession) watch(ids []string) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if s.watchEnd != nil {
		s.watchEnd()
		s.watchEnd = nil
	}
	s.watchGen++
	if len(ids) == 0 {
		s.enqueue(outFrame{b: presenceFrame(true, nil), typ: "presence"})
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.watchEnd = cancel
	s.wg.Add(1)
	go s.pumpPresence(ctx, s.watchGen, ids)
}

// sendPresence queues a presence frame unless a newer watch replaced the
// one it came from: the client never sees a change of a set it dropped
// after the new set's snapshot.
func (s *wsSession) sendPresence(gen uint64, f outFrame) bool {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if gen != s.watchGen {
		return false
	}
	return s.enqueue(f)
}

// pumpPresence relays WatchPresence for one set of users, reopening it (with
// a fresh snapshot) when it breaks.
func (s *wsSession) pumpPresence(ctx context.Context, gen uint64, ids []string) {
	defer s.wg.Done()
	h := s.h
	bo := backoff{max: h.o.RetryMax}
	for ctx.Err() == nil {
		start := time.Now()
		received := false
		stream, err := h.presence.WatchPresence(s.authCtx(ctx), &presencev1.WatchPresenceRequest{UserIds: ids})
		if err == nil {
			for {
				var res *presencev1.WatchPresenceResponse
				res, err = stream.Recv()
				if err != nil {
					break
				}
				received = true
				if !s.sendPresence(gen, outFrame{b: presenceFrame(res.GetSnapshot(), res.GetPresences()), typ: "presence"}) {
					return
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		st := status.Convert(err)
		switch st.Code() {
		case codes.Unauthenticated:
			s.close(CloseUnauthenticated, "unauthenticated: "+st.Message())
			return
		case codes.InvalidArgument, codes.PermissionDenied, codes.NotFound:
			s.sendPresence(gen, outFrame{b: errorFrame(st.Code(), st.Message(), fieldOf(st), frameWatchPresence), typ: "error"})
			return
		}
		s.countUpstream("presence", st.Code())
		if received || time.Since(start) > h.o.RetryMax {
			bo.reset()
		}
		if !bo.wait(ctx) {
			return
		}
	}
}

// heartbeat keeps the presence session alive, reopening it if it expired
// (a presence restart, or a long stall).
func (s *wsSession) heartbeat(client string) {
	h := s.h
	ctx, cancel := context.WithTimeout(s.ctx, h.o.CallTimeout)
	defer cancel()
	s.mu.Lock()
	sid := s.sessionID
	s.mu.Unlock()
	_, err := h.presence.Heartbeat(s.authCtx(ctx), &presencev1.HeartbeatRequest{SessionId: sid})
	if err == nil || s.ctx.Err() != nil {
		return
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unauthenticated:
		s.close(CloseUnauthenticated, "unauthenticated: "+st.Message())
	case codes.NotFound:
		res, err := h.presence.OpenSession(s.authCtx(ctx), &presencev1.OpenSessionRequest{Client: client})
		if err != nil {
			s.countUpstream("presence", status.Code(err))
			return
		}
		s.mu.Lock()
		s.sessionID = res.GetSessionId()
		s.mu.Unlock()
	default:
		s.countUpstream("presence", st.Code())
		s.log.Info("presence heartbeat failed", "code", st.Code().String(), "err", st.Message())
	}
}
