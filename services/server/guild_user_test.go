package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/peers"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/user"
)

// TestWithRealUserService wires the guild half to the real user service
// over gRPC: logins resolve case-insensitively with the caller's token,
// names decorate members, and friendship (checked with the service's own
// token) gates conversations.
func TestWithRealUserService(t *testing.T) {
	env := platformtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	usvc, err := user.New(ctx, env.Deps("user"))
	if err != nil {
		t.Fatal(err)
	}
	uconn := env.Serve(func(s *grpc.Server) { usvc.Register(s) }, user.OpenMethods()...)
	d := env.Deps("server")
	d.Peers = &peers.Conns{User: uconn}
	svc, err := server.NewWithOptions(ctx, d, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := svc.GuildAPI()
	sconn := env.Serve(func(s *grpc.Server) { serverv1.RegisterServerServiceServer(s, g) })
	users, api := userv1.NewUserServiceClient(uconn), serverv1.NewServerServiceClient(sconn)

	register := func(login string) (string, context.Context) {
		r, err := users.Register(env.Ctx(""), &userv1.RegisterRequest{Login: login, Password: "correct horse battery", DisplayName: "The " + login})
		if err != nil {
			t.Fatalf("register %s: %v", login, err)
		}
		return r.GetUser().GetId(), env.Ctx(r.GetTokens().GetAccessToken())
	}
	aliceID, alice := register("alice")
	bobID, bob := register("bob")
	_, carol := register("carol")

	s, err := api.CreateServer(alice, &serverv1.CreateServerRequest{Name: "Real"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := api.AddMember(alice, &serverv1.AddMemberRequest{ServerId: s.GetServer().GetId(), Login: "BOB"})
	if err != nil {
		t.Fatal(err)
	}
	if m.GetMember().GetUserId() != bobID || m.GetMember().GetLogin() != "bob" || m.GetMember().GetDisplayName() != "The bob" {
		t.Fatalf("member = %v", m.GetMember())
	}
	_, err = api.AddMember(alice, &serverv1.AddMemberRequest{ServerId: s.GetServer().GetId(), Login: "nobody"})
	wantCode(t, err, codes.NotFound, "unknown login")
	ms, err := api.ListMembers(bob, &serverv1.ListMembersRequest{ServerId: s.GetServer().GetId()})
	if err != nil || len(ms.GetMembers()) != 2 || ms.GetMembers()[0].GetDisplayName() != "The alice" {
		t.Fatalf("members = %v %v", ms, err)
	}

	_, err = api.OpenConversation(alice, &serverv1.OpenConversationRequest{UserId: bobID})
	wantCode(t, err, codes.FailedPrecondition, "conversation before friendship")
	if _, err := users.SendFriendRequest(alice, &userv1.SendFriendRequestRequest{Login: "bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := users.AcceptFriendRequest(bob, &userv1.AcceptFriendRequestRequest{UserId: aliceID}); err != nil {
		t.Fatal(err)
	}
	dm, err := api.OpenConversation(bob, &serverv1.OpenConversationRequest{UserId: aliceID})
	if err != nil || !dm.GetCreated() {
		t.Fatalf("conversation between friends: %v %v", dm, err)
	}
	if _, err := users.BlockUser(carol, &userv1.BlockUserRequest{UserId: aliceID}); err != nil {
		t.Fatal(err)
	}
	cr, err := users.GetCurrentUser(carol, &userv1.GetCurrentUserRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.OpenConversation(alice, &serverv1.OpenConversationRequest{UserId: cr.GetUser().GetId()})
	wantCode(t, err, codes.FailedPrecondition, "conversation with a blocker")
}
