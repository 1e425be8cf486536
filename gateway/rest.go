package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// ErrorBody is the JSON body of every REST error.
type ErrorBody struct {
	// Code is the gRPC code name ("NOT_FOUND").
	Code string `json:"code"`
	// Message is meant for people.
	Message string `json:"message"`
	// Field is the request field at fault, when one is.
	Field string `json:"field,omitempty"`
	// Reason is the ErrorInfo reason ("SESSION_REVOKED"), when there is one.
	Reason string `json:"reason,omitempty"`
	// Details are the status details as protobuf JSON with "@type".
	Details []json.RawMessage `json:"details"`
}

// codeName is the canonical upper-case name of a gRPC code ("NOT_FOUND").
func codeName(c codes.Code) string {
	switch c {
	case codes.OK:
		return "OK"
	case codes.Canceled:
		return "CANCELLED"
	case codes.Unknown:
		return "UNKNOWN"
	case codes.InvalidArgument:
		return "INVALID_ARGUMENT"
	case codes.DeadlineExceeded:
		return "DEADLINE_EXCEEDED"
	case codes.NotFound:
		return "NOT_FOUND"
	case codes.AlreadyExists:
		return "ALREADY_EXISTS"
	case codes.PermissionDenied:
		return "PERMISSION_DENIED"
	case codes.ResourceExhausted:
		return "RESOURCE_EXHAUSTED"
	case codes.FailedPrecondition:
		return "FAILED_PRECONDITION"
	case codes.Aborted:
		return "ABORTED"
	case codes.OutOfRange:
		return "OUT_OF_RANGE"
	case codes.Unimplemented:
		return "UNIMPLEMENTED"
	case codes.Internal:
		return "INTERNAL"
	case codes.Unavailable:
		return "UNAVAILABLE"
	case codes.DataLoss:
		return "DATA_LOSS"
	case codes.Unauthenticated:
		return "UNAUTHENTICATED"
	}
	return "UNKNOWN"
}

// statusBody turns a status into the error body and, for RESOURCE_EXHAUSTED
// with RetryInfo, the seconds to put in Retry-After (0 when none).
func statusBody(s *status.Status) (ErrorBody, int) {
	b := ErrorBody{Code: codeName(s.Code()), Message: s.Message(), Details: []json.RawMessage{}}
	retry := 0
	for _, a := range s.Proto().GetDetails() {
		if j, err := (protojson.MarshalOptions{UseProtoNames: true}).Marshal(a); err == nil {
			b.Details = append(b.Details, j)
		}
	}
	for _, d := range s.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if b.Reason == "" {
				b.Reason = d.GetReason()
			}
		case *errdetails.BadRequest:
			if v := d.GetFieldViolations(); len(v) > 0 && b.Field == "" {
				b.Field = v[0].GetField()
			}
		case *errdetails.RetryInfo:
			if rd := d.GetRetryDelay(); rd != nil {
				ms := rd.AsDuration().Milliseconds()
				retry = int((ms + 999) / 1000)
				if retry < 1 {
					retry = 1
				}
			}
		}
	}
	return b, retry
}

// writeError writes an error body with the given HTTP status.
func writeError(w http.ResponseWriter, httpStatus int, b ErrorBody, retryAfter int) {
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.WriteHeader(httpStatus)
	_ = json.NewEncoder(w).Encode(b)
}

// httpStatus maps a gRPC code to an HTTP status (the grpc-gateway mapping).
func httpStatus(c codes.Code) int { return runtime.HTTPStatusFromCode(c) }

// upstreamFault reports codes that mean the service failed rather than the request.
func upstreamFault(c codes.Code) bool {
	switch c {
	case codes.Unavailable, codes.Internal, codes.Unknown, codes.DeadlineExceeded, codes.DataLoss, codes.Unimplemented:
		return true
	}
	return false
}

// serviceOf names the service of a full gRPC method ("/accord.user.v1.UserService/Login" -> "user").
func serviceOf(method string) string {
	s := strings.TrimPrefix(method, "/accord.")
	if i := strings.IndexByte(s, '.'); i > 0 {
		return s[:i]
	}
	return "unknown"
}

// errorHandler renders the errors of REST calls.
func errorHandler(log *slog.Logger, m *metrics) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		code := 0
		var he *runtime.HTTPStatusError
		if errors.As(err, &he) {
			code = he.HTTPStatus
			err = he.Err
		}
		s := status.Convert(err)
		if errors.Is(err, context.DeadlineExceeded) {
			s = status.New(codes.DeadlineExceeded, "the request timed out")
		}
		if code == 0 {
			code = httpStatus(s.Code())
		}
		method, _ := runtime.RPCMethod(ctx)
		if upstreamFault(s.Code()) && method != "" {
			m.upstreamErrors.WithLabelValues(serviceOf(method), codeName(s.Code())).Inc()
			log.WarnContext(ctx, "upstream call failed", "method", method, "code", s.Code().String(), "err", s.Message())
		}
		b, retry := statusBody(s)
		if s.Code() == codes.InvalidArgument && len(s.Details()) == 0 && b.Reason == "" {
			// Decoding errors of the gateway itself (malformed JSON, a query
			// parameter of the wrong type) carry no details.
			b.Reason = "MALFORMED_REQUEST"
		}
		if s.Code() == codes.Unknown && len(s.Details()) == 0 {
			// Never relay the text of an unexpected error.
			b.Message = "upstream error"
		}
		writeError(w, code, b, retry)
	}
}

// routingErrorHandler renders unknown routes and wrong methods under /v1/.
func routingErrorHandler(log *slog.Logger, m *metrics) runtime.RoutingErrorHandlerFunc {
	eh := errorHandler(log, m)
	return func(ctx context.Context, mux *runtime.ServeMux, mar runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
		var s *status.Status
		switch httpStatus {
		case http.StatusMethodNotAllowed:
			s = status.New(codes.Unimplemented, "method "+r.Method+" not allowed on "+r.URL.Path)
		case http.StatusBadRequest:
			s = status.New(codes.InvalidArgument, "bad request path")
		default:
			httpStatus = http.StatusNotFound
			s = status.New(codes.NotFound, "no API route for "+r.URL.Path)
		}
		eh(ctx, mux, mar, w, r, &runtime.HTTPStatusError{HTTPStatus: httpStatus, Err: s.Err()})
	}
}

// streamingRoute reports the REST routes of server-streaming methods, which
// must not get the unary request timeout.
func streamingRoute(p string) bool {
	return strings.HasSuffix(p, ":stream") || strings.HasSuffix(p, ":watch")
}

// restLimits applies the limits of REST calls: body size, timeout,
// X-Forwarded-For hygiene and (when configured) CORS.
func restLimits(o Options, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(o.AllowedOrigins) > 0 && cors(o.AllowedOrigins, w, r) {
			return
		}
		// API answers are private to their caller and some carry tokens
		// (RFC 6749 section 5.1): no cache may keep them.
		w.Header().Set("Cache-Control", "no-store")
		if !o.TrustForwardedFor {
			r.Header.Del("X-Forwarded-For")
			r.Header.Del("X-Forwarded-Host")
			r.Header.Del("Forwarded")
		}
		if r.Body != nil && r.Body != http.NoBody {
			if r.ContentLength > o.MaxBodyBytes {
				tooLarge(w, o.MaxBodyBytes)
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, o.MaxBodyBytes+1))
			_ = r.Body.Close()
			if err != nil {
				writeError(w, http.StatusBadRequest, ErrorBody{Code: "INVALID_ARGUMENT", Message: "could not read the request body", Reason: "MALFORMED_REQUEST", Details: []json.RawMessage{}}, 0)
				return
			}
			if int64(len(body)) > o.MaxBodyBytes {
				tooLarge(w, o.MaxBodyBytes)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		if !streamingRoute(r.URL.Path) {
			ctx, cancel := context.WithTimeout(r.Context(), o.RequestTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

func tooLarge(w http.ResponseWriter, limit int64) {
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestEntityTooLarge, ErrorBody{
		Code:    "RESOURCE_EXHAUSTED",
		Message: fmt.Sprintf("request body exceeds %d bytes", limit),
		Reason:  "REQUEST_TOO_LARGE",
		Details: []json.RawMessage{},
	}, 0)
}

// originAllowed matches an Origin header against host patterns (path.Match,
// case-insensitive), like the WebSocket origin check.
func originAllowed(patterns []string, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}

// cors adds CORS headers for allowed origins and answers preflights; it
// reports whether the request was fully answered.
func cors(patterns []string, w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || !originAllowed(patterns, origin) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}
