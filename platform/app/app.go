// Package app runs Accord services: it turns a Config into connections,
// keys and gRPC servers, runs them, and shuts them down in order. Each
// service binary runs one service with it; the all-in-one runner runs all.
package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
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
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/grpcx"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/platform/peers"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/platform/sqlitex"
)

// Deps is what a service is built from.
type Deps struct {
	Config config.Config
	Log    *slog.Logger
	// Mongo is the service's database; nil for services that use none and
	// for services on SQLite.
	Mongo *mongo.Database
	// SQLite is the service's own database file when the service has
	// SQLite stores (Spec.UsesSQLite) and Config.Store is sqlite; Run opens
	// it before New and closes it after the service stopped.
	SQLite *sqlitex.DB
	Redis  redis.UniversalClient
	// Keys is the deployment's Redis keyspace (ACCORD_REDIS_PREFIX): every
	// key and channel a service uses is in it.
	Keys redisx.Keyspace
	// Events is the event log, shared by every service of the process.
	Events *events.Log
	// Signer signs user tokens; only services whose Spec sets
	// IssuesUserTokens (the user service) get it, the others have nil.
	Signer *auth.Signer
	// Verifier accepts user tokens signed by the signing key and service
	// tokens signed by the service key, each only under its own key.
	Verifier    *auth.Verifier
	Revocations *auth.Revocations
	// ServiceCreds authenticate calls to other services' internal APIs:
	// pass grpc.PerRPCCredentials(d.ServiceCreds) on those calls.
	ServiceCreds credentials.PerRPCCredentials
	// Peers are lazy connections to the other services; a service wraps
	// each it calls in an interface of the few methods it uses.
	Peers *peers.Conns
	// Metrics is where a service registers its own Prometheus collectors
	// (with promx.Register: the services of a process share one registry);
	// nil registers nothing.
	Metrics prometheus.Registerer
}

// Service is what each Accord service package builds.
type Service interface {
	// Register adds the service's gRPC services to s (a *grpcx.Server in
	// Run: its TCP listener and its in-process channel).
	Register(s grpc.ServiceRegistrar)
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
	// IssuesUserTokens gives the service the signing key (Deps.Signer).
	IssuesUserTokens bool
	// OpenMethods are the full names of the methods anyone may call
	// without a token (sign-in); every other method needs one.
	OpenMethods []string
	// UsesSQLite tells that the service has SQLite stores: when
	// Config.Store is sqlite it gets Deps.SQLite instead of Deps.Mongo.
	UsesSQLite bool
	// New builds the service.
	New func(ctx context.Context, d Deps) (Service, error)
	// Listener, when set, is used instead of listening on Listen (tests).
	Listener net.Listener
}

// Store returns the store the service runs on under cfg: config.StoreSQLite,
// config.StoreMongo, or "" for a service with no database.
func (s Spec) Store(cfg config.Config) string {
	switch {
	case s.UsesSQLite && cfg.Store == config.StoreSQLite:
		return config.StoreSQLite
	case s.UsesMongo:
		return config.StoreMongo
	}
	return ""
}

// DevKeys tells whether cfg names no key file: then every key lives in
// the data folder, created on first use (one-command and dev runs).
func DevKeys(cfg config.Config) bool {
	return cfg.SigningKeyFile == "" && cfg.VerifyKeyFile == "" && cfg.ServiceKeyFile == ""
}

// loadDevKey loads or creates the dev key name in the data folder.
func loadDevKey(cfg config.Config, log *slog.Logger, name, env string) (ed25519.PrivateKey, error) {
	path := filepath.Join(cfg.DataDir, name)
	k, created, err := auth.LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	log.Warn("using a dev key from the data folder; set "+env+" in production", "path", path, "created", created)
	return k, nil
}

// LoadSigner loads the user-token signing key (ACCORD_SIGNING_KEY_FILE) or,
// when cfg names no key file, the dev key in the data folder, creating it on
// first use. Only a process running the user service loads it.
func LoadSigner(cfg config.Config, log *slog.Logger) (*auth.Signer, error) {
	if cfg.SigningKeyFile != "" {
		k, err := auth.LoadKey(cfg.SigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("ACCORD_SIGNING_KEY_FILE: %w", err)
		}
		return auth.NewSigner(k), nil
	}
	if !DevKeys(cfg) {
		return nil, errors.New("ACCORD_SIGNING_KEY_FILE is not set: the user service needs the signing key")
	}
	k, err := loadDevKey(cfg, log, "signing.key", "ACCORD_SIGNING_KEY_FILE")
	if err != nil {
		return nil, err
	}
	return auth.NewSigner(k), nil
}

// LoadVerifyKey loads the key that verifies user tokens
// (ACCORD_VERIFY_KEY_FILE) or, when cfg names no key file, the public half
// of the dev signing key. A service that does not issue user tokens must
// not be handed the signing key itself, so ACCORD_SIGNING_KEY_FILE alone is
// refused.
func LoadVerifyKey(cfg config.Config, log *slog.Logger) (ed25519.PublicKey, error) {
	if cfg.VerifyKeyFile != "" {
		k, err := auth.LoadPublicKey(cfg.VerifyKeyFile)
		if err != nil {
			return nil, fmt.Errorf("ACCORD_VERIFY_KEY_FILE: %w", err)
		}
		return k, nil
	}
	if !DevKeys(cfg) {
		return nil, errors.New("ACCORD_VERIFY_KEY_FILE is not set: services other than the user service verify user tokens with the public key, not the signing key")
	}
	k, err := loadDevKey(cfg, log, "signing.key", "ACCORD_VERIFY_KEY_FILE")
	if err != nil {
		return nil, err
	}
	return k.Public().(ed25519.PublicKey), nil
}

// LoadServiceSigner loads the service key (ACCORD_SERVICE_KEY_FILE) or, when
// cfg names no key file, the dev service key in the data folder.
func LoadServiceSigner(cfg config.Config, log *slog.Logger) (*auth.Signer, error) {
	if cfg.ServiceKeyFile != "" {
		k, err := auth.LoadKey(cfg.ServiceKeyFile)
		if err != nil {
			return nil, fmt.Errorf("ACCORD_SERVICE_KEY_FILE: %w", err)
		}
		return auth.NewSigner(k), nil
	}
	if !DevKeys(cfg) {
		return nil, errors.New("ACCORD_SERVICE_KEY_FILE is not set: every service needs the service key to call the others")
	}
	k, err := loadDevKey(cfg, log, "service.key", "ACCORD_SERVICE_KEY_FILE")
	if err != nil {
		return nil, err
	}
	return auth.NewSigner(k), nil
}

// Shared are the process-wide resources that Run builds once for all services.
type Shared struct {
	Mongo *mongo.Client
	Redis redis.UniversalClient
	// Signer signs user tokens; it is loaded only when a service that
	// issues them runs in the process.
	Signer *auth.Signer
	// VerifyKey verifies user tokens; nil means Signer's public key, or
	// the one cfg names.
	VerifyKey ed25519.PublicKey
	// ServiceSigner signs and verifies service tokens.
	ServiceSigner *auth.Signer
	Registry      *prometheus.Registry
	Metrics       *grpcx.Metrics
	// SessionCheckCache, when positive, lets the services remember a
	// session found not revoked for that long instead of asking Redis at
	// every call (auth.Revocations.CacheChecks). Only for a process that
	// runs the user service and every service that checks its sessions:
	// the all-in-one runner.
	SessionCheckCache time.Duration
	// Peers is set by Run, before it calls ready, to the connections it
	// gives the services: in process to those it runs (with
	// cfg.LocalPeers), over the network to the others. A gateway in the
	// same process may use them; Run closes them when it returns.
	Peers *peers.Conns
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
	issues := false
	for _, s := range specs {
		issues = issues || s.IssuesUserTokens
	}
	if issues && shared.Signer == nil {
		if shared.Signer, err = LoadSigner(cfg, log); err != nil {
			return err
		}
	}
	verifyKey := shared.VerifyKey
	switch {
	case verifyKey != nil:
	case shared.Signer != nil && cfg.VerifyKeyFile == "":
		verifyKey = shared.Signer.Public()
	default:
		if verifyKey, err = LoadVerifyKey(cfg, log); err != nil {
			return err
		}
	}
	if shared.Signer != nil && !shared.Signer.Public().Equal(verifyKey) {
		return errors.New("ACCORD_VERIFY_KEY_FILE is not the public key of ACCORD_SIGNING_KEY_FILE")
	}
	serviceSigner := shared.ServiceSigner
	if serviceSigner == nil {
		if serviceSigner, err = LoadServiceSigner(cfg, log); err != nil {
			return err
		}
	}
	if serviceSigner.Public().Equal(verifyKey) {
		return errors.New("the service key must not be the signing key")
	}
	needMongo := false
	for _, s := range specs {
		needMongo = needMongo || s.Store(cfg) == config.StoreMongo
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
	// The services run here reach each other in process (cfg.LocalPeers);
	// the others over the network.
	locals := map[string]*grpcx.Local{}
	local := map[string]grpc.ClientConnInterface{}
	if cfg.LocalPeers {
		for _, s := range specs {
			if slices.Contains(peers.Roles[:], s.Name) {
				l := &grpcx.Local{}
				locals[s.Name], local[s.Name] = l, l
			}
		}
	}
	conns, err := peers.DialExcept(cfg, local)
	if err != nil {
		return err
	}
	defer conns.Close()
	shared.Peers = conns

	keys := redisx.NewKeyspace(cfg.RedisPrefix)
	evlog := events.NewLog(shared.Redis, keys)
	// Services sign their tokens with a key of their own, so that only the
	// user service can mint user tokens.
	verifier := auth.NewVerifierByKind(verifyKey, serviceSigner.Public())
	revocations := auth.NewRevocations(shared.Redis, keys)
	if shared.SessionCheckCache > 0 {
		revocations.CacheChecks(shared.SessionCheckCache)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	// stop stops the services started so far and waits for them: a
	// service that fails to start must not leave the others running.
	stop := func(err error) error {
		cancel()
		wg.Wait()
		return err
	}
	errc := make(chan error, 2*len(specs))
	var servers []*grpcx.Server
	var sqliteDBs []*sqlitex.DB
	defer func() {
		for _, db := range sqliteDBs {
			_ = db.Close()
		}
	}()
	for _, spec := range specs {
		sl := log.With("service", spec.Name)
		d := Deps{
			Config: cfg, Log: sl, Redis: shared.Redis, Keys: keys, Events: evlog,
			Verifier: verifier, Revocations: revocations,
			ServiceCreds: auth.NewServiceCredentials(serviceSigner, spec.Name),
			Peers:        conns,
			Metrics:      shared.Registry,
		}
		switch spec.Store(cfg) {
		case config.StoreMongo:
			d.Mongo = shared.Mongo.Database(cfg.MongoDB)
			sl.Info("store: MongoDB", "db", cfg.MongoDB)
		case config.StoreSQLite:
			path := sqlitex.Path(cfg.DataDir, spec.Name)
			if d.SQLite, err = sqlitex.Open(runCtx, path); err != nil {
				return stop(fmt.Errorf("%s: %w", spec.Name, err))
			}
			sqliteDBs = append(sqliteDBs, d.SQLite)
			sl.Info("store: SQLite", "path", path)
		}
		if spec.IssuesUserTokens {
			d.Signer = shared.Signer
		}
		svc, err := spec.New(runCtx, d)
		if err != nil {
			return stop(fmt.Errorf("%s: %w", spec.Name, err))
		}
		gs, err := grpcx.NewServer(grpcx.ServerOptions{
			Log:        sl,
			Auth:       &grpcx.Authenticator{Verifier: verifier, Revocations: revocations, Open: spec.OpenMethods},
			Metrics:    shared.Metrics,
			DrainDelay: cfg.DrainDelay,
		})
		if err != nil {
			return stop(err)
		}
		svc.Register(gs)
		if l := locals[spec.Name]; l != nil {
			gs.ServeLocal(l)
		}
		for name := range gs.GetServiceInfo() {
			gs.Health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
		}
		lis := spec.Listener
		if lis == nil {
			if lis, err = net.Listen("tcp", spec.Listen); err != nil {
				return stop(fmt.Errorf("%s: %w", spec.Name, err))
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
	return stop(first)
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
