package peers

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/stats/internal/reports"
)

// fakeServer answers GetMemberRole for one owner and tells who called.
type fakeServer struct {
	serverv1.UnimplementedServerInternalServiceServer
	owner, server string
	caller        chan auth.Principal
}

func (f *fakeServer) GetMemberRole(ctx context.Context, req *serverv1.GetMemberRoleRequest) (*serverv1.GetMemberRoleResponse, error) {
	p, _ := auth.FromContext(ctx)
	f.caller <- p
	if req.GetServerId() == f.server && req.GetUserId() == f.owner {
		return &serverv1.GetMemberRoleResponse{Role: serverv1.Role_ROLE_OWNER, ServerName: "General"}, nil
	}
	return &serverv1.GetMemberRoleResponse{}, nil
}

// fakeUsers answers BatchGetUsers and tells who called.
type fakeUsers struct {
	userv1.UnimplementedUserServiceServer
	users  map[string]*userv1.User
	caller chan auth.Principal
}

func (f *fakeUsers) BatchGetUsers(ctx context.Context, req *userv1.BatchGetUsersRequest) (*userv1.BatchGetUsersResponse, error) {
	p, _ := auth.FromContext(ctx)
	f.caller <- p
	var out []*userv1.User
	for _, id := range req.GetUserIds() {
		if u, ok := f.users[id]; ok {
			out = append(out, u)
		}
	}
	return &userv1.BatchGetUsersResponse{Users: out}, nil
}

func TestServerRolesUsesServiceToken(t *testing.T) {
	env := platformtest.New(t)
	f := &fakeServer{owner: platformtest.NewID(), server: platformtest.NewID(), caller: make(chan auth.Principal, 2)}
	conn := env.Serve(func(s *grpc.Server) { serverv1.RegisterServerInternalServiceServer(s, f) })
	roles := NewServerRoles(conn, env.Deps("stats").ServiceCreds)
	ctx := env.Ctx("")
	for _, tc := range []struct {
		user string
		want reports.Role
	}{{f.owner, reports.RoleOwner}, {platformtest.NewID(), reports.RoleNone}} {
		got, err := roles.MemberRole(ctx, f.server, tc.user)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("role %v, want %v", got, tc.want)
		}
		if p := <-f.caller; p.Service != "stats" {
			t.Errorf("called as %+v, want the stats service", p)
		}
	}
}

func TestUserNamesForwardsCallerToken(t *testing.T) {
	env := platformtest.New(t)
	alice, bob, caller := platformtest.NewID(), platformtest.NewID(), platformtest.NewID()
	f := &fakeUsers{caller: make(chan auth.Principal, 1), users: map[string]*userv1.User{
		alice: {Id: alice, Login: "alice", DisplayName: "Alice A."},
		bob:   {Id: bob, Login: "bob"},
	}}
	conn := env.Serve(func(s *grpc.Server) { userv1.RegisterUserServiceServer(s, f) })
	names := NewUserNames(conn)
	// The handler's context carries the caller's token as incoming metadata.
	ctx := metadata.NewIncomingContext(env.Ctx(""), metadata.Pairs("authorization", "Bearer "+env.UserToken(caller)))
	got, err := names.DisplayNames(ctx, []string{alice, bob, platformtest.NewID()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{alice: "Alice A.", bob: "bob"} // no display name: the login
	if len(got) != len(want) || got[alice] != want[alice] || got[bob] != want[bob] {
		t.Errorf("got %v, want %v", got, want)
	}
	if p := <-f.caller; p.UserID != caller {
		t.Errorf("called as %+v, want user %s", p, caller)
	}
}

func TestRoleOf(t *testing.T) {
	for in, want := range map[serverv1.Role]reports.Role{
		serverv1.Role_ROLE_OWNER:       reports.RoleOwner,
		serverv1.Role_ROLE_ADMIN:       reports.RoleAdmin,
		serverv1.Role_ROLE_MEMBER:      reports.RoleMember,
		serverv1.Role_ROLE_UNSPECIFIED: reports.RoleNone,
	} {
		if got := roleOf(in); got != want {
			t.Errorf("%v: got %v, want %v", in, got, want)
		}
	}
}
