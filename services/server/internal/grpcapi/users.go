package grpcapi

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// UserDirectory is guild.UserDirectory over the user service's gRPC API.
// Profile calls forward the caller's token (they are user methods);
// relationship checks use the service's own credentials (internal method).
type UserDirectory struct {
	conn  grpc.ClientConnInterface
	creds credentials.PerRPCCredentials
}

var _ guild.UserDirectory = (*UserDirectory)(nil)

// NewUserDirectory returns a directory over a connection to the user
// service (nil: every call is UNAVAILABLE) calling its internal methods
// with creds.
func NewUserDirectory(conn grpc.ClientConnInterface, creds credentials.PerRPCCredentials) *UserDirectory {
	return &UserDirectory{conn: conn, creds: creds}
}

// userErr turns a user service status into a domain error.
func userErr(err error) error {
	switch status.Code(err) {
	case codes.NotFound:
		return errs.NotFound("user not found")
	case codes.Unavailable, codes.DeadlineExceeded:
		return errs.Unavailable("user service unavailable")
	}
	return fmt.Errorf("user service: %w", err)
}

func (u *UserDirectory) ready() error {
	if u.conn == nil {
		return errs.Unavailable("user service not configured")
	}
	return nil
}

// LookupLogin implements guild.UserDirectory.
func (u *UserDirectory) LookupLogin(ctx context.Context, login string) (guild.UserInfo, error) {
	if err := u.ready(); err != nil {
		return guild.UserInfo{}, err
	}
	resp, err := userv1.NewUserServiceClient(u.conn).LookupUser(auth.ForwardToken(ctx), &userv1.LookupUserRequest{Login: login})
	if err != nil {
		return guild.UserInfo{}, userErr(err)
	}
	return info(resp.GetUser()), nil
}

func info(p *userv1.User) guild.UserInfo {
	return guild.UserInfo{ID: p.GetId(), Login: p.GetLogin(), DisplayName: p.GetDisplayName(), Avatar: p.GetAvatar()}
}

// Users implements guild.UserDirectory, in batches of the API's limit.
func (u *UserDirectory) Users(ctx context.Context, ids []string) (map[string]guild.UserInfo, error) {
	if err := u.ready(); err != nil {
		return nil, err
	}
	out := make(map[string]guild.UserInfo, len(ids))
	c := userv1.NewUserServiceClient(u.conn)
	fctx := auth.ForwardToken(ctx)
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		resp, err := c.BatchGetUsers(fctx, &userv1.BatchGetUsersRequest{UserIds: ids[:n]})
		if err != nil {
			return out, userErr(err)
		}
		for _, p := range resp.GetUsers() {
			out[p.GetId()] = info(p)
		}
		ids = ids[n:]
	}
	return out, nil
}

// Relation implements guild.UserDirectory.
func (u *UserDirectory) Relation(ctx context.Context, userID, otherID string) (guild.Relation, error) {
	if err := u.ready(); err != nil {
		return guild.Relation{}, err
	}
	resp, err := userv1.NewUserInternalServiceClient(u.conn).CheckRelationships(ctx,
		&userv1.CheckRelationshipsRequest{UserId: userID, OtherIds: []string{otherID}}, grpc.PerRPCCredentials(u.creds))
	if err != nil {
		return guild.Relation{}, userErr(err)
	}
	for _, c := range resp.GetChecks() {
		if c.GetOtherId() == otherID {
			return guild.Relation{Exists: c.GetExists(), Friend: c.GetFriend(), Blocked: c.GetBlocked()}, nil
		}
	}
	return guild.Relation{}, nil
}

// UserServiceNames is chat.Names over the user service (BatchGetUsers)
// with the caller's forwarded token.
type UserServiceNames struct {
	client userv1.UserServiceClient
}

// NewUserServiceNames returns names backed by the user service at conn.
func NewUserServiceNames(conn grpc.ClientConnInterface) *UserServiceNames {
	return &UserServiceNames{client: userv1.NewUserServiceClient(conn)}
}

// DisplayNames implements chat.Names.
func (u *UserServiceNames) DisplayNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 1000) // the request's max_items
		resp, err := u.client.BatchGetUsers(auth.ForwardToken(ctx), &userv1.BatchGetUsersRequest{UserIds: ids[:n]})
		if err != nil {
			return out, err
		}
		for _, usr := range resp.GetUsers() {
			out[usr.GetId()] = usr.GetDisplayName()
		}
		ids = ids[n:]
	}
	return out, nil
}
