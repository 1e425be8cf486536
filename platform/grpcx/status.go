// Package grpcx builds Accord's gRPC servers and clients: the interceptor
// chain (recovery, logging and metrics, authentication, validation), the one
// place where domain errors become gRPC statuses, health and reflection.
package grpcx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/accordchat/accord/platform/errs"
)

// Domain is the ErrorInfo domain of every Accord error.
const Domain = "accord.chat"

var kindCodes = map[errs.Kind]codes.Code{
	errs.KindInternal:           codes.Internal,
	errs.KindInvalidArgument:    codes.InvalidArgument,
	errs.KindNotFound:           codes.NotFound,
	errs.KindAlreadyExists:      codes.AlreadyExists,
	errs.KindPermissionDenied:   codes.PermissionDenied,
	errs.KindUnauthenticated:    codes.Unauthenticated,
	errs.KindFailedPrecondition: codes.FailedPrecondition,
	errs.KindResourceExhausted:  codes.ResourceExhausted,
	errs.KindUnavailable:        codes.Unavailable,
}

// ToStatus turns a handler's error into the status sent to the client.
// Domain errors keep their message and gain ErrorInfo (and BadRequest or
// RetryInfo); statuses from downstream services pass through unchanged;
// context errors become CANCELED or DEADLINE_EXCEEDED; anything else is
// logged in full and sent as a neutral INTERNAL with a reference id.
func ToStatus(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := errs.As(err); ok && e.Kind != errs.KindInternal {
		return domainStatus(e).Err()
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.Internal, codes.Unknown, codes.DataLoss:
			// A downstream INTERNAL was already masked there; never relay the
			// text of a non-Accord status.
			if len(s.Details()) > 0 {
				return err
			}
		default:
			return err
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	ref := newRef()
	log.ErrorContext(ctx, "internal error", "method", method, "ref", ref, "err", err)
	s, _ := status.New(codes.Internal, "internal error (ref "+ref+")").WithDetails(&errdetails.ErrorInfo{
		Reason: "INTERNAL", Domain: Domain, Metadata: map[string]string{"ref": ref},
	})
	return s.Err()
}

func domainStatus(e *errs.Error) *status.Status {
	code := kindCodes[e.Kind]
	s := status.New(code, e.Error())
	reason := e.Reason
	if reason == "" {
		reason = code.String()
	}
	details := []protoadaptMessage{&errdetails.ErrorInfo{Reason: reason, Domain: Domain}}
	if e.Field != "" {
		details = append(details, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: e.Field, Description: e.Message},
		}})
	}
	if e.RetryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
		if ei, ok := details[0].(*errdetails.ErrorInfo); ok {
			ei.Metadata = map[string]string{"retry_after_ms": strconv.FormatInt(e.RetryAfter.Milliseconds(), 10)}
		}
	}
	if ws, err := s.WithDetails(details...); err == nil {
		return ws
	}
	return s
}

func newRef() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
