// Package suitetest starts the whole suite for tests, over a test's own
// database and Redis key prefix (platform/platformtest): per test with
// Start, or once for a package's tests from TestMain with Main.
package suitetest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/suite"
)

// Stack is a running suite and the test world under it.
type Stack struct {
	*suite.Suite
	Env *platformtest.Env
	// HTTP is the first gateway's base URL ("http://127.0.0.1:port").
	HTTP string
}

// Options tune a test suite.
type Options struct {
	// Mutate, when not nil, may change the configuration first (operators, TTLs).
	Mutate func(*config.Config)
	// Gateways is how many gateways serve over the same services (0 means 1).
	Gateways int
	// PerSocketFeed runs the gateways with one StreamEvents stream per
	// socket instead of the shared event feed (Config.WSSharedFeed, the
	// default); ACCORD_TEST_SHARED_FEED=0 does so for every suite (and =1
	// never), so that a package's tests can be run on either feed.
	PerSocketFeed bool
}

// Start runs every service and a gateway on loopback until t ends. mutate,
// when not nil, may change the configuration first.
func Start(t testing.TB, mutate func(*config.Config)) *Stack {
	t.Helper()
	s, err := start(t, Options{Mutate: mutate})
	if err != nil {
		t.Fatalf("suite did not start: %v", err)
	}
	return s
}

// StartWith is Start with every option.
func StartWith(t testing.TB, o Options) *Stack {
	t.Helper()
	s, err := start(t, o)
	if err != nil {
		t.Fatalf("suite did not start: %v", err)
	}
	return s
}

func start(t testing.TB, o Options) (*Stack, error) {
	env := platformtest.New(t)
	cfg := env.Config
	cfg.MongoDB = env.DB.Name()
	cfg.ShutdownTimeout = 2 * time.Second
	switch os.Getenv("ACCORD_TEST_SHARED_FEED") {
	case "1":
		cfg.WSSharedFeed = true
	case "0":
		cfg.WSSharedFeed = false
	default:
		cfg.WSSharedFeed = cfg.WSSharedFeed && !o.PerSocketFeed
	}
	if o.Mutate != nil {
		o.Mutate(&cfg)
	}
	s, err := suite.Start(context.Background(), suite.Options{
		Config:    cfg,
		Log:       env.Log,
		Shared:    app.Shared{Mongo: env.DB.Client(), Redis: env.Redis, Signer: env.Signer, ServiceSigner: env.ServiceSigner},
		Ephemeral: true,
		Gateways:  o.Gateways,
		WebDir:    t.TempDir(),
	})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = s.Close() })
	return &Stack{Suite: s, Env: env, HTTP: s.Gateways[0]}, nil
}

// Main starts a suite for a package's tests, runs them, stops the suite and
// returns the exit code for os.Exit. Use it from TestMain:
//
//	func TestMain(m *testing.M) {
//		os.Exit(suitetest.Main(m, suitetest.Options{}, func(s *suitetest.Stack) { sys = s }))
//	}
func Main(m *testing.M, o Options, use func(*Stack)) int {
	tb := &mainTB{}
	defer tb.runCleanups()
	s, err := tb.start(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "suitetest: start:", err)
		return 1
	}
	use(s)
	return m.Run()
}

// mainTB gives platformtest, which wants a testing.TB, what it uses while
// no test runs yet: cleanups run after the tests, and a fatal error ends
// the start with an error instead of a test failure.
type mainTB struct {
	testing.TB // nil; only the methods below are called
	mu         sync.Mutex
	cleanups   []func()
}

// fatal carries a Fatal of platformtest out of start.
type fatal struct{ msg string }

func (m *mainTB) start(o Options) (s *Stack, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%s", f.msg)
		}
	}()
	return start(m, o)
}

func (m *mainTB) Helper()                      {}
func (m *mainTB) Name() string                 { return "TestMain" }
func (m *mainTB) Fatal(args ...any)            { panic(fatal{fmt.Sprint(args...)}) }
func (m *mainTB) Fatalf(f string, args ...any) { panic(fatal{fmt.Sprintf(f, args...)}) }
func (m *mainTB) Error(args ...any)            { panic(fatal{fmt.Sprint(args...)}) }
func (m *mainTB) Errorf(f string, args ...any) { panic(fatal{fmt.Sprintf(f, args...)}) }
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
	d, err := os.MkdirTemp("", "accord-suite-")
	if err != nil {
		m.Fatal(err)
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
