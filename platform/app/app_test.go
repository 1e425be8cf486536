package app_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"

	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/grpcx"
	"github.com/accordchat/accord/platform/platformtest"
)

// drainer is a service whose background work takes a while to stop.
type drainer struct {
	started chan struct{}
	stopped atomic.Bool
}

func (*drainer) Register(grpc.ServiceRegistrar) {}

func (d *drainer) Run(ctx context.Context) error {
	close(d.started)
	<-ctx.Done()
	time.Sleep(100 * time.Millisecond) // draining
	d.stopped.Store(true)
	return nil
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

// A service that fails to start stops the ones started before it, and Run
// returns only once they have stopped.
func TestRunWaitsForStartedServicesWhenOneFails(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.RedisPrefix, cfg.DataDir, cfg.ShutdownTimeout = prefix, t.TempDir(), 5*time.Second
	shared := &app.Shared{Redis: rdb, Signer: auth.NewSigner(auth.GenerateKey())}

	first := &drainer{started: make(chan struct{})}
	boom := errors.New("boom")
	specs := []app.Spec{
		{Name: "first", Listener: listen(t), New: func(context.Context, app.Deps) (app.Service, error) { return first, nil }},
		{Name: "second", Listener: listen(t), New: func(context.Context, app.Deps) (app.Service, error) {
			<-first.started // the first service is running
			return nil, boom
		}},
	}
	err = app.Run(t.Context(), cfg, platformtest.Logger(t), shared, specs, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("Run returned %v, want the second service's error", err)
	}
	if !first.stopped.Load() {
		t.Fatal("Run returned before the service it had started stopped")
	}
}

type nopService struct{}

func (nopService) Register(grpc.ServiceRegistrar) {}

// Only a service that issues user tokens gets the signing key; the others
// call their peers with service tokens that the verifier takes as such.
func TestRunGivesTheSigningKeyOnlyToTheIssuer(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	cfg := testConfig(t, prefix)
	shared := &app.Shared{Redis: rdb, Signer: auth.NewSigner(auth.GenerateKey())}
	got := map[string]app.Deps{}
	spec := func(name string, issuer bool) app.Spec {
		return app.Spec{Name: name, Listener: listen(t), IssuesUserTokens: issuer, New: func(_ context.Context, d app.Deps) (app.Service, error) {
			got[name] = d
			return nopService{}, nil
		}}
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := app.Run(ctx, cfg, platformtest.Logger(t), shared, []app.Spec{spec("user", true), spec("presence", false)}, cancel); err != nil {
		t.Fatal(err)
	}
	if got["user"].Signer != shared.Signer {
		t.Error("the issuer did not get the signing key")
	}
	d := got["presence"]
	if d.Signer != nil {
		t.Error("a service that issues no user tokens got the signing key")
	}
	if d.Events == nil || d.Events != got["user"].Events || d.Keys.Prefix() != prefix {
		t.Errorf("services got different event logs or keyspaces: %p %p %q", d.Events, got["user"].Events, d.Keys.Prefix())
	}
	md, err := d.ServiceCreds.GetRequestMetadata(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Verifier.Verify(strings.TrimPrefix(md["authorization"], "Bearer "))
	if err != nil || p.Service != "presence" {
		t.Fatalf("service token: %+v, %v", p, err)
	}
}

func testConfig(t *testing.T, prefix string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.RedisPrefix, cfg.DataDir, cfg.ShutdownTimeout = prefix, t.TempDir(), 5*time.Second
	return cfg
}

// relationships is a user service's internal API that answers every call.
type relationships struct {
	userv1.UnimplementedUserInternalServiceServer
}

func (relationships) Register(s grpc.ServiceRegistrar) {
	userv1.RegisterUserInternalServiceServer(s, relationships{})
}

func (relationships) CheckRelationships(context.Context, *userv1.CheckRelationshipsRequest) (*userv1.CheckRelationshipsResponse, error) {
	return &userv1.CheckRelationshipsResponse{}, nil
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runUntilReady runs specs in their own app.Run, as a separate process
// would, until the test ends.
func runUntilReady(t *testing.T, cfg config.Config, shared *app.Shared, specs ...app.Spec) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, platformtest.Logger(t), shared, specs, func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
}

// A service run with only the verify key and the service key (as in
// docker-compose) verifies user tokens and calls another process's
// internal API; each kind of token is good only under its own key.
func TestServiceWithoutTheSigningKey(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	keys := t.TempDir()
	userKey, serviceKey := auth.GenerateKey(), auth.GenerateKey()
	signingFile := writeFile(t, filepath.Join(keys, "signing.pem"), auth.MarshalKey(userKey))
	verifyFile := writeFile(t, filepath.Join(keys, "verify.pem"), auth.MarshalPublicKey(userKey.Public().(ed25519.PublicKey)))
	serviceFile := writeFile(t, filepath.Join(keys, "service.pem"), auth.MarshalKey(serviceKey))

	// The user service's process: signing key and service key.
	userCfg := testConfig(t, prefix)
	userCfg.SigningKeyFile, userCfg.ServiceKeyFile = signingFile, serviceFile
	userLis := listen(t)
	runUntilReady(t, userCfg, &app.Shared{Redis: rdb}, app.Spec{
		Name: "user", Listener: userLis, IssuesUserTokens: true,
		New: func(context.Context, app.Deps) (app.Service, error) { return relationships{}, nil },
	})

	// Another service's process: the verify key and the service key only.
	cfg := testConfig(t, prefix)
	cfg.VerifyKeyFile, cfg.ServiceKeyFile = verifyFile, serviceFile
	var d app.Deps
	runUntilReady(t, cfg, &app.Shared{Redis: rdb}, app.Spec{
		Name: "server", Listener: listen(t),
		New: func(_ context.Context, deps app.Deps) (app.Service, error) { d = deps; return nopService{}, nil },
	})
	if d.Signer != nil {
		t.Fatal("the service got a signing key")
	}
	if entries, _ := os.ReadDir(cfg.DataDir); len(entries) != 0 {
		t.Errorf("the service wrote %d files to its data folder; with key files it must write none", len(entries))
	}

	users, services := auth.NewSigner(userKey), auth.NewSigner(serviceKey)
	userTok, _, _ := users.UserToken("u1", "s1", false, time.Minute)
	if p, err := d.Verifier.Verify(userTok); err != nil || p.UserID != "u1" {
		t.Errorf("user token: %+v, %v", p, err)
	}
	forgedUser, _, _ := services.UserToken("u1", "s1", true, time.Minute)
	if _, err := d.Verifier.Verify(forgedUser); err == nil {
		t.Error("a user token signed with the service key was accepted")
	}
	forgedService, _, _ := users.ServiceToken("server", time.Minute)
	if _, err := d.Verifier.Verify(forgedService); err == nil {
		t.Error("a service token signed with the user key was accepted")
	}

	conn, err := grpc.NewClient(userLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := userv1.NewUserInternalServiceClient(conn)
	req := &userv1.CheckRelationshipsRequest{UserId: platformtest.NewID(), OtherIds: []string{platformtest.NewID()}}
	if _, err := c.CheckRelationships(t.Context(), req, grpc.PerRPCCredentials(d.ServiceCreds)); err != nil {
		t.Errorf("internal call with the service's credentials: %v", err)
	}
	bearer := func(tok string) grpc.CallOption {
		return grpc.PerRPCCredentials(tokenCreds(tok))
	}
	if _, err := c.CheckRelationships(t.Context(), req, bearer(userTok)); status.Code(err) != codes.PermissionDenied {
		t.Errorf("internal call with a user token: %v, want PERMISSION_DENIED", err)
	}
	if _, err := c.CheckRelationships(t.Context(), req, bearer(forgedService)); status.Code(err) != codes.Unauthenticated {
		t.Errorf("internal call with a service token signed by the user key: %v, want UNAUTHENTICATED", err)
	}
}

type tokenCreds string

func (c tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(c)}, nil
}

func (tokenCreds) RequireTransportSecurity() bool { return false }

// A process that issues no user tokens refuses the signing key in place of
// the verify key, and production key files come as a set.
func TestRunRefusesMissingKeyFiles(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	keys := t.TempDir()
	k := auth.GenerateKey()
	signingFile := writeFile(t, filepath.Join(keys, "signing.pem"), auth.MarshalKey(k))
	serviceFile := writeFile(t, filepath.Join(keys, "service.pem"), auth.MarshalKey(auth.GenerateKey()))
	for _, tc := range []struct {
		name            string
		signing, verify string
		service         string
		issuer          bool
		want            string
	}{
		{"signing key instead of verify key", signingFile, "", serviceFile, false, "ACCORD_VERIFY_KEY_FILE"},
		{"no service key", signingFile, "", "", true, "ACCORD_SERVICE_KEY_FILE"},
		{"user service without signing key", "", signingFile, serviceFile, true, "ACCORD_SIGNING_KEY_FILE"},
		{"service key as signing key", serviceFile, "", serviceFile, true, "service key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, prefix)
			cfg.SigningKeyFile, cfg.VerifyKeyFile, cfg.ServiceKeyFile = tc.signing, tc.verify, tc.service
			spec := app.Spec{Name: "x", Listener: listen(t), IssuesUserTokens: tc.issuer, New: func(context.Context, app.Deps) (app.Service, error) { return nopService{}, nil }}
			err := app.Run(t.Context(), cfg, platformtest.Logger(t), &app.Shared{Redis: rdb}, []app.Spec{spec}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// The services of one Run reach each other in process (Config.LocalPeers,
// on by default): a call goes through the callee's interceptor chain, so
// an internal method still wants a service token; with LocalPeers off they
// call over the network.
func TestRunConnectsItsServicesInProcess(t *testing.T) {
	for _, local := range []bool{true, false} {
		t.Run(fmt.Sprintf("LocalPeers=%v", local), func(t *testing.T) {
			rdb, prefix := platformtest.Redis(t)
			cfg := testConfig(t, prefix)
			cfg.LocalPeers = local
			shared := &app.Shared{Redis: rdb}
			var d app.Deps
			lis := listen(t)
			cfg.UserAddr = lis.Addr().String()
			runUntilReady(t, cfg, shared,
				app.Spec{Name: "user", Listener: lis, IssuesUserTokens: true,
					New: func(context.Context, app.Deps) (app.Service, error) { return relationships{}, nil }},
				app.Spec{Name: "server", Listener: listen(t),
					New: func(_ context.Context, deps app.Deps) (app.Service, error) { d = deps; return nopService{}, nil }})
			if d.Peers != shared.Peers {
				t.Fatal("Shared.Peers are not the connections the services got")
			}
			_, isLocal := d.Peers.User.(*grpcx.Local)
			if isLocal != local {
				t.Fatalf("user peer is %T with LocalPeers=%v", d.Peers.User, local)
			}
			if _, isLocal := d.Peers.Presence.(*grpcx.Local); isLocal {
				t.Fatal("a service this Run does not serve got an in-process connection")
			}
			c := userv1.NewUserInternalServiceClient(d.Peers.User)
			req := &userv1.CheckRelationshipsRequest{UserId: platformtest.NewID(), OtherIds: []string{platformtest.NewID()}}
			if _, err := c.CheckRelationships(t.Context(), req); status.Code(err) != codes.Unauthenticated {
				t.Fatalf("internal method without a token: %v, want UNAUTHENTICATED", err)
			}
			if _, err := c.CheckRelationships(t.Context(), req, grpc.PerRPCCredentials(d.ServiceCreds)); err != nil {
				t.Fatalf("internal method with the service token: %v", err)
			}
		})
	}
}
