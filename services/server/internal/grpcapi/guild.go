// Package grpcapi holds the server service's gRPC handlers. The guild half
// (servers, members, invites, channels, conversations, internal API) and the
// chat half (messages, read states, typing, the event feed) are separate
// types, combined in the service package. Handlers authenticate the caller
// and convert between protos and the domains' values (convert.go); the
// rules live in packages guild and chat. Events (events.go) turns the
// domains' announcements into events on the log, and UserDirectory and
// UserServiceNames (users.go) reach the user service.
package grpcapi

import (
	"context"
	"time"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// GuildAPI implements the structural methods of ServerService and the
// ServerInternalService. Handlers only authenticate the caller and convert
// requests and responses; the rules live in package guild.
type GuildAPI struct {
	serverv1.UnimplementedServerServiceServer
	serverv1.UnimplementedServerInternalServiceServer

	svc *guild.Service
}

// NewGuildAPI returns the guild half's handlers over svc.
func NewGuildAPI(svc *guild.Service) *GuildAPI { return &GuildAPI{svc: svc} }

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
	return &serverv1.CreateServerResponse{Server: ServerProto(srv, guild.RoleOwner), Channel: ChannelProto(ch)}, nil
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
	return &serverv1.GetServerResponse{Server: roleServerProto(srv)}, nil
}

// ListServers implements ServerService.
func (a *GuildAPI) ListServers(ctx context.Context, req *serverv1.ListServersRequest) (*serverv1.ListServersResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	srvs, next, err := a.svc.ListServers(ctx, p.UserID, kindFilter(req.GetKind()), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := make([]*serverv1.Server, len(srvs))
	for i, s := range srvs {
		out[i] = roleServerProto(s)
	}
	return &serverv1.ListServersResponse{Servers: out, NextPageToken: next}, nil
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
	return &serverv1.UpdateServerResponse{Server: roleServerProto(srv)}, nil
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
	return &serverv1.TransferOwnershipResponse{Server: roleServerProto(srv)}, nil
}

// AddMember implements ServerService.
func (a *GuildAPI) AddMember(ctx context.Context, req *serverv1.AddMemberRequest) (*serverv1.AddMemberResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	m, u, err := a.svc.AddMember(ctx, p.UserID, req.GetServerId(), req.GetLogin())
	if err != nil {
		return nil, err
	}
	return &serverv1.AddMemberResponse{Member: MemberProto(m, u)}, nil
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
	out := make([]*serverv1.Member, len(ms))
	for i, m := range ms {
		out[i] = MemberProto(m.Member, m.User)
	}
	return &serverv1.ListMembersResponse{Members: out, NextPageToken: next}, nil
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
	m, err := a.svc.SetMemberRole(ctx, p.UserID, req.GetServerId(), req.GetUserId(), guild.Role(req.GetRole()))
	if err != nil {
		return nil, err
	}
	return &serverv1.SetMemberRoleResponse{Member: MemberProto(m.Member, m.User)}, nil
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
	return &serverv1.CreateInviteResponse{Invite: InviteProto(inv)}, nil
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
	out := make([]*serverv1.Invite, len(invs))
	for i, inv := range invs {
		out[i] = InviteProto(inv)
	}
	return &serverv1.ListInvitesResponse{Invites: out, NextPageToken: next}, nil
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
	inv, srv, err := a.svc.GetInvite(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	return &serverv1.GetInviteResponse{Invite: InviteProto(inv), ServerId: inv.ServerID, ServerName: srv.Name, MemberCount: srv.MemberCount}, nil
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
	return &serverv1.AcceptInviteResponse{Server: ServerProto(srv, guild.RoleMember)}, nil
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
	return &serverv1.CreateChannelResponse{Channel: ChannelProto(ch)}, nil
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
	return &serverv1.ListChannelsResponse{Channels: channelProtos(chs)}, nil
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
	return &serverv1.UpdateChannelResponse{Channel: ChannelProto(ch)}, nil
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
	return &serverv1.ReorderChannelsResponse{Channels: channelProtos(chs)}, nil
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
	return &serverv1.OpenConversationResponse{Server: ServerProto(srv, guild.RoleMember), Channel: ChannelProto(ch), Created: created}, nil
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
	return &serverv1.GetMemberRoleResponse{Role: RoleProto(role), ServerName: name}, nil
}

// BatchGetServers implements ServerInternalService.
func (a *GuildAPI) BatchGetServers(ctx context.Context, req *serverv1.BatchGetServersRequest) (*serverv1.BatchGetServersResponse, error) {
	found, err := a.svc.ServersByID(ctx, req.GetServerIds())
	if err != nil {
		return nil, err
	}
	out := &serverv1.BatchGetServersResponse{Servers: make([]*serverv1.Server, 0, len(found))}
	for _, s := range found {
		out.Servers = append(out.Servers, ServerProto(s, guild.RoleNone))
	}
	return out, nil
}
