package app

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/tracing"
)

// Main is the whole main function of a service binary. "<binary> health"
// asks the health service of a running instance (ACCORD_HEALTH_ADDR, else
// defaultAddr) and exits 0 when it serves; otherwise the service runs on the
// address peer picks from the configuration until SIGINT or SIGTERM.
func Main(name, defaultAddr string, peer func(config.Config) string, spec func(listen, metrics string) Spec) {
	if err := runMain(name, defaultAddr, peer, spec); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

func runMain(name, defaultAddr string, peer func(config.Config) string, spec func(listen, metrics string) Spec) error {
	if len(os.Args) > 1 && os.Args[1] == "health" {
		return HealthCheck(os.Getenv("ACCORD_HEALTH_ADDR"), defaultAddr)
	}
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	// Run tags each service's log lines with its name.
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopTracing, err := tracing.FromEnv(ctx, "accord-"+name)
	if err != nil {
		return err
	}
	defer stopTracing()
	addr := peer(cfg)
	return Run(ctx, cfg, log, nil, []Spec{spec(cfg.ListenFor(addr), cfg.MetricsFor(addr))}, nil)
}
