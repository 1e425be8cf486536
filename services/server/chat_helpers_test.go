package server_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/feed"
	"github.com/accordchat/accord/services/server/internal/grpcapi"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// unimpl sits one level deeper than ChatAPI so its methods lose, as the
// service package does with GuildAPI.
type unimpl struct {
	serverv1.UnimplementedServerServiceServer
}

type chatOnly struct {
	unimpl
	*grpcapi.ChatAPI
}

type feedOnly struct {
	feedUnimpl
	*grpcapi.ChatAPI
}

type feedUnimpl struct {
	eventsv1.UnimplementedEventServiceServer
}

type feedInternalOnly struct {
	feedInternalUnimpl
	*grpcapi.ChatAPI
}

type feedInternalUnimpl struct {
	eventsv1.UnimplementedEventInternalServiceServer
}

// client is one instance's ServerService and its EventService (the feed).
type client struct {
	serverv1.ServerServiceClient
	eventsv1.EventServiceClient
	eventsv1.EventInternalServiceClient
}

// world is a test's chat deployment: one database and Redis, any number of
// ChatAPI instances, fixtures written straight into the guild collections.
type world struct {
	t      testing.TB
	env    *platformtest.Env
	db     *backend
	names  *chat.StaticNames
	opts   server.Options
	log    *events.Log
	tokens map[string]string
	mu     sync.Mutex
	// rdb, when set, is the instances' Redis client instead of env.Redis.
	rdb *redis.Client
}

type worldOpt func(*server.Options)

func newWorld(t testing.TB, opts ...worldOpt) *world {
	env := platformtest.New(t)
	w := &world{t: t, env: env, db: newBackend(t, env), names: chat.NewStaticNames(), tokens: map[string]string{}}
	cfg := chat.DefaultConfig()
	cfg.RateLimit = 0
	cfg.TypingEvery = 0 // tests poke typing to see a stream go live
	fo := feed.DefaultOptions()
	w.opts = server.Options{Names: w.names, Chat: &cfg, Feed: &fo, Events: env.Events, Users: newMemUsers()}
	for _, o := range opts {
		o(&w.opts)
	}
	w.log = w.opts.Events
	return w
}

// instance starts one ChatAPI with its feed reader and returns a client.
func (w *world) instance() client {
	c, _ := w.instanceAPI()
	return c
}

func (w *world) instanceAPI() (client, *grpcapi.ChatAPI) {
	c, api, _ := w.instanceStoppable()
	return c, api
}

// instanceStoppable is instanceAPI that also returns a function stopping
// the instance's background work (its feed reader), as a shutdown does,
// while its gRPC server keeps serving.
func (w *world) instanceStoppable() (client, *grpcapi.ChatAPI, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	d := w.env.Deps("server")
	if w.rdb != nil {
		d.Redis = w.rdb
	}
	svc, err := server.NewWithOptions(ctx, d, w.opts)
	if err != nil {
		w.t.Fatal(err)
	}
	api := svc.ChatAPI()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Run(ctx)
	}()
	conn := w.env.Serve(func(s *grpc.Server) {
		serverv1.RegisterServerServiceServer(s, chatOnly{ChatAPI: api})
		eventsv1.RegisterEventServiceServer(s, feedOnly{ChatAPI: api})
		eventsv1.RegisterEventInternalServiceServer(s, feedInternalOnly{ChatAPI: api})
	})
	stop := func() { cancel(); <-done }
	w.t.Cleanup(stop)
	return client{serverv1.NewServerServiceClient(conn), eventsv1.NewEventServiceClient(conn), eventsv1.NewEventInternalServiceClient(conn)}, api, stop
}

func (w *world) user(name string) string {
	id := platformtest.NewID()
	w.names.Set(id, name)
	w.mu.Lock()
	w.tokens[id] = w.env.UserToken(id)
	w.mu.Unlock()
	return id
}

func (w *world) ctx(userID string) context.Context {
	w.mu.Lock()
	tok := w.tokens[userID]
	w.mu.Unlock()
	return w.env.Ctx(tok)
}

func (w *world) server(ownerID string) string {
	id := ids.New()
	if err := w.db.Guild.CreateServer(context.Background(), guild.Server{ID: id, Name: "s", Kind: guild.KindGuild, OwnerID: ownerID, CreatedAt: time.Now()}); err != nil {
		w.t.Fatal(err)
	}
	w.member(id, ownerID, serverv1.Role_ROLE_OWNER)
	return id
}

func (w *world) member(serverID, userID string, role serverv1.Role) {
	m := guild.Member{ID: ids.New(), ServerID: serverID, UserID: userID, Role: guild.Role(role), JoinedAt: time.Now()}
	if err := w.db.Guild.CreateMember(context.Background(), m, guild.KindGuild); err != nil {
		w.t.Fatal(err)
	}
}

// kick does what the guild half does on RemoveMember.
func (w *world) kick(serverID, userID string) {
	ctx := context.Background()
	m, err := w.db.Guild.Member(ctx, serverID, userID)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.db.Guild.DeleteMember(ctx, serverID, userID, m.Role); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.log.Append(ctx, events.UserScope(userID), &eventsv1.Event{Payload: &eventsv1.Event_ServerLeft{ServerLeft: &eventsv1.ServerLeft{ServerId: serverID, Reason: "kicked"}}}); err != nil {
		w.t.Fatal(err)
	}
}

// join does what the guild half does on AcceptInvite.
func (w *world) join(serverID, userID string) {
	w.member(serverID, userID, serverv1.Role_ROLE_MEMBER)
	if _, err := w.log.Append(context.Background(), events.UserScope(userID), &eventsv1.Event{Payload: &eventsv1.Event_ServerJoined{ServerJoined: &serverv1.Server{Id: serverID}}}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) channel(serverID string) string {
	id := ids.New()
	if err := w.db.Guild.CreateChannel(context.Background(), guild.Channel{ID: id, ServerID: serverID, Name: "c" + id[18:], CreatedAt: time.Now()}); err != nil {
		w.t.Fatal(err)
	}
	return id
}

// store writes messages straight into the store, as sends would have.
func (w *world) store(ms ...chat.Message) {
	w.t.Helper()
	for _, m := range ms {
		if err := w.db.Messages.CreateMessage(context.Background(), m); err != nil {
			w.t.Fatal(err)
		}
	}
}

// stream collects one StreamEvents call's events in the background.
type stream struct {
	mu     sync.Mutex
	events []*eventsv1.Event
	err    error
	done   chan struct{}
	cancel context.CancelFunc
}

// streamCtx is the caller's credentials without the one-minute limit of
// w.ctx: streams of the long tests outlive it.
func (w *world) streamCtx(userID string) context.Context {
	w.mu.Lock()
	tok := w.tokens[userID]
	w.mu.Unlock()
	return auth.WithBearer(context.Background(), tok)
}

func openStream(t testing.TB, c eventsv1.EventServiceClient, ctx context.Context, cursors ...*eventsv1.Cursor) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	st, err := c.StreamEvents(ctx, &eventsv1.StreamEventsRequest{Cursors: cursors})
	if err != nil {
		t.Fatal(err)
	}
	s := &stream{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.done)
		for {
			r, err := st.Recv()
			if err != nil {
				s.mu.Lock()
				if !errors.Is(err, io.EOF) {
					s.err = err
				}
				s.mu.Unlock()
				return
			}
			s.mu.Lock()
			s.events = append(s.events, r.GetEvent())
			s.mu.Unlock()
		}
	}()
	return s
}

// ended returns why the stream ended, if it has.
func (s *stream) ended() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *stream) snapshot() []*eventsv1.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*eventsv1.Event(nil), s.events...)
}

// created returns the ids of message_created events received, in order.
func (s *stream) created() []*serverv1.Message {
	var out []*serverv1.Message
	for _, e := range s.snapshot() {
		if m := e.GetMessageCreated(); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// stop ends the stream and returns the last cursor seen per scope.
func (s *stream) stop() map[string]string {
	s.cancel()
	<-s.done
	cur := map[string]string{}
	for _, e := range s.snapshot() {
		if e.GetCursor() != "" {
			cur[e.GetScope()] = e.GetCursor()
		}
	}
	return cur
}

// ping appends a harmless event to the user's scope.
func (w *world) ping(userID, tag string) {
	if _, err := w.log.Append(context.Background(), events.UserScope(userID), &eventsv1.Event{
		Payload: &eventsv1.Event_RelationshipRemoved{RelationshipRemoved: &eventsv1.RelationshipRemoved{UserId: tag}}}); err != nil {
		w.t.Fatal(err)
	}
}

// awaitPing waits for a ping with tag: the stream has then subscribed to
// every scope it started with.
// Pings are repeated because a stream without cursors starts live: one
// appended before it subscribed is rightly never delivered.
func (s *stream) awaitPing(t testing.TB, w *world, userID, tag string) {
	t.Helper()
	platformtest.Eventually(t, 15*time.Second, func() bool {
		for _, e := range s.snapshot() {
			if e.GetRelationshipRemoved().GetUserId() == tag {
				return true
			}
		}
		w.ping(userID, tag)
		return false
	}, "ping", tag)
}

// awaitLive waits until the stream delivers something after opening, by
// sending typing from another member: StreamEvents has then subscribed.
func awaitLive(t testing.TB, s *stream, poke func()) {
	t.Helper()
	platformtest.Eventually(t, 10*time.Second, func() bool {
		for _, e := range s.snapshot() {
			if e.GetTyping() != nil {
				return true
			}
		}
		poke()
		return false
	}, "the stream to go live")
}

func cursors(m map[string]string) []*eventsv1.Cursor {
	var out []*eventsv1.Cursor
	for s, p := range m {
		out = append(out, &eventsv1.Cursor{Scope: s, Position: p})
	}
	return out
}

// fieldOf returns the code and the first field violation of err.
func fieldOf(err error) (codes.Code, string) {
	st := status.Convert(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return st.Code(), br.GetFieldViolations()[0].GetField()
		}
	}
	return st.Code(), ""
}

// history pages through the whole channel, newest first.
func history(t testing.TB, c serverv1.ServerServiceClient, ctx context.Context, channelID string) []*serverv1.Message {
	t.Helper()
	var out []*serverv1.Message
	before := ""
	for {
		r, err := c.ListMessages(ctx, &serverv1.ListMessagesRequest{ChannelId: channelID, PageSize: 100, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.GetMessages()...)
		if !r.GetHasMore() {
			return out
		}
		before = r.GetMessages()[len(r.GetMessages())-1].GetId()
	}
}
