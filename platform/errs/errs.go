// Package errs is the small set of typed errors that Accord's domain code
// returns. The gRPC layer (grpcx) turns them into statuses in one place;
// any other error reaches clients only as a masked INTERNAL.
package errs

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error the way clients need to act on it.
type Kind int

// Kinds of errors, mapped one-to-one onto gRPC codes.
const (
	KindInternal Kind = iota
	KindInvalidArgument
	KindNotFound
	KindAlreadyExists
	KindPermissionDenied
	KindUnauthenticated
	KindFailedPrecondition
	KindResourceExhausted
	KindUnavailable
)

// Error is a domain error that is safe to show to the caller.
type Error struct {
	Kind Kind
	// Reason is a stable UPPER_SNAKE identifier, sent as ErrorInfo.reason.
	Reason string
	// Field names the request field at fault (INVALID_ARGUMENT), in proto
	// field path form ("user.display_name").
	Field string
	// Message is human-readable and safe to send.
	Message string
	// RetryAfter tells RESOURCE_EXHAUSTED callers when to try again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Is reports whether target is an *Error of the same kind, so that
// errors.Is(err, errs.ErrNotFound) works for any not-found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == "" && t.Message == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is checks on the kind alone.
var (
	ErrInvalidArgument    = &Error{Kind: KindInvalidArgument}
	ErrNotFound           = &Error{Kind: KindNotFound}
	ErrAlreadyExists      = &Error{Kind: KindAlreadyExists}
	ErrPermissionDenied   = &Error{Kind: KindPermissionDenied}
	ErrUnauthenticated    = &Error{Kind: KindUnauthenticated}
	ErrFailedPrecondition = &Error{Kind: KindFailedPrecondition}
	ErrResourceExhausted  = &Error{Kind: KindResourceExhausted}
	ErrUnavailable        = &Error{Kind: KindUnavailable}
)

// Invalid reports a bad request field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalidArgument, Reason: "INVALID_ARGUMENT", Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing resource (or one the caller may not see).
func NotFound(format string, args ...any) *Error {
	return &Error{Kind: KindNotFound, Reason: "NOT_FOUND", Message: fmt.Sprintf(format, args...)}
}

// AlreadyExists reports a conflict with an existing resource.
func AlreadyExists(format string, args ...any) *Error {
	return &Error{Kind: KindAlreadyExists, Reason: "ALREADY_EXISTS", Message: fmt.Sprintf(format, args...)}
}

// PermissionDenied reports a caller lacking the role for an action.
func PermissionDenied(format string, args ...any) *Error {
	return &Error{Kind: KindPermissionDenied, Reason: "PERMISSION_DENIED", Message: fmt.Sprintf(format, args...)}
}

// Unauthenticated reports missing or bad credentials.
func Unauthenticated(format string, args ...any) *Error {
	return &Error{Kind: KindUnauthenticated, Reason: "UNAUTHENTICATED", Message: fmt.Sprintf(format, args...)}
}

// FailedPrecondition reports a request that the current state forbids.
func FailedPrecondition(format string, args ...any) *Error {
	return &Error{Kind: KindFailedPrecondition, Reason: "FAILED_PRECONDITION", Message: fmt.Sprintf(format, args...)}
}

// ResourceExhausted reports a rate limit; retry after d.
func ResourceExhausted(d time.Duration, format string, args ...any) *Error {
	return &Error{Kind: KindResourceExhausted, Reason: "RATE_LIMITED", RetryAfter: d, Message: fmt.Sprintf(format, args...)}
}

// Unavailable reports a dependency that is down; the call may be retried.
func Unavailable(format string, args ...any) *Error {
	return &Error{Kind: KindUnavailable, Reason: "UNAVAILABLE", Message: fmt.Sprintf(format, args...)}
}

// WithReason returns a copy of e with a more specific reason.
func (e *Error) WithReason(reason string) *Error {
	c := *e
	c.Reason = reason
	return &c
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
