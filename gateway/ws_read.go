package gateway

import (
	"context"
	"errors"
	"io"

	"github.com/coder/websocket"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
)

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
			s.out.enqueue(outFrame{b: errorFrame(codes.InvalidArgument, fe.Message, fe.Field, f.Type), typ: "error"})
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
	switch f.Type {
	case framePing:
		s.out.enqueue(outFrame{b: pongFrame(f.Nonce), typ: "pong"})
		return
	case frameWatchPresence:
		s.watch(f.UserIDs)
		return
	case frameHello:
		s.out.enqueue(outFrame{b: errorFrame(codes.FailedPrecondition, "hello was already accepted", "", f.Type), typ: "error"})
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
	s.out.enqueue(outFrame{b: errorFrame(st.Code(), clientMessage(st), fieldOf(st), f.Type), typ: "error"})
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
	s.token.Store(&token)
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
