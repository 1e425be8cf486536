// Package peers answers the search domain's questions to other services
// over their gRPC APIs: memberships and channel names from the server
// service, logins from the user service.
package peers

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/search/internal/search"
)

// Members is search.Members over the server service: a role from its
// internal API (service token), the caller's conversations from its public
// one (the caller's own token, so it lists exactly what they may see).
type Members struct {
	Internal serverv1.ServerInternalServiceClient
	Public   serverv1.ServerServiceClient
	Creds    credentials.PerRPCCredentials
}

var _ search.Members = (*Members)(nil)

// NewMembers returns Members over a connection to the server service.
func NewMembers(conn grpc.ClientConnInterface, creds credentials.PerRPCCredentials) *Members {
	return &Members{
		Internal: serverv1.NewServerInternalServiceClient(conn), Public: serverv1.NewServerServiceClient(conn), Creds: creds,
	}
}

// IsMember implements search.Members.
func (m *Members) IsMember(ctx context.Context, serverID, userID string) (bool, error) {
	res, err := m.Internal.GetMemberRole(ctx, &serverv1.GetMemberRoleRequest{ServerId: serverID, UserId: userID}, grpc.PerRPCCredentials(m.Creds))
	if err != nil {
		return false, peerErr("server", err)
	}
	return res.GetRole() != serverv1.Role_ROLE_UNSPECIFIED, nil
}

// Conversations implements search.Members, for the caller of ctx.
func (m *Members) Conversations(ctx context.Context, _ string) ([]string, error) {
	ctx = auth.ForwardToken(ctx)
	var ids []string
	token := ""
	for {
		res, err := m.Public.ListServers(ctx, &serverv1.ListServersRequest{Kind: serverv1.ServerKind_SERVER_KIND_DM, PageSize: 500, PageToken: token})
		if err != nil {
			return nil, peerErr("server", err)
		}
		for _, s := range res.GetServers() {
			ids = append(ids, s.GetId())
		}
		if token = res.GetNextPageToken(); token == "" {
			return ids, nil
		}
	}
}

// Directory is search.Directory over the user and server services, with
// the caller's token.
type Directory struct {
	Users   userv1.UserServiceClient
	Servers serverv1.ServerServiceClient
}

var _ search.Directory = (*Directory)(nil)

// NewDirectory returns a Directory over connections to the user and
// server services.
func NewDirectory(user, server grpc.ClientConnInterface) *Directory {
	return &Directory{Users: userv1.NewUserServiceClient(user), Servers: serverv1.NewServerServiceClient(server)}
}

// UserID implements search.Directory.
func (d *Directory) UserID(ctx context.Context, login string) (string, bool, error) {
	res, err := d.Users.LookupUser(auth.ForwardToken(ctx), &userv1.LookupUserRequest{Login: login})
	switch status.Code(err) {
	case codes.OK:
		return res.GetUser().GetId(), true, nil
	case codes.NotFound, codes.InvalidArgument:
		return "", false, nil
	}
	return "", false, peerErr("user", err)
}

// Channels implements search.Directory.
func (d *Directory) Channels(ctx context.Context, serverID string) ([]search.Channel, error) {
	res, err := d.Servers.ListChannels(auth.ForwardToken(ctx), &serverv1.ListChannelsRequest{ServerId: serverID})
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound, codes.PermissionDenied:
		return nil, errs.NotFound("server not found")
	default:
		return nil, peerErr("server", err)
	}
	out := make([]search.Channel, 0, len(res.GetChannels()))
	for _, c := range res.GetChannels() {
		out = append(out, search.Channel{ID: c.GetId(), Name: c.GetName()})
	}
	return out, nil
}

// peerErr turns a peer's failure into a domain error: unavailable when it
// is, otherwise an internal error (logged, never shown).
func peerErr(peer string, err error) error {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return errs.Unavailable("%s service unavailable", peer)
	}
	return fmt.Errorf("%s service: %w", peer, err)
}

// Records is search.Records over the server service's internal API
// (service token).
type Records struct {
	Internal serverv1.ServerInternalServiceClient
	Creds    credentials.PerRPCCredentials
}

var _ search.Records = (*Records)(nil)

// NewRecords returns Records over a connection to the server service.
func NewRecords(conn grpc.ClientConnInterface, creds credentials.PerRPCCredentials) *Records {
	return &Records{Internal: serverv1.NewServerInternalServiceClient(conn), Creds: creds}
}

// Messages implements search.Records. A stream broken midway resumes
// after the last message received.
func (r *Records) Messages(ctx context.Context, fn func([]search.Doc) error) error {
	after := ""
	for attempt := 0; ; attempt++ {
		err := r.stream(ctx, after, func(docs []search.Doc) error {
			after = docs[len(docs)-1].ID
			attempt = 0
			return fn(docs)
		})
		if c := status.Code(err); (c != codes.Unavailable && c != codes.Internal) || attempt >= 3 {
			if err != nil && status.Code(err) != codes.Unknown {
				return peerErr("server", err)
			}
			return err
		}
	}
}

func (r *Records) stream(ctx context.Context, after string, fn func([]search.Doc) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := r.Internal.ExportMessages(ctx, &serverv1.ExportMessagesRequest{AfterId: after}, grpc.PerRPCCredentials(r.Creds))
	if err != nil {
		return err
	}
	for {
		res, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		docs := make([]search.Doc, 0, len(res.GetMessages()))
		for _, m := range res.GetMessages() {
			d := search.Doc{
				ID: m.GetId(), ServerID: m.GetServerId(), ChannelID: m.GetChannelId(), AuthorID: m.GetAuthorId(),
				AuthorName: m.GetAuthorName(), Content: m.GetContent(), Created: m.GetCreateTime().AsTime(),
			}
			if m.GetEditTime() != nil {
				d.Edited = m.GetEditTime().AsTime()
			}
			docs = append(docs, d)
		}
		if len(docs) == 0 {
			continue
		}
		if err := fn(docs); err != nil {
			return err
		}
	}
}
