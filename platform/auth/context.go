package auth

import (
	"context"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/accordchat/accord/platform/errs"
)

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal the auth interceptor put in ctx.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// User returns the calling user, or UNAUTHENTICATED when the caller is not a
// user (no token, or a service token).
func User(ctx context.Context) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok || p.UserID == "" {
		return Principal{}, errs.Unauthenticated("sign in first")
	}
	return p, nil
}

// TokenFromMetadata returns the bearer token of incoming gRPC metadata.
func TokenFromMetadata(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if t, ok := strings.CutPrefix(v, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		if t, ok := strings.CutPrefix(v, "bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return ""
}

// WithBearer returns an outgoing context that sends token as the caller's credentials.
func WithBearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// ForwardToken copies the incoming caller's bearer token onto the outgoing
// context, so a downstream service sees the same user.
func ForwardToken(ctx context.Context) context.Context {
	if t := TokenFromMetadata(ctx); t != "" {
		return WithBearer(ctx, t)
	}
	return ctx
}
