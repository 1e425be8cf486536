// Package stack starts the whole Accord suite in one test process: the four
// services on loopback ports over the test's own database and Redis prefix,
// and the gateway on an HTTP test server. Suites that exercise the product
// end to end (reliability, access sweep) build on it.
package stack

import (
	"context"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/accordchat/accord/gateway"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/presence"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/stats"
	"github.com/accordchat/accord/services/user"
)

// Stack is a running suite.
type Stack struct {
	Env    *platformtest.Env
	Config config.Config
	Peers  *app.Peers
	// HTTP is the gateway's base URL ("http://127.0.0.1:port").
	HTTP string
}

// Start runs every service and the gateway until the test ends. mutate, when
// not nil, may change the configuration first (operators, TTLs).
func Start(t testing.TB, mutate func(*config.Config)) *Stack {
	t.Helper()
	env := platformtest.New(t)
	cfg := env.Config
	cfg.MongoDB = env.DB.Name()
	cfg.ShutdownTimeout = 2 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	lis := make([]net.Listener, 4)
	for i := range lis {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lis[i] = l
	}
	cfg.UserAddr, cfg.ServerAddr = lis[0].Addr().String(), lis[1].Addr().String()
	cfg.PresenceAddr, cfg.StatsAddr = lis[2].Addr().String(), lis[3].Addr().String()
	specs := []app.Spec{user.Spec("", ""), server.Spec("", ""), presence.Spec("", ""), stats.Spec("", "")}
	for i := range specs {
		specs[i].Listener = lis[i]
	}
	reg := prometheus.NewRegistry()
	shared := &app.Shared{Mongo: env.DB.Client(), Redis: env.Redis, Signer: env.Signer, Registry: reg}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, env.Log, shared, specs, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("suite did not start: %v", err)
	}
	peers, err := app.DialPeers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := gateway.New(ctx, gateway.Options{Log: env.Log, Peers: peers, Registry: reg, WebDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.Close()
		peers.Close()
		cancel()
		<-done
	})
	return &Stack{Env: env, Config: cfg, Peers: peers, HTTP: hs.URL}
}

// Conns returns the client connections by service name.
func (s *Stack) Conns() map[string]*grpc.ClientConn {
	return map[string]*grpc.ClientConn{"user": s.Peers.User, "server": s.Peers.Server, "presence": s.Peers.Presence, "stats": s.Peers.Stats}
}
