package grpcx_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/grpcx"
	"github.com/accordchat/accord/platform/platformtest"
)

// instance is one server of a service, with its health and a call count.
type instance struct {
	stub   *stub
	health *health.Server
	addr   string
}

func startInstance(t *testing.T) *instance {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	in := &instance{stub: &stub{}, health: health.NewServer(), addr: lis.Addr().String()}
	healthpb.RegisterHealthServer(gs, in.health)
	userv1.RegisterUserServiceServer(gs, in.stub)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return in
}

// TestDialSkipsDrainingInstances dials two instances as one
// comma-separated address: calls are spread over both, and once one's
// health turns NOT_SERVING (it drains) every call goes to the other.
func TestDialSkipsDrainingInstances(t *testing.T) {
	a, b := startInstance(t), startInstance(t)
	conn, err := grpcx.Dial(a.addr + "," + b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := userv1.NewUserServiceClient(conn)
	call := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = c.Register(ctx, &userv1.RegisterRequest{Login: "x", Password: "password-x"})
	}
	platformtest.Eventually(t, 20*time.Second, func() bool {
		call()
		return a.stub.calls.Load() > 0 && b.stub.calls.Load() > 0
	}, "calls to reach both instances")

	a.health.Shutdown()
	platformtest.Eventually(t, 20*time.Second, func() bool {
		before := a.stub.calls.Load()
		for range 10 {
			call()
		}
		return a.stub.calls.Load() == before
	}, "calls to leave the draining instance")
}

// TestDialRejectsAnEmptyList refuses a list without an address.
func TestDialRejectsAnEmptyList(t *testing.T) {
	if _, err := grpcx.Dial(" , "); err == nil {
		t.Fatal("Dial accepted a list without an address")
	}
}

// TestServeDrainsReadinessFirst stops a server with a drain delay: its
// health turns NOT_SERVING at once while calls are still answered during
// the delay.
func TestServeDrainsReadinessFirst(t *testing.T) {
	s, err := grpcx.NewServer(grpcx.ServerOptions{
		Log:        slog.New(slog.DiscardHandler),
		Auth:       &grpcx.Authenticator{Open: []string{userv1.UserService_Register_FullMethodName}},
		DrainDelay: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	st := &stub{}
	userv1.RegisterUserServiceServer(s.Server, st)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, lis, time.Second) }()
	// A plain client, which does not watch health, as a load balancer's
	// probe and a late caller see the server.
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	check := func() healthpb.HealthCheckResponse_ServingStatus {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := hc.Check(cctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return res.GetStatus()
	}
	if got := check(); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health before the stop = %v", got)
	}
	stop()
	platformtest.Eventually(t, 10*time.Second, func() bool {
		return check() == healthpb.HealthCheckResponse_NOT_SERVING
	}, "health to turn NOT_SERVING")
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := userv1.NewUserServiceClient(conn).Register(cctx, &userv1.RegisterRequest{Login: "late", Password: "password-late"}); err != nil {
		t.Errorf("a call during the drain delay failed: %v", err)
	}
	s.Stop()
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
}
