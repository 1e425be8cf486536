// Package grpcapi holds the server service's gRPC handlers. The guild half
// (servers, members, invites, channels, conversations, internal API) and the
// chat half (messages, read states, typing, the event feed) are separate
// types, combined in the service package.
package grpcapi

import (
	"context"
	"time"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/mongo"
)

// GuildAPI implements the structural methods of ServerService and the
// ServerInternalService. Handlers only authenticate the caller and convert
// requests and responses; the rules live in package guild.
type GuildAPI struct {
	serverv1.UnimplementedServerServiceServer
	serverv1.UnimplementedServerInternalServiceServer

	svc *guild.Service
}

// NewGuildAPI builds the guild half and ensures its indexes. It reaches the
// user service through d.Peers.User.
func NewGuildAPI(ctx context.Context, d app.Deps) (*GuildAPI, error) {
	return NewGuildAPIWithUsers(ctx, d, NewUserDirectory(d))
}

// NewGuildAPIWithUsers is NewGuildAPI with the given user directory (tests
// use an in-memory one while the user service is not running).
func NewGuildAPIWithUsers(ctx context.Context, d app.Deps, users guild.UserDirectory) (*GuildAPI, error) {
	store := mongo.NewGuildStore(d.Mongo)
	if err := store.EnsureIndexes(ctx); err != nil {
		return nil, err
	}
	pub := events.NewLog(d.Redis, d.Config.RedisPrefix)
	return &GuildAPI{svc: guild.New(store, users, pub, d.Log)}, nil
}

// CreateServer implements ServerService.
func (a *GuildAPI) CreateServer(ctx context.Context, req *serverv1.CreateServerRequest) (*serverv1.CreateServerResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	srv, ch, err := a.svc.CreateServer(ctx, p.UserID, req.GetName())
	if err != nil {
		return nil, err
	}
	return &serverv1.CreateServerResponse{Server: srv, Channel: ch}, nil
}

// GetServer implements ServerService.
func (a *GuildAPI) GetServer(ctx context.Context, req *serverv1.GetServerRequest) (*serverv1.GetServerResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	srv, err := a.svc.GetServer(ctx, p.UserID, req.GetServerId())
	if err != nil {
		return nil, err
	}
	return &serverv1.GetServerResponse{Server: srv}, nil
}

// ListServers implements ServerService.
func (a *GuildAPI) ListServers(ctx context.Context, req *serverv1.ListServersRequest) (*serverv1.ListServersResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	srvs, next, err := a.svc.ListServers(ctx, p.UserID, req.GetKind(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &serverv1.ListServersResponse{Servers: srvs, NextPageToken: next}, nil
}

// UpdateServer implements ServerService.
func (a *GuildAPI) UpdateServer(ctx context.Context, req *serverv1.UpdateServerRequest) (*serverv1.UpdateServerResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	srv, err := a.svc.UpdateServer(ctx, p.UserID, req.GetServerId(), req.GetUpdateMask().GetPaths(), req.GetServer().GetName())
	if err != nil {
		return nil, err
	}
	return &serverv1.UpdateServerResponse{Server: srv}, nil
}

// DeleteServer implements ServerService.
func (a *GuildAPI) DeleteServer(ctx context.Context, req *serverv1.DeleteServerRequest) (*serverv1.DeleteServerResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.DeleteServer(ctx, p.UserID, req.GetServerId()); err != nil {
		return nil, err
	}
	return &serverv1.DeleteServerResponse{}, nil
}

// TransferOwnership implements ServerService.
func (a *GuildAPI) TransferOwnership(ctx context.Context, req *serverv1.TransferOwnershipRequest) (*serverv1.TransferOwnershipResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	srv, err := a.svc.TransferOwnership(ctx, p.UserID, req.GetServerId(), req.GetUserId())
	if err != nil {
		return nil, err
	}
	return &serverv1.TransferOwnershipResponse{Server: srv}, nil
}

// AddMember implements ServerService.
func (a *GuildAPI) AddMember(ctx context.Context, req *serverv1.AddMemberRequest) (*serverv1.AddMemberResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	m, err := a.svc.AddMember(ctx, p.UserID, req.GetServerId(), req.GetLogin())
	if err != nil {
		return nil, err
	}
	return &serverv1.AddMemberResponse{Member: m}, nil
}

// ListMembers implements ServerService.
func (a *GuildAPI) ListMembers(ctx context.Context, req *serverv1.ListMembersRequest) (*serverv1.ListMembersResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	ms, next, err := a.svc.ListMembers(ctx, p.UserID, req.GetServerId(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &serverv1.ListMembersResponse{Members: ms, NextPageToken: next}, nil
}

// RemoveMember implements ServerService.
func (a *GuildAPI) RemoveMember(ctx context.Context, req *serverv1.RemoveMemberRequest) (*serverv1.RemoveMemberResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.RemoveMember(ctx, p.UserID, req.GetServerId(), req.GetUserId()); err != nil {
		return nil, err
	}
	return &serverv1.RemoveMemberResponse{}, nil
}

// SetMemberRole implements ServerService.
func (a *GuildAPI) SetMemberRole(ctx context.Context, req *serverv1.SetMemberRoleRequest) (*serverv1.SetMemberRoleResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	m, err := a.svc.SetMemberRole(ctx, p.UserID, req.GetServerId(), req.GetUserId(), req.GetRole())
	if err != nil {
		return nil, err
	}
	return &serverv1.SetMemberRoleResponse{Member: m}, nil
}

// LeaveServer implements ServerService.
func (a *GuildAPI) LeaveServer(ctx context.Context, req *serverv1.LeaveServerRequest) (*serverv1.LeaveServerResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.LeaveServer(ctx, p.UserID, req.GetServerId()); err != nil {
		return nil, err
	}
	return &serverv1.LeaveServerResponse{}, nil
}

// CreateInvite implements ServerService.
func (a *GuildAPI) CreateInvite(ctx context.Context, req *serverv1.CreateInviteRequest) (*serverv1.CreateInviteResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	inv, err := a.svc.CreateInvite(ctx, p.UserID, req.GetServerId(), time.Duration(req.GetTtlSeconds())*time.Second, req.GetMaxUses())
	if err != nil {
		return nil, err
	}
	return &serverv1.CreateInviteResponse{Invite: inv}, nil
}

// ListInvites implements ServerService.
func (a *GuildAPI) ListInvites(ctx context.Context, req *serverv1.ListInvitesRequest) (*serverv1.ListInvitesResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	invs, next, err := a.svc.ListInvites(ctx, p.UserID, req.GetServerId(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &serverv1.ListInvitesResponse{Invites: invs, NextPageToken: next}, nil
}

// DeleteInvite implements ServerService.
func (a *GuildAPI) DeleteInvite(ctx context.Context, req *serverv1.DeleteInviteRequest) (*serverv1.DeleteInviteResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.DeleteInvite(ctx, p.UserID, req.GetServerId(), req.GetCode()); err != nil {
		return nil, err
	}
	return &serverv1.DeleteInviteResponse{}, nil
}

// GetInvite implements ServerService.
func (a *GuildAPI) GetInvite(ctx context.Context, req *serverv1.GetInviteRequest) (*serverv1.GetInviteResponse, error) {
	if _, err := auth.User(ctx); err != nil {
		return nil, err
	}
	inv, sid, name, count, err := a.svc.GetInvite(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	return &serverv1.GetInviteResponse{Invite: inv, ServerId: sid, ServerName: name, MemberCount: count}, nil
}

// AcceptInvite implements ServerService.
func (a *GuildAPI) AcceptInvite(ctx context.Context, req *serverv1.AcceptInviteRequest) (*serverv1.AcceptInviteResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	srv, err := a.svc.AcceptInvite(ctx, p.UserID, req.GetCode())
	if err != nil {
		return nil, err
	}
	return &serverv1.AcceptInviteResponse{Server: srv}, nil
}

// CreateChannel implements ServerService.
func (a *GuildAPI) CreateChannel(ctx context.Context, req *serverv1.CreateChannelRequest) (*serverv1.CreateChannelResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := a.svc.CreateChannel(ctx, p.UserID, req.GetServerId(), req.GetName(), req.GetTopic())
	if err != nil {
		return nil, err
	}
	return &serverv1.CreateChannelResponse{Channel: ch}, nil
}

// ListChannels implements ServerService.
func (a *GuildAPI) ListChannels(ctx context.Context, req *serverv1.ListChannelsRequest) (*serverv1.ListChannelsResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	chs, err := a.svc.ListChannels(ctx, p.UserID, req.GetServerId())
	if err != nil {
		return nil, err
	}
	return &serverv1.ListChannelsResponse{Channels: chs}, nil
}

// UpdateChannel implements ServerService.
func (a *GuildAPI) UpdateChannel(ctx context.Context, req *serverv1.UpdateChannelRequest) (*serverv1.UpdateChannelResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := a.svc.UpdateChannel(ctx, p.UserID, req.GetChannelId(), req.GetUpdateMask().GetPaths(), req.GetChannel().GetName(), req.GetChannel().GetTopic())
	if err != nil {
		return nil, err
	}
	return &serverv1.UpdateChannelResponse{Channel: ch}, nil
}

// DeleteChannel implements ServerService.
func (a *GuildAPI) DeleteChannel(ctx context.Context, req *serverv1.DeleteChannelRequest) (*serverv1.DeleteChannelResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.DeleteChannel(ctx, p.UserID, req.GetChannelId()); err != nil {
		return nil, err
	}
	return &serverv1.DeleteChannelResponse{}, nil
}

// ReorderChannels implements ServerService.
func (a *GuildAPI) ReorderChannels(ctx context.Context, req *serverv1.ReorderChannelsRequest) (*serverv1.ReorderChannelsResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	chs, err := a.svc.ReorderChannels(ctx, p.UserID, req.GetServerId(), req.GetChannelIds())
	if err != nil {
		return nil, err
	}
	return &serverv1.ReorderChannelsResponse{Channels: chs}, nil
}

// OpenConversation implements ServerService.
func (a *GuildAPI) OpenConversation(ctx context.Context, req *serverv1.OpenConversationRequest) (*serverv1.OpenConversationResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	srv, ch, created, err := a.svc.OpenConversation(ctx, p.UserID, req.GetUserId())
	if err != nil {
		return nil, err
	}
	return &serverv1.OpenConversationResponse{Server: srv, Channel: ch, Created: created}, nil
}

// FilterSharedUsers implements ServerInternalService.
func (a *GuildAPI) FilterSharedUsers(ctx context.Context, req *serverv1.FilterSharedUsersRequest) (*serverv1.FilterSharedUsersResponse, error) {
	ids, err := a.svc.FilterSharedUsers(ctx, req.GetUserId(), req.GetUserIds())
	if err != nil {
		return nil, err
	}
	return &serverv1.FilterSharedUsersResponse{UserIds: ids}, nil
}

// GetMemberRole implements ServerInternalService.
func (a *GuildAPI) GetMemberRole(ctx context.Context, req *serverv1.GetMemberRoleRequest) (*serverv1.GetMemberRoleResponse, error) {
	role, name, err := a.svc.GetMemberRole(ctx, req.GetServerId(), req.GetUserId())
	if err != nil {
		return nil, err
	}
	return &serverv1.GetMemberRoleResponse{Role: role, ServerName: name}, nil
}
