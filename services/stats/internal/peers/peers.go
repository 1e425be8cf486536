// Package peers answers the stats domain's questions to other services
// over their gRPC APIs: roles from the server service, display names from
// the user service.
package peers

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/services/stats/internal/reports"
)

// ServerRoles asks the server service's internal API, with a service token.
type ServerRoles struct {
	Client serverv1.ServerInternalServiceClient
	Creds  credentials.PerRPCCredentials
}

// NewServerRoles returns reports.Roles over a connection to the server service.
func NewServerRoles(conn grpc.ClientConnInterface, creds credentials.PerRPCCredentials) *ServerRoles {
	return &ServerRoles{Client: serverv1.NewServerInternalServiceClient(conn), Creds: creds}
}

// MemberRole implements reports.Roles.
func (r *ServerRoles) MemberRole(ctx context.Context, serverID, userID string) (reports.Role, error) {
	res, err := r.Client.GetMemberRole(ctx, &serverv1.GetMemberRoleRequest{ServerId: serverID, UserId: userID}, grpc.PerRPCCredentials(r.Creds))
	if err != nil {
		return reports.RoleNone, fmt.Errorf("get member role: %w", err)
	}
	return roleOf(res.GetRole()), nil
}

func roleOf(r serverv1.Role) reports.Role {
	switch r {
	case serverv1.Role_ROLE_OWNER:
		return reports.RoleOwner
	case serverv1.Role_ROLE_ADMIN:
		return reports.RoleAdmin
	case serverv1.Role_ROLE_MEMBER:
		return reports.RoleMember
	}
	return reports.RoleNone
}

// UserNames asks the user service, forwarding the caller's token.
type UserNames struct {
	Client userv1.UserServiceClient
}

// NewUserNames returns reports.Names over a connection to the user service.
func NewUserNames(conn grpc.ClientConnInterface) *UserNames {
	return &UserNames{Client: userv1.NewUserServiceClient(conn)}
}

// DisplayNames implements reports.Names.
func (n *UserNames) DisplayNames(ctx context.Context, userIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(userIDs))
	ctx = auth.ForwardToken(ctx)
	for len(userIDs) > 0 {
		k := min(len(userIDs), 1000)
		res, err := n.Client.BatchGetUsers(ctx, &userv1.BatchGetUsersRequest{UserIds: userIDs[:k]})
		if err != nil {
			return out, fmt.Errorf("batch get users: %w", err)
		}
		for _, u := range res.GetUsers() {
			name := u.GetDisplayName()
			if name == "" {
				name = u.GetLogin()
			}
			out[u.GetId()] = name
		}
		userIDs = userIDs[k:]
	}
	return out, nil
}
