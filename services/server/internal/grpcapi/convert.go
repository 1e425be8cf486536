package grpcapi

import (
	"google.golang.org/protobuf/types/known/timestamppb"
	"strings"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// RoleProto converts a role; the domain's values are the API's.
func RoleProto(r guild.Role) serverv1.Role { return serverv1.Role(r) }

func kindProto(k guild.Kind) serverv1.ServerKind {
	if k == guild.KindDM {
		return serverv1.ServerKind_SERVER_KIND_DM
	}
	return serverv1.ServerKind_SERVER_KIND_GUILD
}

// kindFilter turns a ListServers kind into the domain's filter ("" any).
func kindFilter(k serverv1.ServerKind) guild.Kind {
	switch k {
	case serverv1.ServerKind_SERVER_KIND_GUILD:
		return guild.KindGuild
	case serverv1.ServerKind_SERVER_KIND_DM:
		return guild.KindDM
	}
	return ""
}

// ServerProto renders a server as seen by a member of the given role
// (RoleNone in server-scope events, which every member reads).
func ServerProto(s guild.Server, role guild.Role) *serverv1.Server {
	return &serverv1.Server{
		Id:          s.ID,
		Name:        s.Name,
		Kind:        kindProto(s.Kind),
		OwnerId:     s.OwnerID,
		MyRole:      RoleProto(role),
		DmUserIds:   s.DMUserIDs,
		MemberCount: s.MemberCount,
		CreateTime:  timestamppb.New(s.CreatedAt),
		Icon:        s.Icon,
	}
}

func roleServerProto(s guild.RoleServer) *serverv1.Server { return ServerProto(s.Server, s.MyRole) }

// MemberProto renders a membership with the user's names when known.
func MemberProto(m guild.Member, u guild.UserInfo) *serverv1.Member {
	return &serverv1.Member{
		ServerId:    m.ServerID,
		UserId:      m.UserID,
		Role:        RoleProto(m.Role),
		DisplayName: u.DisplayName,
		Login:       u.Login,
		Avatar:      u.Avatar,
		JoinTime:    timestamppb.New(m.JoinedAt),
	}
}

// ChannelProto renders a channel.
func ChannelProto(c guild.Channel) *serverv1.Channel {
	return &serverv1.Channel{
		Id:         c.ID,
		ServerId:   c.ServerID,
		Name:       c.Name,
		Topic:      c.Topic,
		Position:   c.Position,
		CreateTime: timestamppb.New(c.CreatedAt),
	}
}

func channelProtos(cs []guild.Channel) []*serverv1.Channel {
	out := make([]*serverv1.Channel, len(cs))
	for i, c := range cs {
		out[i] = ChannelProto(c)
	}
	return out
}

// InviteProto renders an invite.
func InviteProto(i guild.Invite) *serverv1.Invite {
	p := &serverv1.Invite{
		Code:       i.Code,
		ServerId:   i.ServerID,
		CreatorId:  i.CreatorID,
		MaxUses:    i.MaxUses,
		Uses:       i.Uses,
		CreateTime: timestamppb.New(i.CreatedAt),
	}
	if i.ExpiresAt != nil {
		p.ExpireTime = timestamppb.New(*i.ExpiresAt)
	}
	return p
}

// MessageProto renders a message.
func MessageProto(v chat.View) *serverv1.Message {
	m := &serverv1.Message{
		Id: v.ID, ServerId: v.ServerID, ChannelId: v.ChannelID, AuthorId: v.AuthorID,
		AuthorName: v.AuthorName, Content: v.Content, CreateTime: timestamppb.New(v.CreatedAt),
		RequestId: v.RequestID, MentionUserIds: v.Mentions.UserIDs, MentionChannelIds: v.Mentions.ChannelIDs,
		MentionEveryone: v.Mentions.Everyone,
		Reactions:       reactionProtos(v.Reactions), Pinned: v.Pinned,
	}
	if v.EditedAt != nil {
		m.EditTime = timestamppb.New(*v.EditedAt)
	}
	if p := v.ReplyTo; p != nil {
		m.ReplyTo = &serverv1.MessagePreview{Id: p.ID, AuthorId: p.AuthorID, AuthorName: p.AuthorName, Content: p.Content, Deleted: p.Deleted}
	}
	for _, a := range v.Attachments {
		m.Attachments = append(m.Attachments, AttachmentProto(a))
	}
	return m
}

// AttachmentProto renders a file's metadata (never its blob keys).
func AttachmentProto(a chat.Attachment) *serverv1.Attachment {
	return &serverv1.Attachment{
		Id: a.ID, ChannelId: a.ChannelID, Name: a.Name, ContentType: a.ContentType, Size: a.Size,
		Width: int32(a.Width), Height: int32(a.Height),
		ThumbnailWidth: int32(a.ThumbWidth), ThumbnailHeight: int32(a.ThumbHeight),
		Spoiler: strings.HasPrefix(a.Name, chat.SpoilerPrefix), UploaderId: a.UploaderID,
		CreateTime: timestamppb.New(a.CreatedAt),
	}
}

func messageProtos(vs []chat.View) []*serverv1.Message {
	out := make([]*serverv1.Message, len(vs))
	for i, v := range vs {
		out[i] = MessageProto(v)
	}
	return out
}

// ReadStateProto renders a read state.
func ReadStateProto(st chat.ReadState) *serverv1.ReadState {
	return &serverv1.ReadState{
		ServerId: st.ServerID, ChannelId: st.ChannelID, LastReadMessageId: st.LastReadID,
		LastMessageId: st.LastMessageID, UnreadCount: int32(st.UnreadCount),
		MentionCount: int32(st.MentionCount), Muted: st.Muted, NotificationLevel: serverv1.NotificationLevel(st.Level),
	}
}

// ServerSettingsProto renders a user's notification settings of a server.
func ServerSettingsProto(st chat.ServerSettings) *serverv1.ServerNotificationSettings {
	return &serverv1.ServerNotificationSettings{
		ServerId: st.ServerID, Level: serverv1.NotificationLevel(st.Level), MutedChannelIds: st.MutedChannelIDs,
	}
}
