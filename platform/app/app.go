// Package app runs Accord services: it turns a Config into connections,
// keys and gRPC servers, runs them, and shuts them down in order. Each
// service binary runs one service with it; the all-in-one runner runs all.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/grpcx"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/platform/redisx"
)

// Deps is what a service is built from.
type Deps struct {
	Config config.Config
	Log    *slog.Logger
	// Mongo is the service's database; nil for services that use none.
	Mongo *mongo.Database
	Redis *redis.Client
	// Signer signs tokens; only the user service issues user tokens, the
	// others sign service tokens with it through ServiceCreds.
	Signer      *auth.Signer
	Verifier    *auth.Verifier
	Revocations *auth.Revocations
	// ServiceCreds authenticate calls to other services' internal APIs:
	// pass grpc.PerRPCCredentials(d.ServiceCreds) on those calls.
	ServiceCreds credentials.PerRPCCredentials
	// Peers are lazy connections to the other services.
	Peers *Peers
}

// Peers are client connections to the services, by role.
type Peers struct {
	User, Server, Presence, Stats *grpc.ClientConn
}

// DialPeers connects (lazily) to the services named in cfg.
func DialPeers(cfg config.Config) (*Peers, error) {
	var p Peers
	var err error
	for _, c := range []struct {
		conn **grpc.ClientConn
		addr string
	}{{&p.User, cfg.UserAddr}, {&p.Server, cfg.ServerAddr}, {&p.Presence, cfg.PresenceAddr}, {&p.Stats, cfg.StatsAddr}} {
		if *c.conn, err = grpcx.Dial(c.addr); err != nil {
			return nil, fmt.Errorf("dial %s: %w", c.addr, err)
		}
	}
	return &p, nil
}

// Close closes every connection.
func (p *Peers) Close() {
	for _, c := range []*grpc.ClientConn{p.User, p.Server, p.Presence, p.Stats} {
		if c != nil {
			_ = c.Close()
		}
	}
}

// Service is what each Accord service package builds.
type Service interface {
	// Register adds the service's gRPC services to s.
	Register(s *grpc.Server)
}

// Runner is implemented by services with background work (feed readers,
// sweepers, consumers). Run returns when ctx ends.
type Runner interface {
	Run(ctx context.Context) error
}

// Spec describes one service to run.
type Spec struct {
	// Name is the service's short name ("user").
	Name string
	// Listen is the gRPC listen address.
	Listen string
	// Metrics, when set, serves /metrics and /healthz for this service alone.
	Metrics string
	// UsesMongo tells whether the service needs the database.
	UsesMongo bool
	// New builds the service.
	New func(ctx context.Context, d Deps) (Service, error)
	// Listener, when set, is used instead of listening on Listen (tests).
	Listener net.Listener
}

// LoadSigner loads the signing key named in cfg or, when none is named, the
// dev key in the data folder, creating it on first use.
func LoadSigner(cfg config.Config, log *slog.Logger) (*auth.Signer, error) {
	if cfg.SigningKeyFile != "" {
		k, err := auth.LoadKey(cfg.SigningKeyFile)
		if err != nil {
			return nil, err
		}
		return auth.NewSigner(k), nil
	}
	path := filepath.Join(cfg.DataDir, "signing.key")
	k, created, err := auth.LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	log.Warn("using the dev signing key from the data folder; set ACCORD_SIGNING_KEY_FILE in production", "path", path, "created", created)
	return auth.NewSigner(k), nil
}

// Shared are the process-wide resources that Run builds once for all services.
type Shared struct {
	Mongo    *mongo.Client
	Redis    *redis.Client
	Signer   *auth.Signer
	Registry *prometheus.Registry
	Metrics  *grpcx.Metrics
}

// Run connects to what the services need, starts them, and serves until ctx
// ends; then it drains them and closes the connections. shared may be nil;
// fields left nil are built from cfg. ready, when not nil, is called once
// every service listens.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, shared *Shared, specs []Spec, ready func()) error {
	if shared == nil {
		shared = &Shared{}
	}
	if shared.Registry == nil {
		shared.Registry = prometheus.NewRegistry()
		shared.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if shared.Metrics == nil {
		shared.Metrics = grpcx.NewMetrics(shared.Registry)
	}
	var err error
	if shared.Signer == nil {
		if shared.Signer, err = LoadSigner(cfg, log); err != nil {
			return err
		}
	}
	needMongo := false
	for _, s := range specs {
		needMongo = needMongo || s.UsesMongo
	}
	if needMongo && shared.Mongo == nil {
		if shared.Mongo, err = mongox.Connect(ctx, cfg.MongoURI, log); err != nil {
			return err
		}
		defer func() { _ = shared.Mongo.Disconnect(context.Background()) }()
	}
	if shared.Redis == nil {
		if shared.Redis, err = redisx.Connect(ctx, cfg.RedisURL, log); err != nil {
			return err
		}
		defer shared.Redis.Close()
	}
	peers, err := DialPeers(cfg)
	if err != nil {
		return err
	}
	defer peers.Close()

	verifier := auth.NewVerifier(shared.Signer.Public())
	revocations := auth.NewRevocations(shared.Redis, cfg.RedisPrefix)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2*len(specs))
	var servers []*grpcx.Server
	for _, spec := range specs {
		sl := log.With("service", spec.Name)
		d := Deps{
			Config: cfg, Log: sl, Redis: shared.Redis,
			Signer: shared.Signer, Verifier: verifier, Revocations: revocations,
			ServiceCreds: auth.NewServiceCredentials(shared.Signer, spec.Name),
			Peers:        peers,
		}
		if spec.UsesMongo {
			d.Mongo = shared.Mongo.Database(cfg.MongoDB)
		}
		svc, err := spec.New(runCtx, d)
		if err != nil {
			return fmt.Errorf("%s: %w", spec.Name, err)
		}
		gs, err := grpcx.NewServer(grpcx.ServerOptions{
			Log:     sl,
			Auth:    &grpcx.Authenticator{Verifier: verifier, Revocations: revocations},
			Metrics: shared.Metrics,
		})
		if err != nil {
			return err
		}
		svc.Register(gs.Server)
		for name := range gs.GetServiceInfo() {
			gs.Health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
		}
		lis := spec.Listener
		if lis == nil {
			if lis, err = net.Listen("tcp", spec.Listen); err != nil {
				return fmt.Errorf("%s: %w", spec.Name, err)
			}
		}
		sl.Info("serving gRPC", "addr", lis.Addr().String())
		servers = append(servers, gs)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := gs.Serve(runCtx, lis, cfg.ShutdownTimeout); err != nil {
				errc <- fmt.Errorf("%s: %w", spec.Name, err)
			}
		}()
		if r, ok := svc.(Runner); ok {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
					errc <- fmt.Errorf("%s: %w", spec.Name, err)
				}
			}()
		}
		if spec.Metrics != "" {
			hs := &http.Server{Addr: spec.Metrics, Handler: OpsHandler(shared.Registry, gs), ReadHeaderTimeout: 5 * time.Second}
			wg.Add(1)
			go func() {
				defer wg.Done()
				go func() {
					<-runCtx.Done()
					sctx, c := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
					defer c()
					_ = hs.Shutdown(sctx)
				}()
				if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
					sl.Error("metrics server", "err", err)
				}
			}()
		}
	}
	if ready != nil {
		ready()
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
		log.Error("service failed; stopping", "err", first)
	}
	cancel()
	wg.Wait()
	return first
}

// OpsHandler serves /metrics from reg and /healthz from the servers' health.
func OpsHandler(reg *prometheus.Registry, servers ...*grpcx.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		for _, s := range servers {
			res, err := s.Health.Check(r.Context(), &healthpb.HealthCheckRequest{})
			if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				http.Error(w, "not serving", http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
