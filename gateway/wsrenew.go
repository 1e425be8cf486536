package gateway

import (
	"context"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/accordchat/accord/platform/auth"
)

// streamCtx returns ctx carrying the socket's current token, and that token.
// The services end a stream when its token expires or its session is
// revoked (UNAUTHENTICATED); see renewed.
func (s *wsSession) streamCtx(ctx context.Context) (context.Context, string) {
	t := *s.token.Load()
	return auth.WithBearer(ctx, t), t
}

// renewed reports whether err ended a stream opened with token tok only
// because tok expired, after the client had sent a fresh token: the stream is
// then reopened with the fresh one instead of the socket being closed.
func (s *wsSession) renewed(tok string, err error) bool {
	st := status.Convert(err)
	if st.Code() != codes.Unauthenticated {
		return false
	}
	expired := false
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetReason() == "TOKEN_EXPIRED" {
			expired = true
		}
	}
	return expired && *s.token.Load() != tok
}
