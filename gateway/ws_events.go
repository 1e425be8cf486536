package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
)

// behindThreshold: a RecvMsg that returns faster than this found its
// message waiting.
const behindThreshold = 10 * time.Microsecond

// quietMargin is how far before a socket's first stream open its quiet
// scopes are resumed from.
const quietMargin = 2 * time.Second

// pumpEvents relays the caller's event feed. It sends ready once the first
// stream is subscribed upstream, so that every event logged after ready
// reaches the socket. When the upstream stream breaks it is reopened after
// the last cursor of every scope, so the client sees neither a gap nor a
// duplicate. The cursors are the pump's own.
func (s *wsSession) pumpEvents(cursors map[string]string, ready outFrame) {
	defer s.wg.Done()
	h := s.h
	bo := backoff{max: h.o.RetryMax}
	var failingSince time.Time
	first, readySent := true, false
	// Scopes the client gave no cursor for start live upstream. Should the
	// stream break, such a quiet scope resumes from shortly before the
	// first open (stream positions are milliseconds), so that its events
	// of the break are not lost; the margin allows for clock skew with Redis.
	quietFrom := fmt.Sprintf("%d-0", time.Now().Add(-quietMargin).UnixMilli())
	for s.ctx.Err() == nil {
		if !first {
			s.addQuietScopes(cursors, quietFrom)
		}
		req := &eventsv1.StreamEventsRequest{Cursors: make([]*eventsv1.Cursor, 0, len(cursors))}
		for scope, pos := range cursors {
			req.Cursors = append(req.Cursors, &eventsv1.Cursor{Scope: scope, Position: pos})
		}
		start := time.Now()
		received := false
		// Responses are decoded through the shared frame cache: the sockets
		// of a channel's members all receive the same bytes.
		sctx, tok := s.streamCtx(s.ctx)
		stream, err := h.feed.StreamEvents(sctx, req, grpc.ForceCodecV2(feedCodec{}))
		if err == nil && !readySent {
			// The server sends the stream's header once it subscribed the
			// user's scopes (feed.Hub.Serve). A stream that failed before
			// has none; its error comes from RecvMsg below.
			if md, _ := stream.Header(); md != nil {
				s.touch() // the client's allowed silence starts with ready
				if !s.out.enqueue(ready) {
					return
				}
				readySent = true
			}
		}
		if err == nil {
			m := feedMsg{cache: h.frames}
			for {
				t0 := time.Now()
				if err = stream.RecvMsg(&m); err != nil {
					break
				}
				// An event that was waiting already means the socket is
				// behind its stream: leave the writing to a writer and
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
				if !s.out.queueFrame(outFrame{b: ev.frame, event: true, typ: "event", created: ev.created}, !behind, nil) {
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
			// The token expired or its session was revoked while the
			// stream was open: the client is to reconnect with a fresh one,
			// unless it already sent one (renewed).
			if s.renewed(tok, err) {
				first = false
				continue
			}
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
