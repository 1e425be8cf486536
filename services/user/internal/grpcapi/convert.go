package grpcapi

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/services/user/internal/account"
)

// UserProto is the public profile of u: it never carries the password hash.
func UserProto(u account.User) *userv1.User {
	p := &userv1.User{
		Id: u.ID, Login: u.Login, DisplayName: u.DisplayName, StatusText: u.StatusText, Operator: u.Operator, Avatar: u.Avatar,
	}
	if !u.CreatedAt.IsZero() {
		p.CreateTime = timestamppb.New(u.CreatedAt)
	}
	return p
}

func usersProto(us []account.User) []*userv1.User {
	out := make([]*userv1.User, len(us))
	for i, u := range us {
		out[i] = UserProto(u)
	}
	return out
}

func tokensProto(a account.Auth) *userv1.Tokens {
	return &userv1.Tokens{
		AccessToken:            a.AccessToken,
		AccessTokenExpireTime:  timestamppb.New(a.AccessExpires),
		RefreshToken:           a.RefreshToken,
		RefreshTokenExpireTime: timestamppb.New(a.RefreshExpires),
		SessionId:              a.SessionID,
	}
}

// RelTypeProto maps a domain relationship type onto the API's.
func RelTypeProto(t account.RelType) userv1.RelationshipType {
	switch t {
	case account.RelFriend:
		return userv1.RelationshipType_RELATIONSHIP_TYPE_FRIEND
	case account.RelIncoming:
		return userv1.RelationshipType_RELATIONSHIP_TYPE_INCOMING_REQUEST
	case account.RelOutgoing:
		return userv1.RelationshipType_RELATIONSHIP_TYPE_OUTGOING_REQUEST
	case account.RelBlocked:
		return userv1.RelationshipType_RELATIONSHIP_TYPE_BLOCKED
	}
	return userv1.RelationshipType_RELATIONSHIP_TYPE_UNSPECIFIED
}

func relTypeDomain(t userv1.RelationshipType) account.RelType {
	switch t {
	case userv1.RelationshipType_RELATIONSHIP_TYPE_FRIEND:
		return account.RelFriend
	case userv1.RelationshipType_RELATIONSHIP_TYPE_INCOMING_REQUEST:
		return account.RelIncoming
	case userv1.RelationshipType_RELATIONSHIP_TYPE_OUTGOING_REQUEST:
		return account.RelOutgoing
	case userv1.RelationshipType_RELATIONSHIP_TYPE_BLOCKED:
		return account.RelBlocked
	}
	return account.RelNone
}

// RelationshipProto is a relationship as its owner sees it.
func RelationshipProto(v account.View) *userv1.Relationship {
	r := &userv1.Relationship{UserId: v.Other.ID, Type: RelTypeProto(v.Type), User: UserProto(v.Other)}
	if !v.UpdatedAt.IsZero() {
		r.UpdateTime = timestamppb.New(v.UpdatedAt)
	}
	return r
}

// sessionProto is a session as its owner sees it; current is the caller's
// own session id. A session never touched since it opened was last used then.
func sessionProto(s account.Session, current string) *userv1.Session {
	used := s.LastUsedAt
	if used.IsZero() {
		used = s.CreatedAt
	}
	return &userv1.Session{
		SessionId: s.ID, Client: s.Client,
		CreateTime: timestamppb.New(s.CreatedAt), LastUsedTime: timestamppb.New(used),
		Current: s.ID == current,
	}
}
