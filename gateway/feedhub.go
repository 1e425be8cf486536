package gateway

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
)

// The shared feed (WSOptions.SharedFeed): one FollowScopes stream per
// gateway instead of one StreamEvents stream per socket. feedHub holds the
// stream and the union of the scopes its sockets need, and fans each event
// out to the sockets registered for its scope, decoded and rendered once;
// ws_shared.go is a socket's side (which scopes it may hold, resume).

// streamID is a parsed event log position ("<ms>-<seq>").
type streamID struct{ ms, seq uint64 }

func parseStreamID(s string) (streamID, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return streamID{}, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return streamID{ms, seq}, err1 == nil && err2 == nil
}

func (a streamID) less(b streamID) bool {
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq)
}

func (a streamID) String() string {
	return strconv.FormatUint(a.ms, 10) + "-" + strconv.FormatUint(a.seq, 10)
}

// Kinds of event a socket's session acts on besides relaying it.
const (
	kindOther = iota
	kindServerJoined
	kindServerLeft
	kindServerDeleted
	kindTyping
)

// hubEvent is one event as the hub fans it out: shared by every socket of
// its scope, never modified.
type hubEvent struct {
	scope, cursor string
	id            streamID // parsed cursor; ok false for events without one
	hasID         bool
	kind          int
	subject       string // the server id of a membership event, the user of typing
	frame         []byte // nil for an entry without payload (moves the cursor only)
}

func newHubEvent(ev *eventsv1.Event) *hubEvent {
	e := &hubEvent{scope: ev.GetScope(), cursor: ev.GetCursor()}
	e.id, e.hasID = parseStreamID(e.cursor)
	switch p := ev.GetPayload().(type) {
	case nil:
		return e
	case *eventsv1.Event_ServerJoined:
		e.kind, e.subject = kindServerJoined, p.ServerJoined.GetId()
	case *eventsv1.Event_ServerLeft:
		e.kind, e.subject = kindServerLeft, p.ServerLeft.GetServerId()
	case *eventsv1.Event_ServerDeleted:
		e.kind = kindServerDeleted
	case *eventsv1.Event_Typing:
		e.kind, e.subject = kindTyping, p.Typing.GetUserId()
	}
	e.frame = renderEvent(ev)
	return e
}

// followMsg receives one FollowScopesResponse through followCodec: an
// event is rendered straight from the received bytes.
type followMsg struct {
	ev      *hubEvent
	started *eventsv1.ScopeStarted
	ended   *eventsv1.SessionEnded
}

// followCodec is the codec of the FollowScopes call.
type followCodec struct{}

func (followCodec) Marshal(v any) (mem.BufferSlice, error) { return protoCodec.Marshal(v) }

func (followCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*followMsg)
	if !ok {
		return protoCodec.Unmarshal(data, v)
	}
	b := data.Materialize()
	var res eventsv1.FollowScopesResponse
	if err := proto.Unmarshal(b, &res); err != nil {
		return err
	}
	m.ev, m.started, m.ended = nil, res.GetStarted(), res.GetSessionEnded()
	if ev := res.GetEvent(); ev != nil {
		m.ev = newHubEvent(ev)
	}
	return nil
}

func (followCodec) Name() string { return "proto" }

// UnmarshalWire implements grpcx.WireMessage: in process, where no codec
// runs, the response comes as its encoding.
func (m *followMsg) UnmarshalWire(b []byte) error {
	return followCodec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, m)
}

// hubScope is one scope the hub follows.
type hubScope struct {
	pos       string // last position received; "" until started
	started   bool   // acknowledged on the current stream
	requested bool   // an add was sent on the current stream
	waiters   []*hubWaiter
	subs      map[*hubSub]struct{}
}

// hubSub is one socket's registration: a bounded queue of the events of
// its scopes. When the queue overflows the hub drops events for it and
// flags it; the socket then catches up from the event log (ws_shared.go).
type hubSub struct {
	userID   string
	key      string // the key its session is watched under
	c        chan *hubEvent
	wake     chan struct{} // overflow flagged
	scopes   map[string]struct{}
	overflow bool
	// ended is set once the socket's session ended (or the feed gave up):
	// nothing more is queued for it, and the socket is being closed.
	ended atomic.Bool
	// fail closes the socket when the upstream feed stays down.
	fail func()
	// notify, if set before the first add, is called (with the hub's lock
	// held) after each event queued or overflow flagged for s.
	notify func()
}

// hubWatch is the watch of one socket's session (FollowScopes watch).
type hubWatch struct {
	sub   *hubSub
	token string        // the token watched
	fresh func() string // the socket's current token
	// onEnd closes the socket; it is called at most once, outside the lock.
	onEnd func(reason, message string)
}

// maxWatchesPerRequest and maxWatchBytesPerRequest keep a
// FollowScopesRequest under its limits: the request's item count, and the
// server's 1 MiB message size (a watch carries an access token).
const (
	maxWatchesPerRequest    = 5000
	maxWatchBytesPerRequest = 512 << 10
)

// feedHub is the gateway's one upstream feed.
type feedHub struct {
	client eventsv1.EventInternalServiceClient
	creds  grpc.CallOption
	log    *slog.Logger
	o      WSOptions
	m      *metrics
	pool   *fanout // runs the sockets' drains

	mu       sync.Mutex
	scopes   map[string]*hubScope
	upstream map[string]bool // scopes the current stream follows, as far as requests went
	// unacked counts, per scope, the adds sent on the current stream that
	// no ScopeStarted answered yet. The server answers every add once, in
	// order: while a later add is unanswered, a ScopeStarted answers an
	// earlier one, possibly made for a scope the gateway has since dropped
	// and removed upstream, and tells nothing about the scope as it is now.
	unacked map[string]int
	dirty   map[string]bool // scopes whose upstream state may need a request
	kick    chan struct{}
	up      bool // a stream is open

	subs       map[*hubSub]struct{}
	nextKey    uint64
	watches    map[string]*hubWatch
	watched    map[string]bool // keys the current stream watches, as far as requests went
	dirtyWatch map[string]bool // keys whose upstream watch may need a request
}

func newFeedHub(client eventsv1.EventInternalServiceClient, creds grpc.CallOption, log *slog.Logger, o WSOptions, m *metrics) *feedHub {
	return &feedHub{
		client: client, creds: creds, log: log, o: o, m: m, pool: newFanout(o.WriteDelay),
		scopes: map[string]*hubScope{}, upstream: map[string]bool{}, dirty: map[string]bool{}, unacked: map[string]int{},
		kick: make(chan struct{}, 1),
		subs: map[*hubSub]struct{}{}, watches: map[string]*hubWatch{}, watched: map[string]bool{}, dirtyWatch: map[string]bool{},
	}
}

// newSub registers a socket; fail, if not nil, closes it when the
// upstream feed stays down.
func (h *feedHub) newSub(userID string, queue int, fail func()) *hubSub {
	s := &hubSub{userID: userID, c: make(chan *hubEvent, queue), wake: make(chan struct{}, 1), scopes: map[string]struct{}{}, fail: fail}
	h.mu.Lock()
	h.nextKey++
	s.key = strconv.FormatUint(h.nextKey, 10)
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// watch has the upstream watch s's session, with token, from the next
// request on (before the scopes s adds after it). When the session ends
// onEnd is called, once, and nothing more is queued for s; a token that
// merely expired is watched again with fresh() when that differs.
func (h *feedHub) watch(s *hubSub, token string, fresh func() string, onEnd func(reason, message string)) {
	h.mu.Lock()
	h.watches[s.key] = &hubWatch{sub: s, token: token, fresh: fresh, onEnd: onEnd}
	h.dirtyWatch[s.key] = true
	h.mu.Unlock()
	h.poke()
}

// sessionEnded acts on the end of a watched session.
func (h *feedHub) sessionEnded(e *eventsv1.SessionEnded) {
	h.mu.Lock()
	w := h.watches[e.GetKey()]
	if w == nil {
		h.mu.Unlock()
		return
	}
	delete(h.watched, e.GetKey())
	if e.GetReason() == "TOKEN_EXPIRED" {
		if t := w.fresh(); t != "" && t != w.token {
			// The client sent a fresh token in time: the socket goes on.
			w.token = t
			h.dirtyWatch[e.GetKey()] = true
			h.mu.Unlock()
			h.poke()
			return
		}
	}
	delete(h.watches, e.GetKey())
	w.sub.ended.Store(true)
	h.mu.Unlock()
	w.onEnd(e.GetReason(), e.GetMessage())
}

// giveUp closes every socket: the upstream feed stayed down.
func (h *feedHub) giveUp() {
	h.mu.Lock()
	var fail []func()
	for s := range h.subs {
		if s.fail != nil && !s.ended.Swap(true) {
			fail = append(fail, s.fail)
		}
	}
	h.mu.Unlock()
	for _, f := range fail {
		f()
	}
}

func (h *feedHub) poke() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// add registers s for scopes and waits until each is followed upstream:
// from then on every event of them the gateway receives reaches s. It
// returns, for each scope, the position s's events start after.
func (h *feedHub) add(ctx context.Context, s *hubSub, scopes ...string) ([]string, error) {
	from := make([]string, len(scopes))
	waits := map[int]*hubWaiter{}
	h.mu.Lock()
	for i, scope := range scopes {
		st, ok := h.scopes[scope]
		if !ok {
			st = &hubScope{subs: map[*hubSub]struct{}{}}
			h.scopes[scope] = st
			h.dirty[scope] = true
		}
		st.subs[s] = struct{}{}
		s.scopes[scope] = struct{}{}
		if st.started {
			from[i] = st.pos
			continue
		}
		w := &hubWaiter{c: make(chan struct{})}
		st.waiters = append(st.waiters, w)
		waits[i] = w
	}
	h.mu.Unlock()
	h.poke()
	for i, w := range waits {
		select {
		case <-w.c:
			from[i] = w.pos
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return from, nil
}

// hubWaiter waits for a scope to be followed upstream.
type hubWaiter struct {
	c   chan struct{}
	pos string // the scope's position when it was; set before c is closed
}

// remove unregisters s from scope; nothing more of it is queued for s.
func (h *feedHub) remove(s *hubSub, scope string) {
	h.mu.Lock()
	h.removeLocked(s, scope)
	h.mu.Unlock()
	h.poke()
}

func (h *feedHub) removeLocked(s *hubSub, scope string) {
	delete(s.scopes, scope)
	st, ok := h.scopes[scope]
	if !ok {
		return
	}
	delete(st.subs, s)
	if len(st.subs) == 0 {
		delete(h.scopes, scope)
		h.dirty[scope] = true
	}
}

// close unregisters s from everything.
func (h *feedHub) close(s *hubSub) {
	h.mu.Lock()
	for scope := range s.scopes {
		h.removeLocked(s, scope)
	}
	delete(h.subs, s)
	if _, ok := h.watches[s.key]; ok {
		delete(h.watches, s.key)
		h.dirtyWatch[s.key] = true
	}
	h.mu.Unlock()
	h.poke()
}

// clearOverflow resumes queueing for s after an overflow.
func (h *feedHub) clearOverflow(s *hubSub) {
	h.mu.Lock()
	s.overflow = false
	h.mu.Unlock()
}

// run keeps the upstream stream open until ctx ends. A broken stream is
// reopened with every scope resumed from the last position received, so
// sockets see neither a gap nor a duplicate.
//
// A feed that cannot be re-established for GiveUpAfter closes every socket
// with 1011, as a socket's own stream does on the default path; sockets
// that come meanwhile wait for it as long themselves.
func (h *feedHub) run(ctx context.Context) {
	bo := backoff{max: h.o.RetryMax}
	var failingSince time.Time
	for ctx.Err() == nil {
		start := time.Now()
		received, err := h.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("shared event feed broke; resuming", "err", err)
		if c := status.Code(err); h.m != nil && upstreamFault(c) {
			h.m.upstreamErrors.WithLabelValues("server", codeName(c)).Inc()
		}
		if received || time.Since(start) > h.o.RetryMax {
			// The stream worked for a while: this is a fresh break.
			failingSince = time.Time{}
			bo.reset()
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		} else if time.Since(failingSince) > h.o.GiveUpAfter {
			h.log.Warn("shared event feed did not come back; closing its sockets", "err", err)
			h.giveUp()
			failingSince = time.Now()
		}
		if !bo.wait(ctx) {
			return
		}
	}
}

// stream runs one FollowScopes call until it fails; received tells
// whether anything came on it.
func (h *feedHub) stream(ctx context.Context) (received bool, _ error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := h.client.FollowScopes(ctx, h.creds, grpc.ForceCodecV2(followCodec{}))
	if err != nil {
		return false, err
	}
	h.resetUpstream()
	defer func() {
		h.mu.Lock()
		h.up = false
		h.mu.Unlock()
	}()
	sendErr := make(chan error, 1)
	go func() { sendErr <- h.sendLoop(ctx, st) }()
	h.poke()
	for {
		var m followMsg
		if err := st.RecvMsg(&m); err != nil {
			cancel()
			<-sendErr
			return received, err
		}
		received = true
		if m.ended != nil {
			h.sessionEnded(m.ended)
			continue
		}
		if m.started != nil {
			h.started(m.started)
			continue
		}
		if m.ev != nil {
			h.dispatch(m.ev)
		}
	}
}

// resetUpstream starts over on a new stream: every scope is to be added
// again, from its last position when it had one.
func (h *feedHub) resetUpstream() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.up = true
	clear(h.upstream)
	clear(h.unacked)
	for scope, sc := range h.scopes {
		sc.started, sc.requested = false, false
		h.dirty[scope] = true
	}
	clear(h.watched)
	clear(h.dirtyWatch)
	for key := range h.watches {
		h.dirtyWatch[key] = true
	}
}

// sendLoop sends the changes of the scope set as they come.
func (h *feedHub) sendLoop(ctx context.Context, st eventsv1.EventInternalService_FollowScopesClient) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-h.kick:
		}
		req := h.changes()
		if req == nil {
			continue
		}
		if err := st.Send(req); err != nil {
			return err
		}
	}
}

// changes is the request that brings the upstream scope set in line with
// the sockets' needs, or nil.
func (h *feedHub) changes() *eventsv1.FollowScopesRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	req := &eventsv1.FollowScopesRequest{}
	// Sessions first: the server applies a request's watches before its
	// scopes, so a session that ended is reported before its scopes'
	// events. While watches remain, scopes wait for a later request.
	size := 0
	for key := range h.dirtyWatch {
		if len(req.Watch)+len(req.Unwatch) == maxWatchesPerRequest || size >= maxWatchBytesPerRequest {
			h.poke()
			return req
		}
		delete(h.dirtyWatch, key)
		switch w, ok := h.watches[key]; {
		case ok:
			req.Watch = append(req.Watch, &eventsv1.WatchSession{Key: key, AccessToken: w.token})
			h.watched[key] = true
			size += len(key) + len(w.token) + 8
		case h.watched[key]:
			req.Unwatch = append(req.Unwatch, key)
			delete(h.watched, key)
			size += len(key) + 4
		}
	}
	for scope := range h.dirty {
		delete(h.dirty, scope)
		sc, wanted := h.scopes[scope]
		switch {
		case !wanted && h.upstream[scope]:
			req.Remove = append(req.Remove, scope)
			delete(h.upstream, scope)
		case wanted && !sc.requested && (!h.upstream[scope] || !sc.started):
			// A scope followed before resumes from its position; a new one
			// starts live. A scope re-created while its removal was not yet
			// sent is still followed upstream: asking again acknowledges it.
			req.Add = append(req.Add, &eventsv1.Cursor{Scope: scope, Position: sc.pos})
			sc.requested = true
			h.upstream[scope] = true
			h.unacked[scope]++
		}
	}
	if len(req.Add) == 0 && len(req.Remove) == 0 && len(req.Watch) == 0 && len(req.Unwatch) == 0 {
		return nil
	}
	return req
}

// started acts on a ScopeStarted: the scope's sockets wait for the answer
// to the add made for the scope as it is now. An answer to an earlier add
// is passed over: between that add and the current one the scope may have
// been removed upstream, and what was logged meanwhile is sent after the
// current add's position only.
func (h *feedHub) started(s *eventsv1.ScopeStarted) {
	h.mu.Lock()
	defer h.mu.Unlock()
	scope := s.GetScope()
	n := h.unacked[scope] - 1
	if n > 0 {
		h.unacked[scope] = n
	} else {
		delete(h.unacked, scope)
	}
	sc, ok := h.scopes[scope]
	if !ok || !sc.requested || n > 0 {
		if ok && h.log != nil {
			h.log.Debug("shared feed: answer to an earlier add of a scope passed over", "scope", scope, "position", s.GetPosition())
		}
		return
	}
	if p, ok := parseStreamID(s.GetPosition()); ok {
		if cur, ok := parseStreamID(sc.pos); !ok || cur.less(p) {
			sc.pos = s.GetPosition()
		}
	}
	sc.started = true
	for _, w := range sc.waiters {
		w.pos = sc.pos
		close(w.c)
	}
	sc.waiters = nil
}

// dispatch queues ev for every socket of its scope. A socket whose queue
// is full is flagged instead and catches up from the log.
func (h *feedHub) dispatch(ev *hubEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sc, ok := h.scopes[ev.scope]
	if !ok {
		return
	}
	if ev.hasID {
		sc.pos = ev.cursor
	}
	if ev.frame == nil {
		return
	}
	for s := range sc.subs {
		if s.overflow || s.ended.Load() {
			continue
		}
		if ev.kind == kindTyping && ev.subject == s.userID {
			continue // one's own typing is not sent back
		}
		select {
		case s.c <- ev:
		default:
			s.overflow = true
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
		if s.notify != nil {
			s.notify()
		}
	}
}
