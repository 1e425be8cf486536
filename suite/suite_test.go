package suite_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/suite"
)

func testConfig(env *platformtest.Env) config.Config {
	cfg := env.Config
	cfg.MongoDB = env.DB.Name()
	cfg.ShutdownTimeout = 2 * time.Second
	return cfg
}

func TestStartServesAndCloses(t *testing.T) {
	env := platformtest.New(t)
	s, err := suite.Start(context.Background(), suite.Options{
		Config:    testConfig(env),
		Log:       env.Log,
		Shared:    app.Shared{Mongo: env.DB.Client(), Redis: env.Redis, Signer: env.Signer, ServiceSigner: env.ServiceSigner},
		Ephemeral: true,
		Gateways:  2,
		WebDir:    t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Gateways) != 2 || s.Gateways[0] == s.Gateways[1] {
		t.Fatalf("gateways %v, want two", s.Gateways)
	}
	for _, base := range s.Gateways {
		res, err := http.Get(base + "/v1/me")
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s/v1/me without a token: %d, want 401", base, res.StatusCode)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := http.Get(s.Gateways[0] + "/healthz"); err == nil {
		t.Error("the gateway still answers after Close")
	}
	if _, err := net.DialTimeout("tcp", s.Config.UserAddr, time.Second); err == nil {
		t.Error("the user service still listens after Close")
	}
}

func TestStartReportsAFailure(t *testing.T) {
	env := platformtest.New(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig(env)
	cfg.UserAddr = taken.Addr().String()
	for _, a := range []*string{&cfg.ServerAddr, &cfg.PresenceAddr, &cfg.StatsAddr, &cfg.HTTPAddr} {
		*a = "127.0.0.1:0"
	}
	s, err := suite.Start(context.Background(), suite.Options{
		Config: cfg,
		Log:    env.Log,
		Shared: app.Shared{Mongo: env.DB.Client(), Redis: env.Redis, Signer: env.Signer, ServiceSigner: env.ServiceSigner},
	})
	if err == nil {
		_ = s.Close()
		t.Fatal("Start succeeded with the user service's address taken")
	}
}
