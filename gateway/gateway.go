// Package gateway is Accord's HTTP edge: the REST API (grpc-gateway) for every
// service, the OpenAPI document, health, metrics and the web app.
package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/gen/openapi"
	"github.com/accordchat/accord/platform/app"
)

// Options configure the gateway.
type Options struct {
	Log      *slog.Logger
	Peers    *app.Peers
	Registry *prometheus.Registry
	// WebDir holds the built web app; a placeholder page is served when it is missing.
	WebDir string
}

// New returns the gateway's HTTP handler.
func New(ctx context.Context, o Options) (http.Handler, error) {
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
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
		if err := r.fn(ctx, mux, r.conn); err != nil {
			return nil, err
		}
	}
	h := http.NewServeMux()
	h.Handle("/v1/", mux)
	h.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.JSON)
	})
	h.HandleFunc("GET /healthz", healthz(o.Peers))
	if o.Registry != nil {
		h.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}))
	}
	h.Handle("/", web(o.WebDir))
	return h, nil
}

// healthz answers 200 when every upstream service reports SERVING.
func healthz(p *app.Peers) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		for name, c := range map[string]*grpc.ClientConn{"user": p.User, "server": p.Server, "presence": p.Presence, "stats": p.Stats} {
			res, err := healthpb.NewHealthClient(c).Check(ctx, &healthpb.HealthCheckRequest{})
			if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				http.Error(w, name+" not serving", http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	}
}

// web serves the built web app, or a placeholder page when it is not built.
func web(dir string) http.Handler {
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err == nil {
		return http.FileServer(http.Dir(dir))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>Accord</title><h1>Accord</h1><p>The web app is not built. Run <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>. The API is described at <a href="/openapi.json">/openapi.json</a>.</p>`))
	})
}
