// Package gateway is Accord's HTTP edge: the REST API (grpc-gateway) for every
// service, the WebSocket event feed (/v1/events), the OpenAPI document and a
// readable API page, health, metrics and the web app.
//
// The gateway holds no user state: every request carries its own bearer
// token, which is forwarded to the services, and a WebSocket's state lives
// only as long as the socket. Several gateways can run behind a load balancer.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/gen/openapi"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/logging"
)

// Defaults of the Options limits.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultRequestTimeout = 30 * time.Second
	DefaultSendQueue      = 256
)

// Options configure the gateway.
type Options struct {
	Log      *slog.Logger
	Peers    *app.Peers
	Registry *prometheus.Registry
	// WebDir holds the built web app; a placeholder page is served when it is missing.
	WebDir string

	// MaxBodyBytes bounds a REST request body (0 means DefaultMaxBodyBytes);
	// larger bodies get 413.
	MaxBodyBytes int64
	// RequestTimeout bounds a unary REST call (0 means DefaultRequestTimeout).
	RequestTimeout time.Duration
	// AllowedOrigins lists extra origins (host patterns, see
	// websocket.AcceptOptions.OriginPatterns) allowed to open WebSockets and
	// call the REST API cross-origin. Empty means same origin only (no CORS).
	AllowedOrigins []string
	// TrustForwardedFor keeps the X-Forwarded-For header of incoming requests
	// (set it behind a trusted load balancer). When false the header is
	// dropped, so the x-forwarded-for metadata the services see (login rate
	// limits) is the peer address alone and cannot be spoofed.
	TrustForwardedFor bool

	// WebSocket tuning; zero values mean the documented defaults.
	WS WSOptions
}

// New returns the gateway's HTTP handler. ctx bounds the gateway's life: when
// it ends, open WebSockets are closed with 1001 (going away).
func New(ctx context.Context, o Options) (http.Handler, error) {
	if o.Peers == nil {
		return nil, errors.New("gateway: Options.Peers is required")
	}
	if o.Log == nil {
		o.Log = logging.Discard()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := newMetrics(reg)

	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{
			Marshaler: &runtime.JSONPb{
				MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false},
				UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
			},
		}),
		runtime.WithErrorHandler(errorHandler(o.Log, m)),
		runtime.WithRoutingErrorHandler(routingErrorHandler(o.Log, m)),
		runtime.WithMiddlewares(recordPattern),
		// Response headers from the services are not forwarded: nothing
		// the browser needs travels in them.
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
	)
	regs := []struct {
		conn *grpc.ClientConn
		fn   func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
	}{
		{o.Peers.User, userv1.RegisterUserServiceHandler},
		{o.Peers.Server, serverv1.RegisterServerServiceHandler},
		{o.Peers.Presence, presencev1.RegisterPresenceServiceHandler},
		{o.Peers.Stats, statsv1.RegisterStatsServiceHandler},
	}
	for _, r := range regs {
		if r.conn == nil {
			return nil, errors.New("gateway: a peer connection is missing")
		}
		if err := r.fn(ctx, mux, r.conn); err != nil {
			return nil, err
		}
	}
	spec, err := servedSpec(openapi.JSON)
	if err != nil {
		return nil, err
	}
	page, err := apiPage(spec)
	if err != nil {
		return nil, err
	}
	ws := newWSHandler(ctx, o, m)

	h := http.NewServeMux()
	h.Handle("/v1/", restLimits(o, mux))
	h.Handle("GET /v1/events", ws)
	h.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(spec)
	})
	h.HandleFunc("GET /api", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(page)
	})
	h.HandleFunc("GET /healthz", healthz(o.Peers))
	if o.Registry != nil {
		h.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}))
	}
	h.Handle("/", web(o.WebDir))
	return m.instrument(securityHeaders(h)), nil
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			hd.Set("X-Frame-Options", "DENY")
		}
		next.ServeHTTP(w, r)
	})
}
