package peers_test

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/presence/internal/peers"
)

// fakeUsers answers CheckRelationships from fixed friend and block sets,
// insisting on a service caller as the real service does.
type fakeUsers struct {
	userv1.UnimplementedUserInternalServiceServer
	friends, blocked map[string]bool
	calls            int
}

func (f *fakeUsers) CheckRelationships(ctx context.Context, req *userv1.CheckRelationshipsRequest) (*userv1.CheckRelationshipsResponse, error) {
	if p, ok := auth.FromContext(ctx); !ok || !p.IsService() {
		return nil, errs.PermissionDenied("service only")
	}
	f.calls++
	out := &userv1.CheckRelationshipsResponse{}
	for _, id := range req.GetOtherIds() {
		out.Checks = append(out.Checks, &userv1.RelationshipCheck{OtherId: id, Friend: f.friends[id], Blocked: f.blocked[id], Exists: true})
	}
	return out, nil
}

type fakeServers struct {
	serverv1.UnimplementedServerInternalServiceServer
	shared map[string]bool
}

func (f *fakeServers) FilterSharedUsers(ctx context.Context, req *serverv1.FilterSharedUsersRequest) (*serverv1.FilterSharedUsersResponse, error) {
	if p, ok := auth.FromContext(ctx); !ok || !p.IsService() {
		return nil, errs.PermissionDenied("service only")
	}
	out := &serverv1.FilterSharedUsersResponse{}
	for _, id := range req.GetUserIds() {
		if f.shared[id] {
			out.UserIds = append(out.UserIds, id)
		}
	}
	return out, nil
}

func TestPeerVisibility(t *testing.T) {
	env := platformtest.New(t)
	viewer := platformtest.NewID()
	ids := make([]string, 2500) // more than one CheckRelationships batch
	for i := range ids {
		ids[i] = platformtest.NewID()
	}
	users := &fakeUsers{friends: map[string]bool{}, blocked: map[string]bool{}}
	servers := &fakeServers{shared: map[string]bool{}}
	var want []string
	for i, id := range ids {
		friend, shared, blocked := i%3 == 0, i%5 == 0, i%7 == 0
		users.friends[id], servers.shared[id], users.blocked[id] = friend, shared, blocked
		if (friend || shared) && !blocked {
			want = append(want, id)
		}
	}
	uconn := env.Serve(func(s *grpc.Server) { userv1.RegisterUserInternalServiceServer(s, users) })
	sconn := env.Serve(func(s *grpc.Server) { serverv1.RegisterServerInternalServiceServer(s, servers) })
	vis := peers.NewVisibility(uconn, sconn, env.Deps("presence").ServiceCreds)

	got, err := vis.Visible(context.Background(), viewer, append(ids, viewer))
	if err != nil {
		t.Fatal(err)
	}
	if !got[viewer] {
		t.Fatal("the viewer does not see themselves")
	}
	var gotIDs []string
	for _, id := range ids {
		if got[id] {
			gotIDs = append(gotIDs, id)
		}
	}
	if !slices.Equal(gotIDs, want) {
		t.Fatalf("visible: got %d users, want %d", len(gotIDs), len(want))
	}
	if users.calls != 3 {
		t.Fatalf("CheckRelationships calls: got %d, want 3 batches", users.calls)
	}

	// Without service credentials the peers refuse, and so does Visible.
	bad := peers.NewVisibility(uconn, sconn, nil)
	if _, err := bad.Visible(context.Background(), viewer, ids[:3]); err == nil {
		t.Fatal("visibility without service credentials succeeded")
	}
}
