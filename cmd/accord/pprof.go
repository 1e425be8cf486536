package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// servePprof serves Go's profiles (/debug/pprof/) on ACCORD_PPROF_ADDR
// until ctx ends. Unset (the default) serves nothing; the address is the
// operator's choice, so keep it on loopback (127.0.0.1:6060): the profiles
// show the process's internals to whoever can reach them.
func servePprof(ctx context.Context, log *slog.Logger) error {
	addr := os.Getenv("ACCORD_PPROF_ADDR")
	if addr == "" {
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof listener stopped", "err", err)
		}
	}()
	log.Warn("serving Go profiles; keep this address private", "addr", l.Addr().String())
	return nil
}
