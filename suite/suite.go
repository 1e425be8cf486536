// Package suite boots the whole of Accord in one process: the four services
// and the gateway, on the addresses of a Config or on ephemeral loopback
// ports. It is the one place that knows how the parts are put together;
// the all-in-one runner (cmd/accord), the end-to-end tests (e2e, through
// suitetest) and the load tools (bench) all start the suite with it.
//
// It is a module of its own because it imports every service and the
// gateway: a package in platform would make the shared plumbing depend on
// what is built on it, and one in the gateway would make the gateway require
// every service. Everything that needs the whole suite depends on this
// module; the services and the gateway depend on nothing above platform.
// Its subpackages proc (the process runner) and client (the REST and
// WebSocket test client) import no Accord module at all, so deploy can use
// them without linking the services.
package suite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/accordchat/accord/gateway"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/blobstore"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/peers"
	"github.com/accordchat/accord/services/presence"
	"github.com/accordchat/accord/services/search"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/stats"
	"github.com/accordchat/accord/services/user"
)

// Options say how to start the suite.
type Options struct {
	// Config is the suite's configuration. With Ephemeral unset the services
	// listen on its addresses (UserAddr ... StatsAddr) and the first gateway
	// on HTTPAddr.
	Config config.Config
	// Log receives every part's log lines; nil discards them.
	Log *slog.Logger
	// Shared are resources built by the caller (a test database client, a
	// signing key, a metrics registry); nil fields are built from Config.
	// The gateways register their metrics in Shared.Registry.
	Shared app.Shared
	// Ephemeral puts every service and gateway on a fresh loopback port
	// instead of the configured addresses; Suite.Config tells which.
	Ephemeral bool
	// Gateways is how many gateways serve over the same services (as behind
	// a load balancer); 0 means 1, -1 none. Only the first registers metrics.
	Gateways int
	// WebDir is the built web app the gateways serve (Config.WebDir when empty).
	WebDir string
}

// sessionCheckCache is how long the services of a suite remember a session
// found not revoked.
const sessionCheckCache = 10 * time.Second

// Suite is a running suite.
type Suite struct {
	// Config is the configuration the services run with, addresses included.
	Config config.Config
	// Peers are client connections to the services (app.Shared.Peers).
	Peers *peers.Conns
	// Registry holds the services' and the first gateway's metrics.
	Registry *prometheus.Registry
	// Gateways are the gateways' base URLs ("http://127.0.0.1:port").
	Gateways []string

	log      *slog.Logger
	cancel   context.CancelFunc // ends the services
	gcancel  context.CancelFunc // ends the gateways
	done     chan error         // app.Run's result
	servers  []*http.Server
	gws      []*gateway.Gateway
	blobs    *blobstore.Store // the gateways' handle on the services' blob store
	stopOnce sync.Once
	err      error
}

// Start runs the services and the gateways and returns once every service
// listens and every gateway reports healthy. When it fails, whatever it
// started is stopped. They run until ctx ends or
// Close is called; Wait tells when they have stopped.
func Start(ctx context.Context, o Options) (s *Suite, err error) {
	cfg := o.Config
	log := o.Log
	if log == nil {
		log = logging.Discard()
	}
	shared := o.Shared
	// With Config.WSSharedFeed (ACCORD_WS_SHARED_FEED, on by default) the
	// gateways relay events from one upstream feed each
	// (gateway.WSOptions.SharedFeed), calling with the service key.
	if cfg.WSSharedFeed && shared.ServiceSigner == nil {
		// The gateways call with the services' key: load it once for all.
		if shared.ServiceSigner, err = app.LoadServiceSigner(cfg, log); err != nil {
			return nil, err
		}
	}
	if shared.Registry == nil {
		shared.Registry = prometheus.NewRegistry()
	}
	// Every service runs here, the user service that revokes sessions
	// too: the others may remember a session's check (see
	// auth.Revocations.CacheChecks), which saves a Redis round trip on
	// nearly every call. Only on SQLite, where the data folder's lock
	// keeps its sessions to this one process: all-in-ones sharing a
	// MongoDB could revoke a session in another process.
	if shared.SessionCheckCache == 0 && cfg.Store == config.StoreSQLite {
		shared.SessionCheckCache = sessionCheckCache
	}
	specs := []app.Spec{
		user.Spec(cfg.UserAddr, ""),
		server.Spec(cfg.ServerAddr, ""),
		presence.Spec(cfg.PresenceAddr, ""),
		stats.Spec(cfg.StatsAddr, ""),
		search.Spec(cfg.SearchAddr, ""),
	}
	if o.Ephemeral {
		addrs := []*string{&cfg.UserAddr, &cfg.ServerAddr, &cfg.PresenceAddr, &cfg.StatsAddr, &cfg.SearchAddr}
		for i := range specs {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				for _, s := range specs[:i] {
					_ = s.Listener.Close()
				}
				return nil, err
			}
			specs[i].Listener = l
			*addrs[i] = l.Addr().String()
		}
	}

	rctx, cancel := context.WithCancel(ctx)
	s = &Suite{Config: cfg, Registry: shared.Registry, log: log, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() { s.done <- app.Run(rctx, cfg, log, &shared, specs, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-s.done:
		cancel()
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = s.Close()
			s = nil
		}
	}()
	// The gateways call the services through the connections Run gave
	// them: in process unless cfg.LocalPeers is off. Run closes them.
	s.Peers = shared.Peers
	// The gateways move attachment bytes to and from the blob store the
	// server service uses (the same folder or bucket) themselves.
	if s.blobs, err = blobstore.Open(ctx, cfg.BlobURL, cfg.DataDir); err != nil {
		return s, err
	}
	gctx, gcancel := context.WithCancel(rctx)
	s.gcancel = gcancel
	n := o.Gateways
	if n == 0 {
		n = 1
	}
	webDir := o.WebDir
	if webDir == "" {
		webDir = cfg.WebDir
	}
	for i := range max(n, 0) {
		gopts := gateway.Options{Log: log.With("service", "gateway"), Peers: s.Peers, WebDir: webDir, MaxUploadBytes: cfg.MaxUploadBytes, Blobs: s.blobs}
		gopts.WS.WriteDelay = cfg.WSWriteDelay
		if i == 0 {
			gopts.Registry = shared.Registry
		}
		if cfg.WSSharedFeed {
			gopts.WS.SharedFeed = true
			gopts.ServiceCreds = auth.NewServiceCredentials(shared.ServiceSigner, "gateway")
		}
		h, err := gateway.New(gctx, gopts)
		if err != nil {
			return s, err
		}
		addr := cfg.HTTPAddr
		if o.Ephemeral || i > 0 {
			addr = "127.0.0.1:0"
		}
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			return s, err
		}
		// No ReadTimeout or WriteTimeout: they would cut WebSockets; REST
		// calls are bounded by the gateway (body size, per-request timeout).
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
		go func() {
			if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("gateway", "err", err)
			}
		}()
		s.servers = append(s.servers, srv)
		s.gws = append(s.gws, h)
		s.Gateways = append(s.Gateways, "http://"+DisplayAddr(lis.Addr().String()))
	}
	for _, base := range s.Gateways {
		if err := WaitHealthy(ctx, base, 30*time.Second); err != nil {
			return s, err
		}
	}
	return s, nil
}

// WaitHealthy polls the gateway at base until its /healthz answers 200.
func WaitHealthy(ctx context.Context, base string, timeout time.Duration) error {
	c := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		res, err := c.Get(base + "/healthz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", res.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway %s not healthy after %s: %w", base, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Conns returns the client connections by service name.
func (s *Suite) Conns() map[string]grpc.ClientConnInterface {
	return map[string]grpc.ClientConnInterface{"user": s.Peers.User, "server": s.Peers.Server, "presence": s.Peers.Presence, "stats": s.Peers.Stats, "search": s.Peers.Search}
}

// Wait blocks until the services stop (the context of Start ended, Close
// was called, or a service failed), then shuts the gateways down and
// returns the services' error.
func (s *Suite) Wait() error {
	s.stopOnce.Do(func() {
		s.err = <-s.done
		s.stopGateways()
	})
	return s.err
}

// Close stops the gateways, then drains the services, and waits for both.
func (s *Suite) Close() error {
	s.stopGateways()
	s.cancel()
	err := s.Wait()
	_ = s.blobs.Close()
	return err
}

func (s *Suite) stopGateways() {
	ctx, cancel := context.WithTimeout(context.Background(), s.Config.ShutdownTimeout)
	defer cancel()
	for _, g := range s.gws {
		_ = g.Drain(ctx, 0) // open WebSockets write out their queues and close with 1001
	}
	if s.gcancel != nil {
		s.gcancel()
	}
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
}

// DisplayAddr turns a listen address into one a browser can open
// (":8080" -> "localhost:8080").
func DisplayAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" || host == "::" || host == "0.0.0.0" {
		return "localhost:" + port
	}
	return a
}
