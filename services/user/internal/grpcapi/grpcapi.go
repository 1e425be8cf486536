// Package grpcapi holds the user service's gRPC handlers: they read the
// caller from the context, convert between proto and domain types and call
// the account.Service. The interceptor chain has already authenticated the
// caller and applied the proto's validation rules.
package grpcapi

import (
	"context"
	"net"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/paging"
	"github.com/accordchat/accord/services/user/internal/account"
)

// API implements UserService and UserInternalService.
type API struct {
	userv1.UnimplementedUserServiceServer
	userv1.UnimplementedUserInternalServiceServer
	svc *account.Service
}

// New returns the handlers over svc.
func New(svc *account.Service) *API { return &API{svc: svc} }

// Page sizes (AIP-158).
const (
	defaultSearchPage = 20
	maxSearchPage     = 100
	defaultRelPage    = 100
	maxRelPage        = 1000
)

// reader returns the caller of a profile read: a signed-in user or another
// Accord service resolving names.
func reader(ctx context.Context) error {
	p, ok := auth.FromContext(ctx)
	if !ok || (p.UserID == "" && !p.IsService()) {
		return errs.Unauthenticated("sign in first")
	}
	return nil
}

// clientAddr is the address sign-in attempts are counted against. Behind
// the gateway it is the last x-forwarded-for entry: the one the gateway
// itself added, which a client cannot forge. Otherwise it is the peer's IP.
func clientAddr(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("x-forwarded-for"); len(v) > 0 {
			parts := strings.Split(v[len(v)-1], ",")
			if a := strings.TrimSpace(parts[len(parts)-1]); a != "" {
				return a
			}
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		a := p.Addr.String()
		if host, _, err := net.SplitHostPort(a); err == nil {
			return host
		}
		return a
	}
	return ""
}

// Register implements UserService.
func (a *API) Register(ctx context.Context, req *userv1.RegisterRequest) (*userv1.RegisterResponse, error) {
	res, err := a.svc.Register(ctx, req.GetLogin(), req.GetPassword(), req.GetDisplayName(), req.GetClient())
	if err != nil {
		return nil, err
	}
	return &userv1.RegisterResponse{User: UserProto(res.User), Tokens: tokensProto(res)}, nil
}

// Login implements UserService.
func (a *API) Login(ctx context.Context, req *userv1.LoginRequest) (*userv1.LoginResponse, error) {
	res, err := a.svc.Login(ctx, req.GetLogin(), req.GetPassword(), req.GetClient(), clientAddr(ctx))
	if err != nil {
		return nil, err
	}
	return &userv1.LoginResponse{User: UserProto(res.User), Tokens: tokensProto(res)}, nil
}

// RefreshToken implements UserService.
func (a *API) RefreshToken(ctx context.Context, req *userv1.RefreshTokenRequest) (*userv1.RefreshTokenResponse, error) {
	res, err := a.svc.Refresh(ctx, req.GetRefreshToken())
	if err != nil {
		return nil, err
	}
	return &userv1.RefreshTokenResponse{User: UserProto(res.User), Tokens: tokensProto(res)}, nil
}

// Logout implements UserService.
func (a *API) Logout(ctx context.Context, _ *userv1.LogoutRequest) (*userv1.LogoutResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.Logout(ctx, p.UserID, p.SessionID); err != nil {
		return nil, err
	}
	return &userv1.LogoutResponse{}, nil
}

// ChangePassword implements UserService.
func (a *API) ChangePassword(ctx context.Context, req *userv1.ChangePasswordRequest) (*userv1.ChangePasswordResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.ChangePassword(ctx, p.UserID, p.SessionID, req.GetCurrentPassword(), req.GetNewPassword(), clientAddr(ctx)); err != nil {
		return nil, err
	}
	return &userv1.ChangePasswordResponse{}, nil
}

// ListSessions implements UserService.
func (a *API) ListSessions(ctx context.Context, _ *userv1.ListSessionsRequest) (*userv1.ListSessionsResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.svc.Sessions(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]*userv1.Session, 0, len(list))
	for _, s := range list {
		out = append(out, sessionProto(s, p.SessionID))
	}
	return &userv1.ListSessionsResponse{Sessions: out}, nil
}

// RevokeSession implements UserService.
func (a *API) RevokeSession(ctx context.Context, req *userv1.RevokeSessionRequest) (*userv1.RevokeSessionResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.RevokeSession(ctx, p.UserID, req.GetSessionId()); err != nil {
		return nil, err
	}
	return &userv1.RevokeSessionResponse{}, nil
}

// GetCurrentUser implements UserService.
func (a *API) GetCurrentUser(ctx context.Context, _ *userv1.GetCurrentUserRequest) (*userv1.GetCurrentUserResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	u, err := a.svc.User(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return &userv1.GetCurrentUserResponse{User: UserProto(u)}, nil
}

// UpdateCurrentUser implements UserService.
func (a *API) UpdateCurrentUser(ctx context.Context, req *userv1.UpdateCurrentUserRequest) (*userv1.UpdateCurrentUserResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	var upd account.ProfileUpdate
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, errs.Invalid("update_mask", "name the fields to change: display_name, status_text")
	}
	for _, path := range paths {
		switch path {
		case "display_name":
			v := req.GetUser().GetDisplayName()
			upd.DisplayName = &v
		case "status_text":
			v := req.GetUser().GetStatusText()
			upd.StatusText = &v
		default:
			return nil, errs.Invalid("update_mask", "unknown field %q; use display_name, status_text", path)
		}
	}
	u, err := a.svc.UpdateProfile(ctx, p.UserID, upd)
	if err != nil {
		return nil, err
	}
	return &userv1.UpdateCurrentUserResponse{User: UserProto(u)}, nil
}

// GetUser implements UserService.
func (a *API) GetUser(ctx context.Context, req *userv1.GetUserRequest) (*userv1.GetUserResponse, error) {
	if err := reader(ctx); err != nil {
		return nil, err
	}
	u, err := a.svc.User(ctx, req.GetUserId())
	if err != nil {
		return nil, err
	}
	return &userv1.GetUserResponse{User: UserProto(u)}, nil
}

// BatchGetUsers implements UserService.
func (a *API) BatchGetUsers(ctx context.Context, req *userv1.BatchGetUsersRequest) (*userv1.BatchGetUsersResponse, error) {
	if err := reader(ctx); err != nil {
		return nil, err
	}
	us, err := a.svc.Users(ctx, req.GetUserIds())
	if err != nil {
		return nil, err
	}
	return &userv1.BatchGetUsersResponse{Users: usersProto(us)}, nil
}

// LookupUser implements UserService.
func (a *API) LookupUser(ctx context.Context, req *userv1.LookupUserRequest) (*userv1.LookupUserResponse, error) {
	if err := reader(ctx); err != nil {
		return nil, err
	}
	u, err := a.svc.Lookup(ctx, req.GetLogin())
	if err != nil {
		return nil, err
	}
	return &userv1.LookupUserResponse{User: UserProto(u)}, nil
}

// SearchUsers implements UserService.
func (a *API) SearchUsers(ctx context.Context, req *userv1.SearchUsersRequest) (*userv1.SearchUsersResponse, error) {
	if err := reader(ctx); err != nil {
		return nil, err
	}
	after, err := paging.After(req.GetPageToken(), func(s string) bool {
		return account.ValidLoginChars(s) && s == account.LoginKey(s)
	})
	if err != nil {
		return nil, err
	}
	size, err := paging.Size(req.GetPageSize(), defaultSearchPage, maxSearchPage)
	if err != nil {
		return nil, err
	}
	us, next, err := a.svc.Search(ctx, req.GetLoginPrefix(), after, size)
	if err != nil {
		return nil, err
	}
	return &userv1.SearchUsersResponse{Users: usersProto(us), NextPageToken: paging.Token(next)}, nil
}

// SendFriendRequest implements UserService.
func (a *API) SendFriendRequest(ctx context.Context, req *userv1.SendFriendRequestRequest) (*userv1.SendFriendRequestResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	v, err := a.svc.SendFriendRequest(ctx, p.UserID, req.GetLogin())
	if err != nil {
		return nil, err
	}
	return &userv1.SendFriendRequestResponse{Relationship: RelationshipProto(v)}, nil
}

// AcceptFriendRequest implements UserService.
func (a *API) AcceptFriendRequest(ctx context.Context, req *userv1.AcceptFriendRequestRequest) (*userv1.AcceptFriendRequestResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	v, err := a.svc.AcceptFriendRequest(ctx, p.UserID, req.GetUserId())
	if err != nil {
		return nil, err
	}
	return &userv1.AcceptFriendRequestResponse{Relationship: RelationshipProto(v)}, nil
}

// DeclineFriendRequest implements UserService.
func (a *API) DeclineFriendRequest(ctx context.Context, req *userv1.DeclineFriendRequestRequest) (*userv1.DeclineFriendRequestResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.DeclineFriendRequest(ctx, p.UserID, req.GetUserId()); err != nil {
		return nil, err
	}
	return &userv1.DeclineFriendRequestResponse{}, nil
}

// CancelFriendRequest implements UserService.
func (a *API) CancelFriendRequest(ctx context.Context, req *userv1.CancelFriendRequestRequest) (*userv1.CancelFriendRequestResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.CancelFriendRequest(ctx, p.UserID, req.GetUserId()); err != nil {
		return nil, err
	}
	return &userv1.CancelFriendRequestResponse{}, nil
}

// RemoveFriend implements UserService.
func (a *API) RemoveFriend(ctx context.Context, req *userv1.RemoveFriendRequest) (*userv1.RemoveFriendResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.RemoveFriend(ctx, p.UserID, req.GetUserId()); err != nil {
		return nil, err
	}
	return &userv1.RemoveFriendResponse{}, nil
}

// BlockUser implements UserService.
func (a *API) BlockUser(ctx context.Context, req *userv1.BlockUserRequest) (*userv1.BlockUserResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	v, err := a.svc.BlockUser(ctx, p.UserID, req.GetUserId())
	if err != nil {
		return nil, err
	}
	return &userv1.BlockUserResponse{Relationship: RelationshipProto(v)}, nil
}

// UnblockUser implements UserService.
func (a *API) UnblockUser(ctx context.Context, req *userv1.UnblockUserRequest) (*userv1.UnblockUserResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.UnblockUser(ctx, p.UserID, req.GetUserId()); err != nil {
		return nil, err
	}
	return &userv1.UnblockUserResponse{}, nil
}

// ListRelationships implements UserService.
func (a *API) ListRelationships(ctx context.Context, req *userv1.ListRelationshipsRequest) (*userv1.ListRelationshipsResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	after, err := paging.After(req.GetPageToken(), isHexID)
	if err != nil {
		return nil, err
	}
	size, err := paging.Size(req.GetPageSize(), defaultRelPage, maxRelPage)
	if err != nil {
		return nil, err
	}
	views, next, err := a.svc.ListRelationships(ctx, p.UserID, relTypeDomain(req.GetType()), after, size)
	if err != nil {
		return nil, err
	}
	out := make([]*userv1.Relationship, len(views))
	for i, v := range views {
		out[i] = RelationshipProto(v)
	}
	return &userv1.ListRelationshipsResponse{Relationships: out, NextPageToken: paging.Token(next)}, nil
}

// SetOperator implements UserService.
func (a *API) SetOperator(ctx context.Context, req *userv1.SetOperatorRequest) (*userv1.SetOperatorResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	u, err := a.svc.SetOperator(ctx, p.Operator, req.GetUserId(), req.GetOperator())
	if err != nil {
		return nil, err
	}
	return &userv1.SetOperatorResponse{User: UserProto(u)}, nil
}

// CheckRelationships implements UserInternalService; the interceptor lets
// only service tokens call it.
func (a *API) CheckRelationships(ctx context.Context, req *userv1.CheckRelationshipsRequest) (*userv1.CheckRelationshipsResponse, error) {
	if p, ok := auth.FromContext(ctx); !ok || !p.IsService() {
		return nil, errs.PermissionDenied("internal method")
	}
	checks, err := a.svc.Check(ctx, req.GetUserId(), req.GetOtherIds())
	if err != nil {
		return nil, err
	}
	out := make([]*userv1.RelationshipCheck, len(checks))
	for i, c := range checks {
		out[i] = &userv1.RelationshipCheck{OtherId: c.OtherID, Friend: c.Friend, Blocked: c.Blocked, Exists: c.Exists}
	}
	return &userv1.CheckRelationshipsResponse{Checks: out}, nil
}

func isHexID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
