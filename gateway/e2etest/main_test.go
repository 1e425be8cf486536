// Package e2etest runs the gateway end to end: TestMain starts the four
// services (real FerretDB and Redis) and the gateway on loopback, and the
// tests drive them over REST and WebSockets only, as a browser would.
package e2etest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accordchat/accord/gateway"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/presence"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/stats"
	"github.com/accordchat/accord/services/user"
)

// suite is the running system, shared by the tests of this package.
type suite struct {
	env  *platformtest.Env
	base string // http://127.0.0.1:port
	// base2 is a second gateway over the same services, as behind a load
	// balancer: a client may reconnect to either.
	base2 string
	reg   *prometheus.Registry
}

// the suite TestMain started; read-only once tests run.
var sys *suite

// mainTB lets the test harness, which wants a testing.TB, run in TestMain:
// it implements what platformtest uses and runs cleanups after the tests.
type mainTB struct {
	testing.TB // nil; only the methods below are called
	mu         sync.Mutex
	cleanups   []func()
}

func (m *mainTB) Helper()                      {}
func (m *mainTB) Name() string                 { return "TestMain" }
func (m *mainTB) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (m *mainTB) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
func (m *mainTB) Error(args ...any)            { panic(fmt.Sprint(args...)) }
func (m *mainTB) Errorf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
func (m *mainTB) Log(args ...any)              { fmt.Fprintln(os.Stderr, args...) }
func (m *mainTB) Logf(f string, args ...any)   { fmt.Fprintf(os.Stderr, f+"\n", args...) }
func (m *mainTB) Failed() bool                 { return false }
func (m *mainTB) Context() context.Context     { return context.Background() }

func (m *mainTB) Cleanup(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cleanups = append(m.cleanups, f)
}

func (m *mainTB) TempDir() string {
	d, err := os.MkdirTemp("", "accord-e2e-")
	if err != nil {
		panic(err)
	}
	m.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

func (m *mainTB) runCleanups() {
	m.mu.Lock()
	c := m.cleanups
	m.mu.Unlock()
	for i := len(c) - 1; i >= 0; i-- {
		c[i]()
	}
}

func TestMain(m *testing.M) {
	tb := &mainTB{}
	code := func() int {
		defer tb.runCleanups()
		s, stop, err := start(tb)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: start:", err)
			return 1
		}
		defer stop()
		sys = s
		return m.Run()
	}()
	os.Exit(code)
}

// start runs the services and the gateway and waits for /healthz.
func start(tb *mainTB) (*suite, func(), error) {
	env := platformtest.New(tb)
	cfg := env.Config
	cfg.MongoDB = env.DB.Name()
	cfg.ShutdownTimeout = 2 * time.Second
	lis := make([]net.Listener, 4)
	for i := range lis {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
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
		return nil, nil, err
	}
	peers, err := app.DialPeers(cfg)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	gctx, gcancel := context.WithCancel(ctx)
	h, err := gateway.New(gctx, gateway.Options{Log: env.Log, Peers: peers, Registry: reg, WebDir: tb.TempDir()})
	if err != nil {
		gcancel()
		cancel()
		return nil, nil, err
	}
	hs := httptest.NewServer(h)
	h2, err := gateway.New(gctx, gateway.Options{Log: env.Log, Peers: peers, WebDir: tb.TempDir()})
	if err != nil {
		gcancel()
		cancel()
		return nil, nil, err
	}
	hs2 := httptest.NewServer(h2)
	stop := func() {
		gcancel()
		hs2.Close()
		hs.Close()
		peers.Close()
		cancel()
		<-done
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(hs.URL + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("gateway not healthy: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &suite{env: env, base: hs.URL, base2: hs2.URL, reg: reg}, stop, nil
}
