package gateway

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
)

// A socket's side of the shared feed (feedhub.go). It follows the rules of
// the server's per-socket session (services/server/internal/feed,
// session.go): the user's own scope first, then the scopes of the servers
// the server service lists for them; server_joined adds a server once the
// server service confirms the membership (and replays it from shortly
// before the join), server_left and server_deleted drop it, in order with
// the other events; resume replays the client's cursors after the live
// registration, and every event is dropped whose id is not past the last
// one sent for its scope.

// sharedQueue bounds a socket's queue in the hub. Overflowing it costs a
// catch-up from the event log, not the socket.
const sharedQueue = 64

// sharedJoinReplayMS is how far before a server_joined event a newly
// joined server is replayed (as the server's session does).
const sharedJoinReplayMS = 2000

// sharedReadPage bounds one ReadScopes call per scope.
const sharedReadPage = 500

// A socket on the shared feed has no goroutine of its own waiting for
// events: an idle socket costs its reader and its clock, not a third
// stack. The hub calls the socket's notify when it queues an event for
// it, which queues the socket for the gateway's fan-out workers
// (fanout.go) unless its drain is running; the drain relays what is
// queued and ends when the queue is empty. running is the one token:
// whoever holds it is the only goroutine that touches the session's state
// (active, last, from, w), so events are handled one at a time and in
// order, as by a dedicated goroutine.
type sharedSession struct {
	s         *wsSession
	hub       *feedHub
	sub       *hubSub
	userScope string
	active    map[string]bool
	last      map[string]streamID // last id sent per scope
	from      map[string]string   // where each live-started scope started
	// w is the fan-out worker draining the socket, nil when the drain runs
	// on a goroutine of its own: released before anything that may block.
	w *fanWorker

	running atomic.Bool // a goroutine is handling events (or setting up)
	// mu is held while events are handled; ended is set under it once the
	// socket's context is done, after which nothing is handled.
	mu    sync.Mutex
	ended bool
}

// pumpShared registers the caller with the gateway's shared feed, sends
// ready once the feed follows the caller's scopes, replays their cursors,
// and hands event delivery over to drain goroutines started on demand.
func (s *wsSession) pumpShared(cursors map[string]string, ready outFrame) {
	h := s.h
	sub := h.hub.newSub(s.userID, sharedQueue, func() {
		s.log.Warn("shared event feed did not come back; closing socket")
		s.close(websocket.StatusInternalError, "upstream failure; reconnect")
	})
	ss := &sharedSession{
		s: s, hub: h.hub, sub: sub, userScope: "user:" + s.userID,
		active: make(map[string]bool, 2), last: make(map[string]streamID, 2), from: make(map[string]string, 2),
	}
	// Set-up holds the token: events queued meanwhile wait for it.
	ss.running.Store(true)
	sub.notify = ss.notify
	if !ss.setUp(cursors, ready) {
		ss.hub.close(ss.sub)
		s.wg.Done()
		return
	}
	// From here the socket's slot in s.wg is released by end, once the
	// socket's context is done and no event is being handled.
	context.AfterFunc(s.ctx, ss.end)
	ss.drain()
}

// setUp registers the socket's scopes, sends ready (every event logged
// after it reaches the socket) and replays its cursors.
func (ss *sharedSession) setUp(cursors map[string]string, ready outFrame) bool {
	s := ss.s
	// The session is watched before any scope is added: the feed reports
	// a session that ended before the events of scopes added after it, and
	// from then on nothing more is queued for the socket (docs/websocket.md:
	// 4001 within a second of a revocation or the token's expiry).
	ss.hub.watch(ss.sub, *s.token.Load(), func() string { return *s.token.Load() }, func(reason, message string) {
		if message == "" {
			message = reason
		}
		s.close(CloseUnauthenticated, "unauthenticated: "+message)
	})

	// The user scope first: a server joined or left while the list below
	// is read shows up there afterwards.
	if !ss.add(ss.userScope) {
		return false
	}
	scopes, ok := ss.listServers()
	if !ok {
		return false
	}
	if !ss.add(scopes...) {
		return false
	}
	s.touch() // the client's allowed silence starts with ready
	if !s.out.enqueue(ready) {
		return false
	}
	var resume []*eventsv1.Cursor
	for scope, pos := range cursors {
		if ss.active[scope] { // other scopes are ignored, which reveals nothing
			resume = append(resume, &eventsv1.Cursor{Scope: scope, Position: pos})
		}
	}
	return ss.replay(resume)
}

// notify is called by the hub, with its lock held, after it queued an
// event for the socket: it queues the socket for a fan-out worker unless a
// drain holds the token.
func (ss *sharedSession) notify() {
	if ss.running.CompareAndSwap(false, true) {
		ss.hub.pool.submitAfter(ss, ss.s.out.lastWrite.Load())
	}
}

// drain is called holding the token: it handles what is queued, then
// gives the token up, and takes it back if an event came in between.
func (ss *sharedSession) drain() { ss.drainOn(nil) }

// drainOn is drain on the fan-out worker w (nil: a goroutine of the
// socket's own).
func (ss *sharedSession) drainOn(w *fanWorker) {
	for {
		ss.mu.Lock()
		ss.w = w
		ok := !ss.ended && ss.drainQueued() && ss.s.out.writeStaged(w)
		ss.w = nil // the token may go to another goroutine below
		ss.mu.Unlock()
		if !ok {
			// The socket is closing (whoever failed closed it); the token is
			// kept so that nothing more is handled.
			return
		}
		ss.running.Store(false)
		if len(ss.sub.c) == 0 && len(ss.sub.wake) == 0 {
			return
		}
		if !ss.running.CompareAndSwap(false, true) {
			return // a drain started by notify has it
		}
		if ss.hub.pool.hold(ss, ss.s.out.lastWrite.Load()) {
			return // events came as it wrote: they wait out the write delay
		}
	}
}

// drainQueued handles the queued events and catches up after an
// overflow, until both are empty.
func (ss *sharedSession) drainQueued() bool {
	for {
		select {
		case <-ss.s.ctx.Done():
			return false
		case ev := <-ss.sub.c:
			if !ss.handle(ev, len(ss.sub.c) > 0) {
				return false
			}
			continue
		default:
		}
		select {
		case <-ss.sub.wake:
			if !ss.catchUp() {
				return false
			}
			continue
		default:
		}
		return true
	}
}

// end runs once the socket's context is done: it waits for the event
// being handled, if any (its upstream calls and queue waits end with the
// context), stops all handling, unregisters the socket from the hub and
// releases the socket's slot in s.wg.
func (ss *sharedSession) end() {
	ss.mu.Lock()
	ss.ended = true
	ss.mu.Unlock()
	ss.hub.close(ss.sub)
	ss.s.wg.Done()
}

// block is called before the drain may wait (an upstream call): the
// frames staged so far are written, and a fan-out worker's slot is given
// up.
func (ss *sharedSession) block() {
	if ss.w != nil && !ss.w.released {
		// A socket that is closing fails what follows on its context.
		_ = ss.s.out.writeStaged(ss.w)
	}
	ss.w.release()
}

// add registers the socket for scopes and waits until the feed follows
// them; it closes the socket when the feed does not come back in time.
func (ss *sharedSession) add(scopes ...string) bool {
	ss.block()
	ctx, cancel := context.WithTimeout(ss.s.ctx, ss.s.h.o.GiveUpAfter)
	defer cancel()
	from, err := ss.hub.add(ctx, ss.sub, scopes...)
	if err != nil {
		if ss.s.ctx.Err() == nil {
			ss.s.log.Warn("shared event feed did not come back; closing socket", "err", err)
			ss.s.close(websocket.StatusInternalError, "upstream failure; reconnect")
		}
		return false
	}
	for i, scope := range scopes {
		ss.active[scope] = true
		ss.from[scope] = from[i]
	}
	return true
}

func (ss *sharedSession) remove(scope string) {
	ss.hub.remove(ss.sub, scope)
	delete(ss.active, scope)
	delete(ss.last, scope)
	delete(ss.from, scope)
}

// listServers returns the scopes of the caller's servers.
func (ss *sharedSession) listServers() ([]string, bool) {
	s := ss.s
	ctx, cancel := context.WithTimeout(s.ctx, s.h.o.CallTimeout)
	defer cancel()
	var scopes []string
	token := ""
	for {
		res, err := s.h.servers.ListServers(s.authCtx(ctx), &serverv1.ListServersRequest{PageSize: 500, PageToken: token})
		if err != nil {
			s.closeForUpstream("server", err)
			return nil, false
		}
		for _, srv := range res.GetServers() {
			scopes = append(scopes, "server:"+srv.GetId())
		}
		if token = res.GetNextPageToken(); token == "" {
			return scopes, true
		}
	}
}

// handle relays ev and applies the membership change it carries.
func (ss *sharedSession) handle(ev *hubEvent, behind bool) bool {
	if !ss.deliver(ev, behind) {
		return false
	}
	if ev.scope != ss.userScope {
		if ev.kind == kindServerDeleted && ss.active[ev.scope] {
			ss.remove(ev.scope)
		}
		return true
	}
	switch ev.kind {
	case kindServerJoined:
		scope := "server:" + ev.subject
		if ss.active[scope] || !isID(ev.subject) {
			return true
		}
		// Trust the database, not the event: a join quickly undone must
		// not open the server's feed.
		ss.block()
		ctx, cancel := context.WithTimeout(ss.s.ctx, ss.s.h.o.CallTimeout)
		res, err := ss.s.h.internal.GetMemberRole(ctx, &serverv1.GetMemberRoleRequest{ServerId: ev.subject, UserId: ss.s.userID}, ss.s.h.creds)
		cancel()
		if err != nil {
			ss.s.closeForUpstream("server", err)
			return false
		}
		if res.GetRole() == serverv1.Role_ROLE_UNSPECIFIED {
			return true
		}
		if !ss.add(scope) {
			return false
		}
		from := "0-0"
		if ev.hasID && ev.id.ms > sharedJoinReplayMS {
			from = streamID{ms: ev.id.ms - sharedJoinReplayMS}.String()
		}
		return ss.replay([]*eventsv1.Cursor{{Scope: scope, Position: from}})
	case kindServerLeft:
		if scope := "server:" + ev.subject; ss.active[scope] {
			ss.remove(scope)
		}
	}
	return true
}

// deliver queues ev's frame unless its scope is not held or it was sent
// already.
func (ss *sharedSession) deliver(ev *hubEvent, behind bool) bool {
	if ss.sub.ended.Load() {
		return false // the session ended: the socket is being closed
	}
	if !ss.active[ev.scope] {
		return true
	}
	if ev.hasID {
		if last, ok := ss.last[ev.scope]; ok && !last.less(ev.id) {
			return true
		}
		ss.last[ev.scope] = ev.id
	} else if ev.cursor != "" {
		return true
	}
	if ev.frame == nil {
		return true
	}
	f := outFrame{b: ev.frame, event: true, typ: "event"}
	if behind && ss.w != nil && !ss.w.released {
		// More events are queued, and this drain handles them next: the
		// frame waits for theirs, and one write carries them all (the
		// drain writes what is staged before it ends or waits).
		return ss.s.out.stage(f, ss.w)
	}
	return ss.s.out.queueFrame(f, !behind, ss.w)
}

// replay sends the scopes' events after the cursors, merged in log order,
// through handle (so membership changes among them apply in order).
func (ss *sharedSession) replay(cursors []*eventsv1.Cursor) bool {
	if len(cursors) == 0 {
		return true
	}
	ss.block()
	for _, c := range cursors {
		if from, ok := parseStreamID(c.Position); ok {
			if last, ok := ss.last[c.Scope]; !ok || last.less(from) {
				// Nothing at or before from may be sent from the queue either.
				ss.last[c.Scope] = from
			}
		}
	}
	s := ss.s
	for {
		ctx, cancel := context.WithTimeout(s.ctx, s.h.o.CallTimeout)
		res, err := s.h.feedInternal.ReadScopes(ctx, &eventsv1.ReadScopesRequest{Cursors: cursors, PageSize: sharedReadPage}, s.h.creds)
		cancel()
		if err != nil {
			s.closeForUpstream("server", err)
			return false
		}
		for _, ev := range res.GetEvents() {
			if !ss.handle(newHubEvent(ev), true) {
				return false
			}
			for _, c := range cursors {
				if c.Scope == ev.GetScope() {
					c.Position = ev.GetCursor()
				}
			}
		}
		if !res.GetMore() {
			return true
		}
	}
}

// catchUp follows an overflow of the socket's queue: it relays what was
// queued, resumes queueing, and reads what was dropped from the log. Live
// first, replay second: the queue fills again while the log is read, and
// its events are dropped by id when they come again.
func (ss *sharedSession) catchUp() bool {
	for {
		select {
		case ev := <-ss.sub.c:
			if !ss.handle(ev, true) {
				return false
			}
			continue
		default:
		}
		break
	}
	ss.hub.clearOverflow(ss.sub)
	var cursors []*eventsv1.Cursor
	for scope := range ss.active {
		pos := ss.from[scope]
		if last, ok := ss.last[scope]; ok {
			pos = last.String()
		}
		if pos == "" {
			continue // not started (cannot happen once add returned)
		}
		cursors = append(cursors, &eventsv1.Cursor{Scope: scope, Position: pos})
	}
	ss.s.h.m.sharedCatchUps.Inc()
	return ss.replay(cursors)
}
