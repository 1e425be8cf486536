package gateway

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	searchv1 "github.com/accordchat/accord/gen/accord/search/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/peers"
	"github.com/accordchat/accord/platform/platformtest"
)

// The fakes below stand in for the services in the gateway's own tests, so
// that the WebSocket's edge cases (broken streams, slow clients, refused
// tokens) can be driven exactly. They run behind the real interceptor chain
// (token checks, validation). The end-to-end test uses the real services.

type fakeUser struct {
	userv1.UnimplementedUserServiceServer
	env *platformtest.Env

	mu  sync.Mutex
	xff []string // x-forwarded-for metadata seen by Register
}

func (f *fakeUser) GetCurrentUser(ctx context.Context, _ *userv1.GetCurrentUserRequest) (*userv1.GetCurrentUserResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	return &userv1.GetCurrentUserResponse{User: &userv1.User{Id: p.UserID, Login: "u" + p.UserID[:6], DisplayName: "User"}}, nil
}

func (f *fakeUser) Register(ctx context.Context, r *userv1.RegisterRequest) (*userv1.RegisterResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.xff = md.Get("x-forwarded-for")
	f.mu.Unlock()
	if r.GetLogin() == "taken" {
		return nil, errs.AlreadyExists("login %q is taken", r.GetLogin()).WithReason("LOGIN_TAKEN")
	}
	return &userv1.RegisterResponse{User: &userv1.User{Id: platformtest.NewID(), Login: r.GetLogin()}}, nil
}

func (f *fakeUser) Login(ctx context.Context, r *userv1.LoginRequest) (*userv1.LoginResponse, error) {
	return nil, errs.ResourceExhausted(1500*time.Millisecond, "too many attempts").WithReason("LOGIN_RATE_LIMITED")
}

// fakeServer serves StreamEvents from events pushed by the test.
type fakeServer struct {
	serverv1.UnimplementedServerServiceServer
	eventsv1.UnimplementedEventServiceServer

	mu       sync.Mutex
	subs     map[chan *eventsv1.Event]struct{}
	requests []*eventsv1.StreamEventsRequest
	typing   []string
	marks    []string
	log      []*eventsv1.Event // every event published, in order
	breakAll *streamBreak
	servers  []string // what ListServers lists; nil makes it fail
	// hold, when set, keeps streams from subscribing until it is closed;
	// opened counts the streams opened.
	hold   chan struct{}
	opened int
}

func newFakeServer() *fakeServer {
	return &fakeServer{subs: map[chan *eventsv1.Event]struct{}{}, breakAll: newStreamBreak()}
}

// streamBreak ends every stream opened before it is closed, with err.
type streamBreak struct {
	done chan struct{}
	err  error
}

func newStreamBreak() *streamBreak { return &streamBreak{done: make(chan struct{})} }

// publish appends an event with the next cursor of its scope and sends it
// to every live stream.
func (f *fakeServer) publish(ev *eventsv1.Event) *eventsv1.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.log {
		if e.GetScope() == ev.GetScope() {
			n++
		}
	}
	// Cursors look like Redis stream ids (milliseconds-sequence) and sort
	// as strings.
	ev.Cursor = fmt.Sprintf("%013d-%06d", time.Now().UnixMilli(), n+1)
	f.log = append(f.log, ev)
	for c := range f.subs {
		c <- ev
	}
	return ev
}

// cut breaks every live stream with UNAVAILABLE.
func (f *fakeServer) cut() { f.cutWith(status.Error(codes.Unavailable, "stream cut")) }

// cutWith ends every live stream with err.
func (f *fakeServer) cutWith(err error) {
	f.mu.Lock()
	old := f.breakAll
	f.breakAll = newStreamBreak()
	old.err = err
	f.mu.Unlock()
	close(old.done)
}

func (f *fakeServer) streams() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

func (f *fakeServer) StreamEvents(r *eventsv1.StreamEventsRequest, ss grpc.ServerStreamingServer[eventsv1.StreamEventsResponse]) error {
	if _, err := auth.User(ss.Context()); err != nil {
		return err
	}
	for _, c := range r.GetCursors() {
		if c.GetPosition() == "bad" {
			return errs.Invalid("cursors", "bad position")
		}
	}
	c := make(chan *eventsv1.Event, 10000)
	f.mu.Lock()
	f.requests = append(f.requests, r)
	after := map[string]string{}
	for _, cur := range r.GetCursors() {
		after[cur.GetScope()] = cur.GetPosition()
	}
	var replay []*eventsv1.Event
	for _, e := range f.log {
		if pos, ok := after[e.GetScope()]; ok && e.GetCursor() > pos {
			replay = append(replay, e)
		}
	}
	brk := f.breakAll
	hold := f.hold
	f.opened++
	if hold == nil {
		f.subs[c] = struct{}{}
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.subs, c)
		f.mu.Unlock()
	}()
	if hold != nil {
		// Not subscribed yet, as a server still adding the user's scopes:
		// events published meanwhile do not reach this stream.
		select {
		case <-hold:
		case <-ss.Context().Done():
			return nil
		}
		f.mu.Lock()
		f.subs[c] = struct{}{}
		f.mu.Unlock()
	}
	// As the server does: the header confirms the subscription.
	if err := ss.SendHeader(nil); err != nil {
		return err
	}
	for _, e := range replay {
		if err := ss.Send(&eventsv1.StreamEventsResponse{Event: e}); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ss.Context().Done():
			return nil
		case <-brk.done:
			return brk.err
		case e := <-c:
			if err := ss.Send(&eventsv1.StreamEventsResponse{Event: e}); err != nil {
				return err
			}
		}
	}
}

func (f *fakeServer) SendTyping(ctx context.Context, r *serverv1.SendTypingRequest) (*serverv1.SendTypingResponse, error) {
	if r.GetChannelId() == "000000000000000000000000" {
		return nil, errs.NotFound("channel not found")
	}
	f.mu.Lock()
	f.typing = append(f.typing, r.GetChannelId())
	f.mu.Unlock()
	return &serverv1.SendTypingResponse{}, nil
}

func (f *fakeServer) MarkRead(ctx context.Context, r *serverv1.MarkReadRequest) (*serverv1.MarkReadResponse, error) {
	f.mu.Lock()
	f.marks = append(f.marks, r.GetChannelId()+"/"+r.GetMessageId())
	f.mu.Unlock()
	return &serverv1.MarkReadResponse{}, nil
}

func (f *fakeServer) GetServer(ctx context.Context, r *serverv1.GetServerRequest) (*serverv1.GetServerResponse, error) {
	return nil, errs.NotFound("server not found")
}

func (f *fakeServer) CreateServer(ctx context.Context, r *serverv1.CreateServerRequest) (*serverv1.CreateServerResponse, error) {
	return &serverv1.CreateServerResponse{Server: &serverv1.Server{Id: platformtest.NewID(), Name: r.GetName()}}, nil
}

func (f *fakeServer) DeleteServer(ctx context.Context, r *serverv1.DeleteServerRequest) (*serverv1.DeleteServerResponse, error) {
	return nil, errs.PermissionDenied("only the owner may delete a server")
}

func (f *fakeServer) ListServers(ctx context.Context, r *serverv1.ListServersRequest) (*serverv1.ListServersResponse, error) {
	f.mu.Lock()
	ids := f.servers
	f.mu.Unlock()
	if ids != nil {
		res := &serverv1.ListServersResponse{}
		for _, id := range ids {
			res.Servers = append(res.Servers, &serverv1.Server{Id: id})
		}
		return res, nil
	}
	// An error that is not a domain error: the service masks it.
	return nil, context.DeadlineExceeded
}

// fakePresence records sessions and serves WatchPresence.
type fakePresence struct {
	presencev1.UnimplementedPresenceServiceServer
	interval time.Duration

	mu         sync.Mutex
	open       map[string]string // session -> user
	heartbeats int
	statuses   []presencev1.Status
	changes    chan *presencev1.Presence
	// openDelay makes OpenSession a slow upstream call.
	openDelay time.Duration
	// opened is when OpenSession last answered.
	opened time.Time
}

func newFakePresence(interval time.Duration) *fakePresence {
	return &fakePresence{interval: interval, open: map[string]string{}, changes: make(chan *presencev1.Presence, 100)}
}

func (f *fakePresence) sessions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.open)
}

func (f *fakePresence) lastOpened() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opened
}

func (f *fakePresence) OpenSession(ctx context.Context, r *presencev1.OpenSessionRequest) (*presencev1.OpenSessionResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	id := "s" + platformtest.RandomHex(8)
	f.mu.Lock()
	delay := f.openDelay
	f.mu.Unlock()
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	f.open[id] = p.UserID
	f.opened = time.Now()
	f.mu.Unlock()
	return &presencev1.OpenSessionResponse{SessionId: id, HeartbeatInterval: durationpb.New(f.interval)}, nil
}

func (f *fakePresence) Heartbeat(ctx context.Context, r *presencev1.HeartbeatRequest) (*presencev1.HeartbeatResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.open[r.GetSessionId()]; !ok {
		return nil, errs.NotFound("no such session")
	}
	f.heartbeats++
	return &presencev1.HeartbeatResponse{}, nil
}

func (f *fakePresence) CloseSession(ctx context.Context, r *presencev1.CloseSessionRequest) (*presencev1.CloseSessionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.open, r.GetSessionId())
	return &presencev1.CloseSessionResponse{}, nil
}

func (f *fakePresence) SetStatus(ctx context.Context, r *presencev1.SetStatusRequest) (*presencev1.SetStatusResponse, error) {
	f.mu.Lock()
	f.statuses = append(f.statuses, r.GetStatus())
	f.mu.Unlock()
	return &presencev1.SetStatusResponse{}, nil
}

func (f *fakePresence) WatchPresence(r *presencev1.WatchPresenceRequest, ss grpc.ServerStreamingServer[presencev1.WatchPresenceResponse]) error {
	var snap []*presencev1.Presence
	for _, id := range r.GetUserIds() {
		snap = append(snap, &presencev1.Presence{UserId: id, Status: presencev1.Status_STATUS_OFFLINE, UpdateTime: timestamppb.New(time.Unix(1, 0))})
	}
	if err := ss.Send(&presencev1.WatchPresenceResponse{Snapshot: true, Presences: snap}); err != nil {
		return err
	}
	for {
		select {
		case <-ss.Context().Done():
			return nil
		case p := <-f.changes:
			if err := ss.Send(&presencev1.WatchPresenceResponse{Presences: []*presencev1.Presence{p}}); err != nil {
				return err
			}
		}
	}
}

type fakeStats struct {
	statsv1.UnimplementedStatsServiceServer
}

func (fakeStats) GetChart(ctx context.Context, r *statsv1.GetChartRequest) (*httpbody.HttpBody, error) {
	return &httpbody.HttpBody{ContentType: "image/svg+xml", Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)}, nil
}

// fakeWorld is a gateway in front of the fakes.
type fakeWorld struct {
	env      *platformtest.Env
	user     *fakeUser
	server   *fakeServer
	follow   *fakeFollow
	presence *fakePresence
	srv      *httptest.Server
	gw       *Gateway
	cancel   context.CancelFunc
}

func newFakeWorld(t *testing.T, ws WSOptions, tweak ...func(*Options)) *fakeWorld {
	t.Helper()
	env := platformtest.New(t)
	fw := &fakeWorld{env: env, user: &fakeUser{env: env}, server: newFakeServer(), follow: newFakeFollow(), presence: newFakePresence(time.Second)}
	userConn := env.Serve(func(s *grpc.Server) { userv1.RegisterUserServiceServer(s, fw.user) },
		userv1.UserService_Register_FullMethodName, userv1.UserService_Login_FullMethodName, userv1.UserService_RefreshToken_FullMethodName)
	serverConn := env.Serve(func(s *grpc.Server) {
		serverv1.RegisterServerServiceServer(s, fw.server)
		eventsv1.RegisterEventServiceServer(s, fw.server)
		eventsv1.RegisterEventInternalServiceServer(s, fw.follow)
	})
	presenceConn := env.Serve(func(s *grpc.Server) { presencev1.RegisterPresenceServiceServer(s, fw.presence) })
	statsConn := env.Serve(func(s *grpc.Server) { statsv1.RegisterStatsServiceServer(s, fakeStats{}) })
	searchConn := env.Serve(func(s *grpc.Server) {
		searchv1.RegisterSearchServiceServer(s, searchv1.UnimplementedSearchServiceServer{})
	})
	ctx, cancel := context.WithCancel(context.Background())
	fw.cancel = cancel
	o := Options{
		Log:   env.Log,
		Peers: &peers.Conns{User: userConn, Server: serverConn, Presence: presenceConn, Stats: statsConn, Search: searchConn},
		WS:    ws,
	}
	if ws.SharedFeed {
		o.ServiceCreds = auth.NewServiceCredentials(env.ServiceSigner, "gateway")
	}
	for _, f := range tweak {
		f(&o)
	}
	h, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	fw.gw = h
	fw.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		cancel()
		fw.srv.Close()
	})
	return fw
}
