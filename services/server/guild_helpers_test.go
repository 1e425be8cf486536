package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/blobstore"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
	imongo "github.com/accordchat/accord/services/server/internal/mongo"
)

// memUsers is an in-memory guild.UserDirectory: the user service is
// another module, tested on its own.
type memUsers struct {
	mu      sync.Mutex
	byID    map[string]guild.UserInfo
	byLogin map[string]string
	friends map[string]bool
	blocked map[string]bool
}

func newMemUsers() *memUsers {
	return &memUsers{byID: map[string]guild.UserInfo{}, byLogin: map[string]string{}, friends: map[string]bool{}, blocked: map[string]bool{}}
}

func (m *memUsers) add(u guild.UserInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byID[u.ID] = u
	m.byLogin[strings.ToLower(u.Login)] = u.ID
}

func (m *memUsers) befriend(a, b string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.friends[guild.DMKey(a, b)] = true
}

func (m *memUsers) block(a, b string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.friends[guild.DMKey(a, b)] = false
	m.blocked[guild.DMKey(a, b)] = true
}

func (m *memUsers) LookupLogin(_ context.Context, login string) (guild.UserInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byLogin[strings.ToLower(login)]
	if !ok {
		return guild.UserInfo{}, errs.NotFound("user not found")
	}
	return m.byID[id], nil
}

func (m *memUsers) Users(_ context.Context, ids []string) (map[string]guild.UserInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]guild.UserInfo{}
	for _, id := range ids {
		if u, ok := m.byID[id]; ok {
			out[id] = u
		}
	}
	return out, nil
}

func (m *memUsers) Relation(_ context.Context, a, b string) (guild.Relation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, exists := m.byID[b]
	k := guild.DMKey(a, b)
	return guild.Relation{Exists: exists, Friend: m.friends[k], Blocked: m.blocked[k]}, nil
}

// harness is a guild API served through the production interceptor chain
// on real FerretDB and Redis.
type harness struct {
	t        testing.TB
	env      *platformtest.Env
	db       *backend
	users    *memUsers
	api      serverv1.ServerServiceClient
	internal serverv1.ServerInternalServiceClient
	service  context.Context // a service token's context
	n        int
	// userIDs and serverIDs are what the test made, for snapshot.
	userIDs, serverIDs []string
	blobs              *blobstore.Store
}

type acct struct {
	id, login string
	ctx       context.Context
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	env := platformtest.New(t)
	users := newMemUsers()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The blob store outlives the construction context (the default one
	// closes with it).
	blobs, err := blobstore.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = blobs.Close() })
	svc, err := server.NewWithOptions(ctx, env.Deps("server"), server.Options{Users: users, Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	g := svc.GuildAPI()
	conn := env.Serve(func(s *grpc.Server) {
		serverv1.RegisterServerServiceServer(s, g)
		serverv1.RegisterServerInternalServiceServer(s, g)
	})
	tok, _, err := env.ServiceSigner.ServiceToken("presence", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{
		t: t, env: env, db: newBackend(t, env), users: users,
		api:      serverv1.NewServerServiceClient(conn),
		internal: serverv1.NewServerInternalServiceClient(conn),
		service:  env.Ctx(tok),
		blobs:    blobs,
	}
}

func (h *harness) newUser(name string) acct {
	h.n++
	id := platformtest.NewID()
	login := fmt.Sprintf("%s%d", name, h.n)
	h.userIDs = append(h.userIDs, id)
	h.users.add(guild.UserInfo{ID: id, Login: login, DisplayName: strings.ToUpper(name)})
	return acct{id: id, login: login, ctx: h.env.Ctx(h.env.UserToken(id))}
}

func (h *harness) createServer(u acct, name string) (*serverv1.Server, *serverv1.Channel) {
	h.t.Helper()
	r, err := h.api.CreateServer(u.ctx, &serverv1.CreateServerRequest{Name: name})
	if err != nil {
		h.t.Fatalf("CreateServer: %v", err)
	}
	h.serverIDs = append(h.serverIDs, r.GetServer().GetId())
	return r.GetServer(), r.GetChannel()
}

func (h *harness) addMember(by acct, serverID string, u acct) {
	h.t.Helper()
	if _, err := h.api.AddMember(by.ctx, &serverv1.AddMemberRequest{ServerId: serverID, Login: u.login}); err != nil {
		h.t.Fatalf("AddMember %s: %v", u.login, err)
	}
}

func (h *harness) setRole(by acct, serverID string, u acct, r serverv1.Role) {
	h.t.Helper()
	if _, err := h.api.SetMemberRole(by.ctx, &serverv1.SetMemberRoleRequest{ServerId: serverID, UserId: u.id, Role: r}); err != nil {
		h.t.Fatalf("SetMemberRole: %v", err)
	}
}

// message stores a message of the user in the channel and marks it read
// by them, as a send and a mark-read would.
func (h *harness) message(serverID, channelID, userID string) {
	h.t.Helper()
	ctx := context.Background()
	m := chat.Message{ID: ids.New(), ServerID: serverID, ChannelID: channelID, AuthorID: userID, Content: "hi", CreatedAt: time.Now()}
	if err := h.db.Messages.CreateMessage(ctx, m); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.db.ReadStates.AdvanceReadMarker(ctx, chat.ReadMarker{UserID: userID, ChannelID: channelID, ServerID: serverID, LastReadID: m.ID, UpdatedAt: time.Now()}); err != nil {
		h.t.Fatal(err)
	}
}

func wantCode(t testing.TB, err error, want codes.Code, what string) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("%s: got %v (%v), want %v", what, got, err, want)
	}
}

func (h *harness) count(coll string, filter bson.D) int64 {
	h.t.Helper()
	return h.db.count(coll, filter)
}

// snapshot renders every document of the server service's collections and
// the length of every event stream of the test, to tell that a refused
// call changed nothing.
func (h *harness) snapshot() string {
	h.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, c := range []string{imongo.ServersCollection, imongo.MembersCollection, imongo.ChannelsCollection, imongo.InvitesCollection, imongo.MessagesCollection, imongo.ReadStatesCollection} {
		for _, d := range h.db.dump(c) {
			fmt.Fprintf(&b, "%s %s\n", c, d)
		}
	}
	// The streams of every user and server the test made (KEYS would walk
	// the whole shared Redis).
	log := h.env.Events
	var keys []string
	for _, id := range h.userIDs {
		keys = append(keys, log.Key(events.UserScope(id)))
	}
	for _, id := range h.serverIDs {
		keys = append(keys, log.Key(events.ServerScope(id)))
	}
	pipe := h.env.Redis.Pipeline()
	lens := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		lens[i] = pipe.XLen(ctx, k)
	}
	if len(keys) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			h.t.Fatal(err)
		}
	}
	for i, k := range keys {
		fmt.Fprintf(&b, "%s %d\n", k, lens[i].Val())
	}
	return b.String()
}

// events returns the events of a scope, oldest first.
func (h *harness) events(scope string) []*eventsv1.Event {
	h.t.Helper()
	log := h.env.Events
	msgs, err := h.env.Redis.XRange(context.Background(), log.Key(scope), "-", "+").Result()
	if err != nil {
		h.t.Fatal(err)
	}
	out := make([]*eventsv1.Event, 0, len(msgs))
	for _, m := range msgs {
		ev, err := events.Decode(scope, m)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// kinds names the payloads of events, for comparison.
func kinds(evs []*eventsv1.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e.ProtoReflect().WhichOneof(e.ProtoReflect().Descriptor().Oneofs().ByName("payload")).Name())
	}
	return out
}
