package guild

import (
	"encoding/base64"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/protobuf/types/known/timestamppb"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/access"
)

func kindProto(kind string) serverv1.ServerKind {
	if kind == access.KindDM {
		return serverv1.ServerKind_SERVER_KIND_DM
	}
	return serverv1.ServerKind_SERVER_KIND_GUILD
}

// ServerProto renders a server as seen by a member of the given role
// (ROLE_UNSPECIFIED in server-scope events, which every member reads).
func ServerProto(d access.ServerDoc, role serverv1.Role) *serverv1.Server {
	return &serverv1.Server{
		Id:          d.ID.Hex(),
		Name:        d.Name,
		Kind:        kindProto(d.Kind),
		OwnerId:     d.OwnerID,
		MyRole:      role,
		DmUserIds:   d.DMUserIDs,
		MemberCount: d.MemberCount,
		CreateTime:  timestamppb.New(d.CreatedAt),
	}
}

// MemberProto renders a membership with the user's names when known.
func MemberProto(m access.MemberDoc, u UserInfo) *serverv1.Member {
	return &serverv1.Member{
		ServerId:    m.ServerID,
		UserId:      m.UserID,
		Role:        serverv1.Role(m.Role),
		DisplayName: u.DisplayName,
		Login:       u.Login,
		JoinTime:    timestamppb.New(m.JoinedAt),
	}
}

// ChannelProto renders a channel.
func ChannelProto(c access.ChannelDoc) *serverv1.Channel {
	return &serverv1.Channel{
		Id:         c.ID.Hex(),
		ServerId:   c.ServerID,
		Name:       c.Name,
		Topic:      c.Topic,
		Position:   c.Position,
		CreateTime: timestamppb.New(c.CreatedAt),
	}
}

// InviteProto renders an invite.
func InviteProto(i Invite) *serverv1.Invite {
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

// Page tokens are opaque to clients: base64 of the last key returned.

func encodeToken(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

func decodeToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 {
		return "", errs.Invalid("page_token", "malformed page token")
	}
	return string(b), nil
}

// decodeIDToken decodes a token holding an ObjectID; the zero id means start.
func decodeIDToken(tok string) (bson.ObjectID, error) {
	key, err := decodeToken(tok)
	if err != nil || key == "" {
		return bson.NilObjectID, err
	}
	id, err := bson.ObjectIDFromHex(key)
	if err != nil {
		return bson.NilObjectID, errs.Invalid("page_token", "malformed page token")
	}
	return id, nil
}
