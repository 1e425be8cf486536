package grpcapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/internal/access"
	"github.com/accordchat/accord/services/server/internal/grpcapi"
	"github.com/accordchat/accord/services/server/internal/guild"
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
	users    *memUsers
	api      serverv1.ServerServiceClient
	internal serverv1.ServerInternalServiceClient
	service  context.Context // a service token's context
	n        int
	// userIDs and serverIDs are what the test made, for snapshot.
	userIDs, serverIDs []string
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
	g, err := grpcapi.NewGuildAPIWithUsers(ctx, env.Deps("server"), users)
	if err != nil {
		t.Fatal(err)
	}
	conn := env.Serve(func(s *grpc.Server) {
		serverv1.RegisterServerServiceServer(s, g)
		serverv1.RegisterServerInternalServiceServer(s, g)
	})
	tok, _, err := env.Signer.ServiceToken("presence", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{
		t: t, env: env, users: users,
		api:      serverv1.NewServerServiceClient(conn),
		internal: serverv1.NewServerInternalServiceClient(conn),
		service:  env.Ctx(tok),
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

func wantCode(t testing.TB, err error, want codes.Code, what string) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("%s: got %v (%v), want %v", what, got, err, want)
	}
}

func (h *harness) count(coll string, filter bson.D) int64 {
	h.t.Helper()
	n, err := h.env.DB.Collection(coll).CountDocuments(context.Background(), filter)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// snapshot renders every document of the server service's collections and
// the length of every event stream of the test, to tell that a refused
// call changed nothing.
func (h *harness) snapshot() string {
	h.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, c := range []string{access.Servers, access.Members, access.Channels, access.Invites, access.Messages, access.ReadStates} {
		cur, err := h.env.DB.Collection(c).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			h.t.Fatal(err)
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			h.t.Fatal(err)
		}
		for _, d := range docs {
			fmt.Fprintf(&b, "%s %s\n", c, d.String())
		}
	}
	// The streams of every user and server the test made (KEYS would walk
	// the whole shared Redis).
	log := events.NewLog(h.env.Redis, h.env.Prefix)
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
func (h *harness) events(scope string) []*serverv1.Event {
	h.t.Helper()
	log := events.NewLog(h.env.Redis, h.env.Prefix)
	msgs, err := h.env.Redis.XRange(context.Background(), log.Key(scope), "-", "+").Result()
	if err != nil {
		h.t.Fatal(err)
	}
	out := make([]*serverv1.Event, 0, len(msgs))
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
func kinds(evs []*serverv1.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e.ProtoReflect().WhichOneof(e.ProtoReflect().Descriptor().Oneofs().ByName("payload")).Name())
	}
	return out
}
