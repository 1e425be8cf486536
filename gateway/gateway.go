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
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/encoding/protojson"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	searchv1 "github.com/accordchat/accord/gen/accord/search/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/gen/openapi"
	"github.com/accordchat/accord/platform/blobstore"
	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/media"
	"github.com/accordchat/accord/platform/peers"
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
	Peers    *peers.Conns
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

	// MaxUploadBytes bounds one uploaded file (0 means
	// DefaultMaxUploadBytes); the service applies its own limit too.
	MaxUploadBytes int64

	// Blobs, when set, is the blob store the server service keeps
	// attachments in (the same bucket or folder): the gateway then reads
	// and writes attachment bytes there itself, and only access checks and
	// metadata go through the server service. Nil sends the bytes through
	// gRPC.
	Blobs *blobstore.Store

	// WebSocket tuning; zero values mean the documented defaults.
	WS WSOptions

	// ServiceCreds, when set, authenticate the gateway's calls to the
	// services' internal APIs (the shared feed, WSOptions.SharedFeed).
	ServiceCreds credentials.PerRPCCredentials
}

// Gateway is the gateway's HTTP handler.
type Gateway struct {
	http.Handler
	ws *wsHandler
}

// Drain takes the gateway out of service before it stops, in three steps:
// /healthz answers 503 and new WebSockets are refused (503, Retry-After)
// at once, so that load balancers stop sending clients here; after delay
// every open WebSocket writes out the frames already queued for it and is
// closed with 1001 and the reason "server going away; reconnect", so that
// its client resumes on another gateway with its cursors; then Drain waits
// for the sockets to end. It returns ctx's error if ctx ends first. REST
// calls are served throughout: http.Server.Shutdown, after Drain, waits
// for those in flight.
func (g *Gateway) Drain(ctx context.Context, delay time.Duration) error {
	return g.ws.drain(ctx, delay)
}

// New returns the gateway's HTTP handler. ctx bounds the gateway's life: when
// it ends, open WebSockets are closed with 1001 (going away) at once; Drain
// is the orderly way out.
func New(ctx context.Context, o Options) (*Gateway, error) {
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
			Marshaler: &requestJSON{JSONPb: runtime.JSONPb{
				MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false},
				UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
			}},
		}),
		runtime.WithErrorHandler(errorHandler(o.Log, m)),
		runtime.WithRoutingErrorHandler(routingErrorHandler(o.Log, m)),
		runtime.WithMiddlewares(recordPattern, checkParams),
		// Response headers from the services are not forwarded: nothing
		// the browser needs travels in them.
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithForwardResponseRewriter(withoutTraceParent),
	)
	regs := []struct {
		conn grpc.ClientConnInterface
		fn   func(context.Context, *runtime.ServeMux, grpc.ClientConnInterface) error
	}{
		{o.Peers.User, handlers(userv1.RegisterUserServiceHandlerClient, userv1.NewUserServiceClient)},
		{o.Peers.Server, handlers(serverv1.RegisterServerServiceHandlerClient, serverv1.NewServerServiceClient)},
		{o.Peers.Server, handlers(eventsv1.RegisterEventServiceHandlerClient, eventsv1.NewEventServiceClient)},
		{o.Peers.Presence, handlers(presencev1.RegisterPresenceServiceHandlerClient, presencev1.NewPresenceServiceClient)},
		{o.Peers.Stats, handlers(statsv1.RegisterStatsServiceHandlerClient, statsv1.NewStatsServiceClient)},
		{o.Peers.Search, handlers(searchv1.RegisterSearchServiceHandlerClient, searchv1.NewSearchServiceClient)},
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

	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = DefaultMaxUploadBytes
	}
	h := http.NewServeMux()
	h.Handle("/v1/", restLimits(o, mux))
	fl := &files{client: serverv1.NewServerServiceClient(o.Peers.Server), limit: o.MaxUploadBytes, log: o.Log, o: o, blobs: o.Blobs}
	fl.register(h)
	(&pictures{
		users: userv1.NewUserServiceClient(o.Peers.User), servers: fl.client, limit: media.MaxPictureBytes, f: fl,
	}).register(h)
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
	h.HandleFunc("GET /healthz", ws.healthz(healthz(o.Peers)))
	if o.Registry != nil {
		h.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}))
	}
	h.Handle("/", web(o.WebDir))
	return &Gateway{Handler: m.instrument(securityHeaders(o.WebDir, h)), ws: ws}, nil
}

// Content security policies. The web app loads its scripts and styles from
// its own files only (no inline script, no eval), talks to its own origin
// (REST and the WebSocket) and may not be framed. The API page and the
// placeholder page have one inline style sheet and no script at all. API
// answers are data, never documents.
//
// The two hashes admit exactly the two style sheets the emoji picker
// (emoji-picker-react, pinned in web/package.json) writes into the page,
// and no other inline style; a new version of the picker changes them (the
// browser test fails on a blocked style until they are updated here).
const (
	cspPickerStyles = "'sha256-WoJKG1eAyQFZBdiMcqFYr5mitEDpWeKDgbu3e7R6Upo=' 'sha256-lvLcaaw/tuRHh8xfjXxqytIVWpiNcXCsqXX22XQJbpM='"
	cspWebApp       = "default-src 'self'; script-src 'self'; style-src 'self' " + cspPickerStyles + "; img-src 'self' data: blob:; " +
		"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	cspStaticPage = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	cspAPI        = "default-src 'none'; frame-ancestors 'none'"
)

// securityHeaders sets the headers every response carries.
func securityHeaders(webDir string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/"), r.URL.Path == "/openapi.json", r.URL.Path == "/metrics", r.URL.Path == "/healthz":
			hd.Set("Content-Security-Policy", cspAPI)
		case r.URL.Path == "/api" || !webBuilt(webDir):
			hd.Set("Content-Security-Policy", cspStaticPage)
		default:
			hd.Set("Content-Security-Policy", cspWebApp)
		}
		next.ServeHTTP(w, r)
	})
}

// handlers registers a service's REST handlers over a client of it built
// on a connection (over the network or in process: grpc-gateway's
// RegisterXHandler takes only the former).
func handlers[C any](register func(context.Context, *runtime.ServeMux, C) error, client func(grpc.ClientConnInterface) C) func(context.Context, *runtime.ServeMux, grpc.ClientConnInterface) error {
	return func(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
		return register(ctx, mux, client(conn))
	}
}
