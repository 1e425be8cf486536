// Command accord runs the whole of Accord in one process: the four services,
// the gateway and the web app, and the Redis at ACCORD_REDIS_URL or, when
// none answers, an in-memory Redis. Data goes to the store ACCORD_STORE
// names: by default (ACCORD_MONGO_URI unset) SQLite files under
// <ACCORD_DATA_DIR>/sqlite for the services that have SQLite stores, and an
// embedded FerretDB under <ACCORD_DATA_DIR>/db for the others.
//
// Usage:
//
//	accord                 run everything (same as "accord run")
//	accord devdb           serve only the embedded database, for multi-process setups
//	accord health          exit 0 when the gateway and every service answer (container health checks)
//	accord backup <file>   write a consistent backup of the data folder's databases, also while Accord runs
//	accord restore <file>  put a backup back into the data folder (Accord stopped)
//	accord copy-to-mongo   copy the data folder into the MongoDB at ACCORD_MONGO_URI (Accord stopped)
package main

import (
	"context"
	"fmt"
	"log/slog"
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
	"github.com/accordchat/accord/platform/tracing"
	"github.com/accordchat/accord/suite"
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
		stopTracing, err := tracing.FromEnv(ctx, "accord")
		if err != nil {
			return err
		}
		defer stopTracing()
		return runAll(ctx, cfg, log)
	case "devdb":
		return serveDevDB(ctx, cfg, log)
	case "backup", "restore":
		if len(args) != 2 {
			return fmt.Errorf("usage: accord %s <file>", cmd)
		}
		if cmd == "backup" {
			return backup(ctx, cfg.DataDir, args[1], log)
		}
		return restore(ctx, cfg.DataDir, args[1], log)
	case "copy-to-mongo":
		if os.Getenv("ACCORD_MONGO_URI") == "" {
			return fmt.Errorf("copy-to-mongo: set ACCORD_MONGO_URI to the MongoDB to copy into")
		}
		return copyToMongo(ctx, cfg.DataDir, cfg.MongoURI, cfg.MongoDB, log)
	default:
		return fmt.Errorf("unknown command %q (want run, devdb, health, backup, restore or copy-to-mongo)", cmd)
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
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	if err := servePprof(ctx, log); err != nil {
		return err
	}
	needMongo := anyOnMongo(cfg)
	// An embedded FerretDB folder may hold the data of an earlier release,
	// to import into SQLite even when no service needs MongoDB any more.
	ferretDir := filepath.Join(cfg.DataDir, "db")
	_, statErr := os.Stat(ferretDir)
	earlier := statErr == nil
	switch {
	case os.Getenv("ACCORD_MONGO_URI") != "":
		log.Info("database: MongoDB from ACCORD_MONGO_URI")
	case needMongo || earlier:
		db, err := devdb.Start(ferretDir, "127.0.0.1:0", log)
		if err != nil {
			return err
		}
		defer db.Close()
		cfg.MongoURI = db.URI()
		log.Info("database: embedded FerretDB (SQLite)", "dir", ferretDir, "uri", cfg.MongoURI)
	}
	if os.Getenv("ACCORD_MONGO_URI") != "" || needMongo || earlier {
		if err := importEarlierData(ctx, cfg, log); err != nil {
			return err
		}
	}
	if !needMongo {
		log.Info("database: SQLite files only", "dir", filepath.Join(cfg.DataDir, "sqlite"))
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
	s, err := suite.Start(ctx, suite.Options{Config: cfg, Log: log, Shared: app.Shared{Registry: reg}})
	if err != nil {
		return err
	}
	log.Info("Accord is up", "url", s.Gateways[0])
	return s.Wait()
}
