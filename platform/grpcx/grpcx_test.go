package grpcx_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/grpcx"
	"github.com/accordchat/accord/platform/platformtest"
)

// stub is a tiny UserService whose Register misbehaves on demand.
type stub struct {
	userv1.UnimplementedUserServiceServer
	userv1.UnimplementedUserInternalServiceServer
	eventsv1.UnimplementedEventServiceServer
	calls atomic.Int64
}

func (s *stub) Register(ctx context.Context, req *userv1.RegisterRequest) (*userv1.RegisterResponse, error) {
	s.calls.Add(1)
	switch req.GetLogin() {
	case "panics":
		panic("secret panic text")
	case "fails":
		return nil, errors.New("secret database detail")
	case "taken":
		return nil, errs.AlreadyExists("login taken").WithReason("LOGIN_TAKEN")
	case "limited":
		return nil, errs.ResourceExhausted(3*time.Second, "too many attempts")
	}
	return &userv1.RegisterResponse{User: &userv1.User{Login: req.GetLogin()}}, nil
}

func (s *stub) GetCurrentUser(ctx context.Context, _ *userv1.GetCurrentUserRequest) (*userv1.GetCurrentUserResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	return &userv1.GetCurrentUserResponse{User: &userv1.User{Id: p.UserID}}, nil
}

func (s *stub) CheckRelationships(ctx context.Context, _ *userv1.CheckRelationshipsRequest) (*userv1.CheckRelationshipsResponse, error) {
	return &userv1.CheckRelationshipsResponse{}, nil
}

func (s *stub) StreamEvents(_ *eventsv1.StreamEventsRequest, stream grpc.ServerStreamingServer[eventsv1.StreamEventsResponse]) error {
	p, err := auth.User(stream.Context())
	if err != nil {
		return err
	}
	if err := stream.Send(&eventsv1.StreamEventsResponse{Event: &eventsv1.Event{Scope: "user:" + p.UserID}}); err != nil {
		return err
	}
	// Marshaled once, sent twice: as the feed fans an event out.
	shared, err := grpcx.Encode(&eventsv1.StreamEventsResponse{Event: &eventsv1.Event{Scope: "server:s1", Cursor: "7-0"}})
	if err != nil {
		return err
	}
	for range 2 {
		if err := stream.SendMsg(shared); err != nil {
			return err
		}
	}
	return nil
}

// transports are the two ways a service is called: over TCP (another
// process) and in process (grpcx.Local, the all-in-one's services calling
// each other). Both must behave alike.
var transports = []struct {
	name  string
	local bool
}{{"tcp", false}, {"in process", true}}

func start(t testing.TB, local bool) (*platformtest.Env, *stub, grpc.ClientConnInterface) {
	env := platformtest.New(t)
	s := &stub{}
	register := func(gs grpc.ServiceRegistrar) {
		userv1.RegisterUserServiceServer(gs, s)
		userv1.RegisterUserInternalServiceServer(gs, s)
		eventsv1.RegisterEventServiceServer(gs, s)
	}
	open := []string{userv1.UserService_Register_FullMethodName, userv1.UserService_Login_FullMethodName}
	if local {
		return env, s, env.ServeLocal(register, open...)
	}
	return env, s, env.Serve(func(gs *grpc.Server) { register(gs) }, open...)
}

func TestValidationNamesTheField(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			env, s, conn := start(t, tr.local)
			c := userv1.NewUserServiceClient(conn)
			_, err := c.Register(env.Ctx(""), &userv1.RegisterRequest{Login: "", Password: "long enough password"})
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("code = %v, want InvalidArgument", st.Code())
			}
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						fields = append(fields, v.GetField())
					}
				}
			}
			if len(fields) == 0 || fields[0] != "login" || !strings.Contains(st.Message(), "login") {
				t.Fatalf("fields = %v, message %q", fields, st.Message())
			}
			if n := s.calls.Load(); n != 0 {
				t.Fatalf("handler ran %d times on invalid input", n)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			env, _, conn := start(t, tr.local)
			c := userv1.NewUserServiceClient(conn)
			other := platformtest.New(t) // different signing key
			expired, _, _ := env.Signer.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }).UserToken("u1", "s1", false, time.Minute)
			tests := []struct {
				name   string
				token  string
				code   codes.Code
				reason string
			}{
				{"no token", "", codes.Unauthenticated, "TOKEN_MISSING"},
				{"malformed", "abc.def", codes.Unauthenticated, "TOKEN_INVALID"},
				{"wrong signer", other.UserToken("u1"), codes.Unauthenticated, "TOKEN_INVALID"},
				{"expired", expired, codes.Unauthenticated, "TOKEN_EXPIRED"},
				{"valid", env.UserToken("u1"), codes.OK, ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					res, err := c.GetCurrentUser(env.Ctx(tt.token), &userv1.GetCurrentUserRequest{})
					if got := status.Code(err); got != tt.code {
						t.Fatalf("code = %v, want %v (%v)", got, tt.code, err)
					}
					if tt.code == codes.OK {
						if res.GetUser().GetId() != "u1" {
							t.Fatalf("principal not passed: %v", res)
						}
						return
					}
					if r := reason(err); r != tt.reason {
						t.Fatalf("reason = %q, want %q", r, tt.reason)
					}
				})
			}
			t.Run("stream without token", func(t *testing.T) {
				s, err := eventsv1.NewEventServiceClient(conn).StreamEvents(env.Ctx(""), &eventsv1.StreamEventsRequest{})
				if err == nil {
					_, err = s.Recv()
				}
				if status.Code(err) != codes.Unauthenticated {
					t.Fatalf("got %v", err)
				}
			})
			t.Run("stream with token", func(t *testing.T) {
				s, err := eventsv1.NewEventServiceClient(conn).StreamEvents(env.Ctx(env.UserToken("u2")), &eventsv1.StreamEventsRequest{})
				if err != nil {
					t.Fatal(err)
				}
				res, err := s.Recv()
				if err != nil || res.GetEvent().GetScope() != "user:u2" {
					t.Fatalf("got %v, %v", res, err)
				}
				for i := range 2 {
					res, err := s.Recv()
					if err != nil || res.GetEvent().GetScope() != "server:s1" || res.GetEvent().GetCursor() != "7-0" {
						t.Fatalf("pre-encoded message %d: got %v, %v", i, res, err)
					}
				}
			})
			t.Run("open method needs no token", func(t *testing.T) {
				if _, err := c.Register(env.Ctx(""), &userv1.RegisterRequest{Login: "alice", Password: "long enough password"}); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("only the methods a server declares open are", func(t *testing.T) {
				closed := env.Serve(func(gs *grpc.Server) { userv1.RegisterUserServiceServer(gs, &stub{}) })
				_, err := userv1.NewUserServiceClient(closed).Register(env.Ctx(""), &userv1.RegisterRequest{Login: "bob", Password: "long enough password"})
				if status.Code(err) != codes.Unauthenticated {
					t.Fatalf("Register without a token on a server that does not declare it open: got %v, want UNAUTHENTICATED", err)
				}
				hc := healthpb.NewHealthClient(closed)
				if _, err := hc.Check(env.Ctx(""), &healthpb.HealthCheckRequest{}); err != nil {
					t.Fatalf("health check without a token: %v", err)
				}
			})
		})
	}
}

func TestRevokedSessionRefused(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			env, _, conn := start(t, tr.local)
			c := userv1.NewUserServiceClient(conn)
			tok, _, _ := env.Signer.UserToken("u1", "sess-1", false, time.Minute)
			if _, err := c.GetCurrentUser(env.Ctx(tok), &userv1.GetCurrentUserRequest{}); err != nil {
				t.Fatal(err)
			}
			if err := env.Revocations.Revoke(env.Ctx(""), "sess-1", time.Minute); err != nil {
				t.Fatal(err)
			}
			_, err := c.GetCurrentUser(env.Ctx(tok), &userv1.GetCurrentUserRequest{})
			if status.Code(err) != codes.Unauthenticated || reason(err) != "SESSION_REVOKED" {
				t.Fatalf("got %v", err)
			}
			// On an internal method the ended session is the answer, not the role.
			_, err = userv1.NewUserInternalServiceClient(conn).CheckRelationships(env.Ctx(tok),
				&userv1.CheckRelationshipsRequest{UserId: platformtest.NewID(), OtherIds: []string{platformtest.NewID()}})
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("internal method with an ended session: %v", err)
			}
			// Open methods ignore a stale token: signing in again must work.
			if _, err := c.Register(env.Ctx(tok), &userv1.RegisterRequest{Login: "again", Password: "long enough password"}); err != nil {
				t.Fatalf("open method with an ended session: %v", err)
			}
		})
	}
}

func TestInternalMethodsNeedServiceToken(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			env, _, conn := start(t, tr.local)
			c := userv1.NewUserInternalServiceClient(conn)
			req := &userv1.CheckRelationshipsRequest{UserId: platformtest.NewID(), OtherIds: []string{platformtest.NewID()}}
			if _, err := c.CheckRelationships(env.Ctx(""), req); status.Code(err) != codes.Unauthenticated {
				t.Errorf("no token: %v", err)
			}
			if _, err := c.CheckRelationships(env.Ctx(env.UserToken("u1")), req); status.Code(err) != codes.PermissionDenied {
				t.Errorf("user token: %v", err)
			}
			if _, err := c.CheckRelationships(env.Ctx(""), req, grpc.PerRPCCredentials(auth.NewServiceCredentials(env.ServiceSigner, "server"))); err != nil {
				t.Errorf("service token: %v", err)
			}
		})
	}
}

func TestErrorsAreMapped(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			env, _, conn := start(t, tr.local)
			c := userv1.NewUserServiceClient(conn)
			call := func(login string) error {
				_, err := c.Register(env.Ctx(""), &userv1.RegisterRequest{Login: login, Password: "long enough password"})
				return err
			}
			t.Run("panic becomes INTERNAL without its text", func(t *testing.T) {
				err := call("panics")
				if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "secret") {
					t.Fatalf("got %v", err)
				}
				if err := call("alice"); err != nil {
					t.Fatalf("server unusable after a panic: %v", err)
				}
			})
			t.Run("unknown error is masked", func(t *testing.T) {
				err := call("fails")
				if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "ref ") {
					t.Fatalf("got %v", err)
				}
			})
			t.Run("domain error keeps code and reason", func(t *testing.T) {
				err := call("taken")
				if status.Code(err) != codes.AlreadyExists || reason(err) != "LOGIN_TAKEN" {
					t.Fatalf("got %v", err)
				}
			})
			t.Run("rate limit carries the retry delay", func(t *testing.T) {
				err := call("limited")
				var delay time.Duration
				for _, d := range status.Convert(err).Details() {
					if ri, ok := d.(*errdetails.RetryInfo); ok {
						delay = ri.GetRetryDelay().AsDuration()
					}
				}
				if status.Code(err) != codes.ResourceExhausted || delay != 3*time.Second {
					t.Fatalf("got %v, delay %v", err, delay)
				}
			})
		})
	}
}

func TestEnvsAreIsolated(t *testing.T) {
	a, b := platformtest.New(t), platformtest.New(t)
	if a.DB.Name() == b.DB.Name() || a.Prefix == b.Prefix {
		t.Fatalf("shared names: %s/%s %s/%s", a.DB.Name(), b.DB.Name(), a.Prefix, b.Prefix)
	}
	ctx := a.Ctx("")
	if _, err := a.DB.Collection("things").InsertOne(ctx, bson.D{{Key: "x", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.DB.Collection("things").CountDocuments(ctx, bson.D{}); err != nil || n != 0 {
		t.Fatalf("b sees a's documents: %d %v", n, err)
	}
	a.Redis.Set(ctx, a.Prefix+"k", "a", time.Minute)
	if v, _ := b.Redis.Get(ctx, b.Prefix+"k").Result(); v != "" {
		t.Fatalf("b sees a's key: %q", v)
	}
}

func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}

func TestLocalBeforeServing(t *testing.T) {
	env := platformtest.New(t)
	l := &grpcx.Local{}
	if _, err := healthpb.NewHealthClient(l).Check(env.Ctx(""), &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("call before the server serves: got %v, want UNAVAILABLE", err)
	}
	if _, err := eventsv1.NewEventServiceClient(l).StreamEvents(env.Ctx(""), &eventsv1.StreamEventsRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("stream before the server serves: got %v, want UNAVAILABLE", err)
	}
	gs, err := grpcx.NewServer(grpcx.ServerOptions{Log: env.Log, Auth: &grpcx.Authenticator{Verifier: env.Verifier, Revocations: env.Revocations}})
	if err != nil {
		t.Fatal(err)
	}
	gs.ServeLocal(l)
	res, err := healthpb.NewHealthClient(l).Check(env.Ctx(""), &healthpb.HealthCheckRequest{})
	if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health in process: %v, %v", res, err)
	}
	// A draining server answers NOT_SERVING in process too.
	gs.Health.Shutdown()
	if res, err := healthpb.NewHealthClient(l).Check(env.Ctx(""), &healthpb.HealthCheckRequest{}); err != nil || res.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health after shutdown: %v, %v", res, err)
	}
	// Once Serve stops, new calls in process are refused as over TCP.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := gs.Serve(ctx, lis, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := healthpb.NewHealthClient(l).Check(env.Ctx(""), &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("call after the server stopped: got %v, want UNAVAILABLE", err)
	}
}

// BenchmarkCall is one authenticated unary call (the user's token checked,
// the request validated) over each transport: what a hop between two
// services costs the all-in-one.
//
//	go test -run '^$' -bench Call -benchtime 20000x ./grpcx/
func BenchmarkCall(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			env, _, conn := start(b, tr.local)
			c := userv1.NewUserServiceClient(conn)
			ctx := env.Ctx(env.UserToken("u1"))
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			for b.Loop() {
				if _, err := c.GetCurrentUser(ctx, &userv1.GetCurrentUserRequest{}); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time, client and server together: on a busy machine the
			// wall time per call is mostly waiting for a core.
			b.ReportMetric(float64(processCPU()-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU is the user+system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// raw receives a stream's messages as their encoding, as a client with a
// codec of its own does (the gateway renders feed events from the bytes).
type raw struct{ b []byte }

func (r *raw) UnmarshalWire(b []byte) error {
	r.b = append(r.b[:0], b...)
	return nil
}

func TestWireMessageInProcess(t *testing.T) {
	env, _, conn := start(t, true)
	desc := &grpc.StreamDesc{ServerStreams: true}
	st, err := conn.NewStream(env.Ctx(env.UserToken("u3")), desc, eventsv1.EventService_StreamEvents_FullMethodName)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SendMsg(&eventsv1.StreamEventsRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	// The first message is sent as a message, the next two pre-encoded.
	for i, want := range []string{"user:u3", "server:s1", "server:s1"} {
		var r raw
		if err := st.RecvMsg(&r); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		var res eventsv1.StreamEventsResponse
		if err := proto.Unmarshal(r.b, &res); err != nil || res.GetEvent().GetScope() != want {
			t.Fatalf("message %d: %v, %v; want scope %s", i, &res, err, want)
		}
	}
}
