// Command gateway runs Accord's HTTP edge alone.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/accordchat/accord/gateway"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/blobstore"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/peers"
	"github.com/accordchat/accord/platform/tracing"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	if len(os.Args) > 1 && os.Args[1] == "health" {
		return gateway.HealthCheck(cfg.HTTPAddr)
	}
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel).With("service", "gateway")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopTracing, err := tracing.FromEnv(ctx, "accord-gateway")
	if err != nil {
		return err
	}
	defer stopTracing()
	conns, err := peers.Dial(cfg)
	if err != nil {
		return err
	}
	defer conns.Close()
	// With a shared blob store (ACCORD_BLOB_URL, the server service's) the
	// gateway moves attachment bytes itself; without one it cannot see the
	// server's folder, and the bytes go through gRPC.
	var blobs *blobstore.Store
	if cfg.BlobURL != "" {
		if blobs, err = blobstore.Open(ctx, cfg.BlobURL, cfg.DataDir); err != nil {
			return err
		}
		defer func() { _ = blobs.Close() }()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The gateway's life is not the signal's: on SIGTERM it drains
	// (Drain below) rather than dropping its sockets at once.
	life, endLife := context.WithCancel(context.Background())
	defer endLife()
	gopts := gateway.Options{Log: log, Peers: conns, Registry: reg, WebDir: cfg.WebDir, MaxUploadBytes: cfg.MaxUploadBytes, Blobs: blobs}
	gopts.WS.WriteDelay = cfg.WSWriteDelay
	if cfg.WSSharedFeed {
		// The shared feed (ACCORD_WS_SHARED_FEED, on by default) calls the
		// server service's internal API with the service key, loaded as
		// the services load it (ACCORD_SERVICE_KEY_FILE).
		signer, err := app.LoadServiceSigner(cfg, log)
		if err != nil {
			return err
		}
		gopts.WS.SharedFeed = true
		gopts.ServiceCreds = auth.NewServiceCredentials(signer, "gateway")
	}
	h, err := gateway.New(life, gopts)
	if err != nil {
		return err
	}
	// No ReadTimeout or WriteTimeout: they would cut WebSockets; REST calls are
	// bounded by the gateway (body size, per-request timeout).
	srv := &http.Server{Addr: cfg.HTTPAddr, Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving HTTP", "addr", cfg.HTTPAddr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Readiness fails first, sockets move to other gateways after the drain
	// delay, then the listener closes and REST calls in flight finish.
	log.Info("draining", "delay", cfg.DrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.DrainDelay+cfg.ShutdownTimeout)
	defer cancel()
	if err := h.Drain(sctx, cfg.DrainDelay); err != nil {
		log.Warn("sockets still open at the end of the drain", "err", err)
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		// Calls still in flight are cut, as a crash would: clients retry
		// them (sends carry request ids, so a retry is not a duplicate).
		log.Warn("graceful stop timed out; closing remaining connections", "err", err)
		_ = srv.Close()
	}
	return nil
}
