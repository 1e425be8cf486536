package grpcx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"github.com/fullstorydev/grpchan/inprocgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// ServerOptions configure NewServer.
type ServerOptions struct {
	Log         *slog.Logger
	Auth        *Authenticator
	Metrics     *Metrics // optional
	MaxRecvSize int      // bytes; 0 means 1 MiB
	// DrainDelay is how long Serve keeps serving after its health turned
	// NOT_SERVING at shutdown, before it refuses new calls: the time load
	// balancers and readiness probes take to stop sending calls here.
	DrainDelay time.Duration
}

// traceFilter leaves health checks (probes every few seconds) out of traces.
// Spans go to the global tracer provider (platform/tracing), which records
// nothing unless tracing is set up; the trace context passes either way.
var traceFilter = otelgrpc.WithFilter(filters.Not(filters.HealthCheck()))

// Server is a gRPC server with health and reflection registered.
type Server struct {
	*grpc.Server
	Health *health.Server
	log    *slog.Logger
	drain  time.Duration
	// local serves the same services, health included, to callers in
	// this process (see Local) through locals.
	local  *inprocgrpc.Channel
	locals []*Local
}

// NewServer builds a gRPC server with the Accord interceptor chain:
// recovery -> logging and metrics -> authentication -> validation.
func NewServer(opts ServerOptions) (*Server, error) {
	v, err := protovalidate.New()
	if err != nil {
		return nil, err
	}
	if opts.MaxRecvSize == 0 {
		opts.MaxRecvSize = 1 << 20
	}
	c := &chain{log: opts.Log, authn: opts.Auth, validator: v, metrics: opts.Metrics}
	gs := grpc.NewServer(
		grpc.StatsHandler(otelgrpc.NewServerHandler(traceFilter)),
		grpc.ChainUnaryInterceptor(c.unary),
		grpc.ChainStreamInterceptor(c.stream),
		grpc.MaxRecvMsgSize(opts.MaxRecvSize),
		grpc.ForceServerCodecV2(newCodec()),
		// Connections are recycled every few minutes so that clients spread
		// over replicas added by scaling up; streams get a grace period and
		// then resume from their cursors.
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time: 30 * time.Second, Timeout: 10 * time.Second,
			MaxConnectionAge: 5 * time.Minute, MaxConnectionAgeGrace: 30 * time.Second,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	local := new(inprocgrpc.Channel).
		WithServerUnaryInterceptor(c.unary).
		WithServerStreamInterceptor(c.stream).
		WithServerStatsHandler(otelgrpc.NewServerHandler(traceFilter)).
		WithClientStatsHandler(otelgrpc.NewClientHandler(traceFilter)).
		WithCloner(cloner{})
	s := &Server{Server: gs, Health: health.NewServer(), log: opts.Log, drain: opts.DrainDelay, local: local}
	healthpb.RegisterHealthServer(s, s.Health)
	reflection.Register(gs)
	return s, nil
}

// RegisterService registers a service on the gRPC server and on the
// in-process channel (grpc.ServiceRegistrar); register every service
// before Serve and ServeLocal.
func (s *Server) RegisterService(desc *grpc.ServiceDesc, impl any) {
	s.Server.RegisterService(desc, impl)
	s.local.RegisterService(desc, impl)
}

// ServeLocal lets the calls through l reach this server's services, until
// Serve stops: then they fail with UNAVAILABLE, as new calls over the
// network do.
func (s *Server) ServeLocal(l *Local) {
	s.locals = append(s.locals, l)
	l.ch.Store(s.local)
}

// Serve serves on lis until ctx is done, then drains: health turns
// NOT_SERVING first (clients dialed with Dial, which watch it, send their
// next calls to other instances; readiness probes fail), calls are still
// served for ServerOptions.DrainDelay, then new calls are refused and
// in-flight ones get up to grace to finish before the rest are cut.
// Long-lived streams are the services' to end (the feed ends its streams
// with UNAVAILABLE when its context ends, so that clients resume them on
// another instance).
func (s *Server) Serve(ctx context.Context, lis net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Server.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Health.Shutdown()
	if s.drain > 0 {
		t := time.NewTimer(s.drain)
		select {
		case err := <-errc:
			t.Stop()
			return err
		case <-t.C:
		}
	}
	for _, l := range s.locals {
		l.ch.Store(nil)
	}
	done := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		s.log.Warn("graceful stop timed out; closing remaining calls")
		s.Stop()
		<-done
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// serviceConfig balances calls round robin over the addresses a target
// resolves to, and watches each instance's grpc.health.v1 status: an
// instance that is draining (NOT_SERVING) gets no new calls. A server
// without a health service counts as healthy.
const serviceConfig = `{"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":""}}`

// Dial opens a client connection to an Accord service at addr: a gRPC
// target (host:port, dns:///name), or several host:port addresses
// separated by commas, the instances of one service. Connections are lazy:
// the first call connects and failed connections are retried.
func Dial(addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	base := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(traceFilter)),
	}
	target := addr
	if strings.Contains(addr, ",") {
		var st resolver.State
		for _, a := range strings.Split(addr, ",") {
			if a = strings.TrimSpace(a); a != "" {
				st.Endpoints = append(st.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{{Addr: a}}})
			}
		}
		if len(st.Endpoints) == 0 {
			return nil, fmt.Errorf("no address in %q", addr)
		}
		// A resolver of this connection's own: the list is fixed.
		r := manual.NewBuilderWithScheme("accord-list")
		r.InitialState(st)
		base = append(base, grpc.WithResolvers(r))
		target = "accord-list:///instances"
	}
	return grpc.NewClient(target, append(base, opts...)...)
}
