// Package peers answers the presence domain's questions to other services
// over their gRPC APIs: relationships from the user service, shared
// servers from the server service.
package peers

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/services/presence/internal/presence"
)

// Limits of the peers' batch calls.
const (
	relationshipsBatch = 1000
	sharedBatch        = 10000
)

// NewVisibility returns the visibility rule answered by the user and
// server services over the given connections; creds authenticate presence
// to their internal APIs.
func NewVisibility(users, servers grpc.ClientConnInterface, creds credentials.PerRPCCredentials) *presence.PeerVisibility {
	return &presence.PeerVisibility{
		Relationships: &Users{Client: userv1.NewUserInternalServiceClient(users), Creds: creds},
		Shared:        &Servers{Client: serverv1.NewServerInternalServiceClient(servers), Creds: creds},
	}
}

// Users asks the user service's internal API.
type Users struct {
	Client userv1.UserInternalServiceClient
	Creds  credentials.PerRPCCredentials
}

// CheckRelationships implements presence.Relationships in batches.
func (u *Users) CheckRelationships(ctx context.Context, viewer string, others []string) (friends, blocked map[string]bool, err error) {
	friends, blocked = map[string]bool{}, map[string]bool{}
	for start := 0; start < len(others); start += relationshipsBatch {
		chunk := others[start:min(start+relationshipsBatch, len(others))]
		resp, err := u.Client.CheckRelationships(ctx, &userv1.CheckRelationshipsRequest{UserId: viewer, OtherIds: chunk}, grpc.PerRPCCredentials(u.Creds))
		if err != nil {
			return nil, nil, fmt.Errorf("check relationships: %w", err)
		}
		for _, c := range resp.GetChecks() {
			friends[c.GetOtherId()] = c.GetFriend()
			blocked[c.GetOtherId()] = c.GetBlocked()
		}
	}
	return friends, blocked, nil
}

// Servers asks the server service's internal API.
type Servers struct {
	Client serverv1.ServerInternalServiceClient
	Creds  credentials.PerRPCCredentials
}

// FilterSharedUsers implements presence.SharedUsers in batches.
func (s *Servers) FilterSharedUsers(ctx context.Context, viewer string, ids []string) ([]string, error) {
	var out []string
	for start := 0; start < len(ids); start += sharedBatch {
		chunk := ids[start:min(start+sharedBatch, len(ids))]
		resp, err := s.Client.FilterSharedUsers(ctx, &serverv1.FilterSharedUsersRequest{UserId: viewer, UserIds: chunk}, grpc.PerRPCCredentials(s.Creds))
		if err != nil {
			return nil, fmt.Errorf("filter shared users: %w", err)
		}
		out = append(out, resp.GetUserIds()...)
	}
	return out, nil
}
