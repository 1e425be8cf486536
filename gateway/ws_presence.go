package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
)

// wsPresence is a socket's presence state: the presence session it keeps
// alive, and the set of users whose presence it streams to the client.
type wsPresence struct {
	client    string                 // the client name the session was opened with
	sessionID atomic.Pointer[string] // replaced when a heartbeat finds it expired

	// mu orders watches: a pump of a replaced watch never sends after the
	// new watch's first frame.
	mu       sync.Mutex
	watchGen uint64
	watchEnd context.CancelFunc
}

// session returns the presence session's id ("" before one is open).
func (p *wsPresence) session() string {
	if id := p.sessionID.Load(); id != nil {
		return *id
	}
	return ""
}

// openPresence opens the socket's presence session and returns its
// heartbeat interval; on failure it closes the socket and returns false.
func (s *wsSession) openPresence(client string) (time.Duration, bool) {
	h := s.h
	s.presence.client = client
	ctx, cancel := context.WithTimeout(s.ctx, h.o.CallTimeout)
	sess, err := h.presence.OpenSession(s.authCtx(ctx), &presencev1.OpenSessionRequest{Client: client})
	cancel()
	if err != nil {
		s.closeForUpstream("presence", err)
		return 0, false
	}
	id := sess.GetSessionId()
	s.presence.sessionID.Store(&id)
	interval := sess.GetHeartbeatInterval().AsDuration()
	if h.o.HeartbeatInterval > 0 {
		interval = h.o.HeartbeatInterval
	}
	if interval <= 0 {
		interval = 20 * time.Second
	}
	return interval, true
}

// closePresence ends the presence session at once, even though the
// socket's context is gone.
func (s *wsSession) closePresence() {
	sid := s.presence.session()
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

// heartbeat keeps the presence session alive, reopening it if it expired
// (a presence restart, or a long stall). The socket's clock calls it every interval.
func (s *wsSession) heartbeat() {
	h := s.h
	ctx, cancel := context.WithTimeout(s.ctx, h.o.CallTimeout)
	defer cancel()
	_, err := h.presence.Heartbeat(s.authCtx(ctx), &presencev1.HeartbeatRequest{SessionId: s.presence.session()})
	if err == nil || s.ctx.Err() != nil {
		return
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unauthenticated:
		s.close(CloseUnauthenticated, "unauthenticated: "+st.Message())
	case codes.NotFound:
		res, err := h.presence.OpenSession(s.authCtx(ctx), &presencev1.OpenSessionRequest{Client: s.presence.client})
		if err != nil {
			s.countUpstream("presence", status.Code(err))
			return
		}
		id := res.GetSessionId()
		s.presence.sessionID.Store(&id)
	default:
		s.countUpstream("presence", st.Code())
		s.log.Info("presence heartbeat failed", "code", st.Code().String(), "err", st.Message())
	}
}

// watch replaces the set of users whose presence the socket streams.
func (s *wsSession) watch(ids []string) {
	p := &s.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.watchEnd != nil {
		p.watchEnd()
		p.watchEnd = nil
	}
	p.watchGen++
	if len(ids) == 0 {
		s.out.enqueue(outFrame{b: presenceFrame(true, nil), typ: "presence"})
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	p.watchEnd = cancel
	s.wg.Add(1)
	go s.pumpPresence(ctx, p.watchGen, ids)
}

// sendPresence queues a presence frame unless a newer watch replaced the
// one it came from: the client never sees a change of a set it dropped
// after the new set's snapshot.
func (s *wsSession) sendPresence(gen uint64, f outFrame) bool {
	p := &s.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.watchGen {
		return false
	}
	return s.out.enqueue(f)
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
		sctx, tok := s.streamCtx(ctx)
		stream, err := h.presence.WatchPresence(sctx, &presencev1.WatchPresenceRequest{UserIds: ids})
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
			if s.renewed(tok, err) {
				continue
			}
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
