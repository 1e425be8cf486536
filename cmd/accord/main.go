// Command accord runs the whole of Accord in one process: the four services,
// the gateway and the web app, with an embedded FerretDB under the data folder
// unless ACCORD_MONGO_URI is set, and the Redis at ACCORD_REDIS_URL or, when
// none answers, an in-memory Redis.
//
// Usage:
//
//	accord          run everything (same as "accord run")
//	accord devdb    serve only the embedded database, for multi-process setups
//	accord health   exit 0 when the gateway and every service answer (container health checks)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/accordchat/accord/gateway"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/devdb"
	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/presence"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/stats"
	"github.com/accordchat/accord/services/user"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "accord:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := "run"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "health":
		return gateway.HealthCheck(cfg.HTTPAddr)
	case "run":
		return runAll(ctx, cfg, log)
	case "devdb":
		return serveDevDB(ctx, cfg, log)
	default:
		return fmt.Errorf("unknown command %q (want run, devdb or health)", cmd)
	}
}

// serveDevDB serves the embedded FerretDB on ACCORD_DEVDB_ADDR
// (default 127.0.0.1:27017) until interrupted.
func serveDevDB(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	addr := os.Getenv("ACCORD_DEVDB_ADDR")
	if addr == "" {
		addr = "127.0.0.1:27017"
	}
	db, err := devdb.Start(filepath.Join(cfg.DataDir, "db"), addr, log)
	if err != nil {
		return err
	}
	log.Info("serving the embedded FerretDB", "uri", db.URI(), "dir", filepath.Join(cfg.DataDir, "db"))
	<-ctx.Done()
	db.Close()
	return nil
}

func runAll(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if os.Getenv("ACCORD_MONGO_URI") == "" {
		dir := filepath.Join(cfg.DataDir, "db")
		db, err := devdb.Start(dir, "127.0.0.1:0", log)
		if err != nil {
			return err
		}
		defer db.Close()
		cfg.MongoURI = db.URI()
		log.Info("database: embedded FerretDB (SQLite)", "dir", dir, "uri", cfg.MongoURI)
	} else {
		log.Info("database: MongoDB from ACCORD_MONGO_URI")
	}
	if redisx.Answers(cfg.RedisURL, time.Second) {
		log.Info("redis: using ACCORD_REDIS_URL", "url", cfg.RedisURL)
	} else {
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			return err
		}
		defer mr.Close()
		cfg.RedisURL = "redis://" + mr.Addr()
		log.Warn("redis: none answers at ACCORD_REDIS_URL; using an embedded in-memory Redis (nothing survives a restart)", "addr", mr.Addr())
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	shared := &app.Shared{Registry: reg}
	specs := []app.Spec{
		user.Spec(cfg.UserAddr, ""),
		server.Spec(cfg.ServerAddr, ""),
		presence.Spec(cfg.PresenceAddr, ""),
		stats.Spec(cfg.StatsAddr, ""),
	}
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- app.Run(ctx, cfg, log, shared, specs, func() { close(ready) })
	}()
	select {
	case err := <-errc:
		return err
	case <-ready:
	}

	peers, err := app.DialPeers(cfg)
	if err != nil {
		return err
	}
	defer peers.Close()
	h, err := gateway.New(ctx, gateway.Options{Log: log.With("service", "gateway"), Peers: peers, Registry: reg, WebDir: cfg.WebDir})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	// No ReadTimeout or WriteTimeout: they would cut WebSockets; REST calls are
	// bounded by the gateway (body size, per-request timeout).
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("gateway", "err", err)
		}
	}()
	log.Info("Accord is up", "url", "http://"+displayAddr(lis.Addr().String()))
	err = <-errc
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return err
}

func displayAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" || host == "::" || host == "0.0.0.0" {
		return "localhost:" + port
	}
	return a
}
