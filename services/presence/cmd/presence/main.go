// Command presence runs the Accord presence service alone.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/services/presence"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "presence:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) > 1 && os.Args[1] == "health" {
		return app.HealthCheck(os.Getenv("ACCORD_HEALTH_ADDR"), "127.0.0.1:50053")
	}
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	// app.Run tags each service's log lines with its name.
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	peer := cfg.PresenceAddr
	return app.Run(ctx, cfg, log, nil, []app.Spec{presence.Spec(cfg.ListenFor(peer), cfg.MetricsFor(peer))}, nil)
}
