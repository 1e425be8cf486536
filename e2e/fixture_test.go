package e2e

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	searchv1 "github.com/accordchat/accord/gen/accord/search/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/suite/suitetest"
)

// clients are typed clients of every service over one stack.
type clients struct {
	user     userv1.UserServiceClient
	server   serverv1.ServerServiceClient
	events   eventsv1.EventServiceClient
	presence presencev1.PresenceServiceClient
	stats    statsv1.StatsServiceClient
	search   searchv1.SearchServiceClient
}

func newClients(s *suitetest.Stack) clients {
	return clients{
		user:     userv1.NewUserServiceClient(s.Peers.User),
		server:   serverv1.NewServerServiceClient(s.Peers.Server),
		events:   eventsv1.NewEventServiceClient(s.Peers.Server),
		presence: presencev1.NewPresenceServiceClient(s.Peers.Presence),
		stats:    statsv1.NewStatsServiceClient(s.Peers.Stats),
		search:   searchv1.NewSearchServiceClient(s.Peers.Search),
	}
}

// actor is a signed-up user.
type actor struct {
	id, login, password, token, refresh string
	// session is the id of the sign-in session the tokens belong to.
	session string
}

func (a actor) ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return auth.WithBearer(ctx, a.token)
}

func signUp(t testing.TB, c clients, login string) actor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.user.Register(ctx, &userv1.RegisterRequest{Login: login, Password: "password-" + login})
	if err != nil {
		t.Fatalf("register %s: %v", login, err)
	}
	return actor{id: res.GetUser().GetId(), login: login, password: "password-" + login,
		token: res.GetTokens().GetAccessToken(), refresh: res.GetTokens().GetRefreshToken(), session: res.GetTokens().GetSessionId()}
}

// world is the fixture the sweep aims at: a server owned by owner with an
// admin and a member, a channel, messages, an invite, a presence session.
type world struct {
	owner, admin, member, outsider actor
	serverID, channelID            string
	ownerMsgID, memberMsgID        string
	inviteCode                     string
	ownerSession                   string
	// tokens of the outsider that must all be refused
	expired, revoked, malformed string
}

func build(t testing.TB, s *suitetest.Stack, c clients) *world {
	t.Helper()
	w := &world{}
	w.owner = signUp(t, c, "owner")
	w.admin = signUp(t, c, "admin")
	w.member = signUp(t, c, "member")
	w.outsider = signUp(t, c, "outsider")
	ctx := w.owner.ctx(t)
	cs, err := c.server.CreateServer(ctx, &serverv1.CreateServerRequest{Name: "Fortress"})
	if err != nil {
		t.Fatalf("create server: %v", err)
	}
	w.serverID, w.channelID = cs.GetServer().GetId(), cs.GetChannel().GetId()
	for _, a := range []actor{w.admin, w.member} {
		if _, err := c.server.AddMember(ctx, &serverv1.AddMemberRequest{ServerId: w.serverID, Login: a.login}); err != nil {
			t.Fatalf("add member: %v", err)
		}
	}
	if _, err := c.server.SetMemberRole(ctx, &serverv1.SetMemberRoleRequest{ServerId: w.serverID, UserId: w.admin.id, Role: serverv1.Role_ROLE_ADMIN}); err != nil {
		t.Fatalf("promote: %v", err)
	}
	m, err := c.server.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: w.channelID, Content: "owner says hi"})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	w.ownerMsgID = m.GetMessage().GetId()
	m, err = c.server.SendMessage(w.member.ctx(t), &serverv1.SendMessageRequest{ChannelId: w.channelID, Content: "member says hi"})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	w.memberMsgID = m.GetMessage().GetId()
	inv, err := c.server.CreateInvite(ctx, &serverv1.CreateInviteRequest{ServerId: w.serverID, MaxUses: 10})
	if err != nil {
		t.Fatalf("invite: %v", err)
	}
	w.inviteCode = inv.GetInvite().GetCode()
	ses, err := c.presence.OpenSession(ctx, &presencev1.OpenSessionRequest{Client: "test"})
	if err != nil {
		t.Fatalf("open session: %v", err)
	}
	w.ownerSession = ses.GetSessionId()

	w.malformed = "not.a.token"
	w.expired, _, _ = s.Env.Signer.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }).UserToken(w.outsider.id, "old-session", false, time.Minute)
	lctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lr, err := c.user.Login(lctx, &userv1.LoginRequest{Login: w.outsider.login, Password: w.outsider.password})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	w.revoked = lr.GetTokens().GetAccessToken()
	if _, err := c.user.Logout(auth.WithBearer(lctx, w.revoked), &userv1.LogoutRequest{}); err != nil {
		t.Fatalf("logout: %v", err)
	}
	return w
}

// invoke calls any method by full name with req and returns the error.
func invoke(ctx context.Context, conn grpc.ClientConnInterface, method string, streaming bool, req, resp any) error {
	if !streaming {
		return conn.Invoke(ctx, method, req, resp)
	}
	// Client-streaming methods get the one request, then the end of input.
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, method)
	if err != nil {
		return err
	}
	// io.EOF from SendMsg means the server already ended the call (it may
	// refuse a caller before reading anything): its status comes from
	// RecvMsg, as for a call that was admitted.
	if err := st.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	// The first message or the error tells whether the call was admitted.
	return st.RecvMsg(resp)
}
