package grpcx

import (
	"context"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
)

type protoadaptMessage = protoadapt.MessageV1

// isHealth reports methods of the health service, which every server
// registers and which load balancers and probes call without a token.
func isHealth(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/")
}

// isReflection reports methods of the reflection service, which grpcurl
// needs and which reveal nothing but the published API.
func isReflection(method string) bool {
	return strings.HasPrefix(method, "/grpc.reflection.")
}

// isInternal reports methods of *InternalService services, which only
// service tokens may call.
func isInternal(method string) bool {
	svc, _, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	return strings.HasSuffix(svc, "InternalService")
}

// Authenticator checks bearer tokens on incoming calls.
type Authenticator struct {
	Verifier *auth.Verifier
	// Revocations, when set, is asked whether a user token's session was revoked.
	Revocations auth.RevocationChecker
	// Open lists the full names of the methods the service lets anyone
	// call without a token ("/accord.user.v1.UserService/Login"); a stale
	// token on them is ignored. Health methods are always open.
	Open []string
}

// open reports whether method may be called without a token.
func (a *Authenticator) open(method string) bool {
	return isHealth(method) || slices.Contains(a.Open, method)
}

// authenticate returns ctx with the caller's principal, or an error.
func (a *Authenticator) authenticate(ctx context.Context, method string) (context.Context, error) {
	if isReflection(method) {
		return ctx, nil
	}
	token := auth.TokenFromMetadata(ctx)
	if token == "" {
		if a.open(method) {
			return ctx, nil
		}
		return nil, errs.Unauthenticated("missing access token").WithReason("TOKEN_MISSING")
	}
	p, err := a.Verifier.Verify(token)
	if err == nil && !p.IsService() && a.Revocations != nil {
		revoked, rerr := a.Revocations.IsRevoked(ctx, p.SessionID)
		switch {
		case rerr != nil:
			err = errs.Unavailable("session check unavailable")
		case revoked:
			err = errs.Unauthenticated("session ended; sign in again").WithReason("SESSION_REVOKED")
		}
	}
	if err != nil {
		if a.open(method) {
			// A stale token on Login or Register must not lock the user out.
			return ctx, nil
		}
		return nil, err
	}
	if isInternal(method) && !p.IsService() {
		return nil, errs.PermissionDenied("internal method")
	}
	return auth.WithPrincipal(ctx, p), nil
}

// chain holds what the interceptors need.
type chain struct {
	log       *slog.Logger
	authn     *Authenticator
	validator protovalidate.Validator
	metrics   *Metrics
}

// recoverPanic turns a panic into INTERNAL; the panic text is only logged.
func (c *chain) recoverPanic(ctx context.Context, method string, err *error) {
	if r := recover(); r != nil {
		ref := newRef()
		c.log.ErrorContext(ctx, "panic in handler", "method", method, "ref", ref, "panic", r, "stack", string(debug.Stack()))
		*err = status.Error(codes.Internal, "internal error (ref "+ref+")")
	}
}

func (c *chain) validate(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	err := c.validator.Validate(m)
	if err == nil {
		return nil
	}
	ve, ok := err.(*protovalidate.ValidationError)
	if !ok {
		return err
	}
	br := &errdetails.BadRequest{}
	var msgs []string
	for _, v := range ve.Violations {
		field := protovalidate.FieldPathString(v.Proto.GetField())
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: field, Description: v.Proto.GetMessage()})
		msgs = append(msgs, field+": "+v.Proto.GetMessage())
	}
	s, _ := status.New(codes.InvalidArgument, strings.Join(msgs, "; ")).WithDetails(
		&errdetails.ErrorInfo{Reason: "INVALID_ARGUMENT", Domain: Domain}, br)
	return s.Err()
}

func (c *chain) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	defer func() {
		code := status.Code(err)
		c.metrics.observe(info.FullMethod, code, time.Since(start))
		c.logCall(ctx, info.FullMethod, code, start, err)
	}()
	defer c.recoverPanic(ctx, info.FullMethod, &err)

	actx, err := c.authn.authenticate(ctx, info.FullMethod)
	if err != nil {
		return nil, ToStatus(ctx, c.log, info.FullMethod, err)
	}
	if err := c.validate(req); err != nil {
		return nil, err
	}
	resp, err = handler(actx, req)
	return resp, ToStatus(ctx, c.log, info.FullMethod, err)
}

func (c *chain) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	ctx := ss.Context()
	start := time.Now()
	defer func() {
		code := status.Code(err)
		c.metrics.observe(info.FullMethod, code, time.Since(start))
		c.logCall(ctx, info.FullMethod, code, start, err)
	}()
	defer c.recoverPanic(ctx, info.FullMethod, &err)

	actx, err := c.authn.authenticate(ctx, info.FullMethod)
	if err != nil {
		return ToStatus(ctx, c.log, info.FullMethod, err)
	}
	if info.IsServerStream {
		// A stream lasts as long as its session: it ends when the session
		// is revoked or the token expires.
		if b, ok := c.authn.Revocations.(auth.SessionBinder); ok {
			if p, ok := auth.FromContext(actx); ok && p.SessionID != "" {
				bctx, release, berr := b.Bind(actx, p)
				if berr != nil {
					return ToStatus(ctx, c.log, info.FullMethod, berr)
				}
				defer release()
				actx = bctx
			}
		}
	}
	err = handler(srv, &validatingStream{ServerStream: ss, ctx: actx, c: c})
	if cause := context.Cause(actx); cause != nil && actx.Err() != nil && ctx.Err() == nil {
		// The session ended, not the call: say why.
		err = cause
	}
	return ToStatus(ctx, c.log, info.FullMethod, err)
}

func (c *chain) logCall(ctx context.Context, method string, code codes.Code, start time.Time, err error) {
	level := slog.LevelDebug
	switch code {
	case codes.OK, codes.Canceled:
	case codes.Internal, codes.Unknown, codes.DataLoss:
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	if !c.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Duration("took", time.Since(start)),
	}
	if p, ok := auth.FromContext(ctx); ok {
		attrs = append(attrs, slog.String("caller", p.String()))
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", status.Convert(err).Message()))
	}
	c.log.LogAttrs(ctx, level, "rpc", attrs...)
}

// validatingStream validates each received message and carries the
// authenticated context.
type validatingStream struct {
	grpc.ServerStream
	ctx context.Context
	c   *chain
}

func (s *validatingStream) Context() context.Context { return s.ctx }

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.c.validate(m)
}
