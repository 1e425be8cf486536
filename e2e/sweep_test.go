package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	searchv1 "github.com/accordchat/accord/gen/accord/search/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/suite/suitetest"
)

// self marks a call that concerns only the caller's own data: a signed-in
// outsider may make it, so the sweep does not call it with a valid token.
const self = codes.Code(1000)

// n/a marks a caller class the sweep does not try for a method.
const na = codes.Code(1001)

// rule is what the sweep expects of one RPC. Requests are valid (they pass
// validation) and aim at the world's server, owned by someone else.
type rule struct {
	req func(w *world) proto.Message
	// outsider is the code for a valid token of a user outside the server.
	outsider codes.Code
	// member is the code for a member of the server without the role.
	member codes.Code
	// open methods take no token; openCode is what the harmless request
	// gets whatever token comes with it.
	open     bool
	openCode codes.Code
}

// rules is the one table of expected codes. The sweep fails on any RPC of the
// API that is missing here, so a new RPC cannot be forgotten.
var rules = map[string]rule{
	// User service.
	"accord.user.v1.UserService/Register": {open: true, openCode: codes.AlreadyExists, req: func(w *world) proto.Message {
		return &userv1.RegisterRequest{Login: "OWNER", Password: "whatever-password"}
	}},
	"accord.user.v1.UserService/Login": {open: true, openCode: codes.Unauthenticated, req: func(w *world) proto.Message {
		return &userv1.LoginRequest{Login: "nobody" + platformtest.RandomHex(4), Password: "wrong-password"}
	}},
	"accord.user.v1.UserService/RefreshToken": {open: true, openCode: codes.Unauthenticated, req: func(w *world) proto.Message {
		return &userv1.RefreshTokenRequest{RefreshToken: "bogus-refresh-token"}
	}},
	"accord.user.v1.UserService/Logout":         {outsider: self, member: na, req: func(w *world) proto.Message { return &userv1.LogoutRequest{} }},
	"accord.user.v1.UserService/GetCurrentUser": {outsider: codes.OK, member: na, req: func(w *world) proto.Message { return &userv1.GetCurrentUserRequest{} }},
	// A wrong current password: the sweep only calls it without a valid token.
	"accord.user.v1.UserService/ChangePassword": {outsider: self, member: na, req: func(w *world) proto.Message {
		return &userv1.ChangePasswordRequest{CurrentPassword: "wrong-password", NewPassword: "whatever-password"}
	}},
	"accord.user.v1.UserService/ListSessions": {outsider: self, member: na, req: func(w *world) proto.Message { return &userv1.ListSessionsRequest{} }},
	// Another user's session is not found, for anyone but its owner.
	"accord.user.v1.UserService/RevokeSession": {outsider: codes.NotFound, member: codes.NotFound, req: func(w *world) proto.Message {
		return &userv1.RevokeSessionRequest{SessionId: w.owner.session}
	}},
	"accord.user.v1.UserService/UpdateCurrentUser": {outsider: self, member: na, req: func(w *world) proto.Message {
		return &userv1.UpdateCurrentUserRequest{User: &userv1.UserUpdate{DisplayName: "x"}, UpdateMask: mask("display_name")}
	}},
	"accord.user.v1.UserService/GetUser":           {outsider: codes.OK, member: na, req: func(w *world) proto.Message { return &userv1.GetUserRequest{UserId: w.owner.id} }},
	"accord.user.v1.UserService/BatchGetUsers":     {outsider: codes.OK, member: na, req: func(w *world) proto.Message { return &userv1.BatchGetUsersRequest{UserIds: []string{w.owner.id}} }},
	"accord.user.v1.UserService/LookupUser":        {outsider: codes.OK, member: na, req: func(w *world) proto.Message { return &userv1.LookupUserRequest{Login: "owner"} }},
	"accord.user.v1.UserService/SearchUsers":       {outsider: codes.OK, member: na, req: func(w *world) proto.Message { return &userv1.SearchUsersRequest{LoginPrefix: "own"} }},
	"accord.user.v1.UserService/SendFriendRequest": {outsider: self, member: na, req: func(w *world) proto.Message { return &userv1.SendFriendRequestRequest{Login: "owner"} }},
	"accord.user.v1.UserService/AcceptFriendRequest": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &userv1.AcceptFriendRequestRequest{UserId: w.owner.id}
	}},
	"accord.user.v1.UserService/DeclineFriendRequest": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &userv1.DeclineFriendRequestRequest{UserId: w.owner.id}
	}},
	"accord.user.v1.UserService/CancelFriendRequest": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &userv1.CancelFriendRequestRequest{UserId: w.owner.id}
	}},
	"accord.user.v1.UserService/RemoveFriend":      {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message { return &userv1.RemoveFriendRequest{UserId: w.owner.id} }},
	"accord.user.v1.UserService/BlockUser":         {outsider: self, member: na, req: func(w *world) proto.Message { return &userv1.BlockUserRequest{UserId: w.owner.id} }},
	"accord.user.v1.UserService/UnblockUser":       {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message { return &userv1.UnblockUserRequest{UserId: w.owner.id} }},
	"accord.user.v1.UserService/ListRelationships": {outsider: codes.OK, member: na, req: func(w *world) proto.Message { return &userv1.ListRelationshipsRequest{} }},
	"accord.user.v1.UserService/SetOperator": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &userv1.SetOperatorRequest{UserId: w.outsider.id, Operator: true}
	}},
	// Avatars: setting and removing one is the caller's own; anyone signed
	// in may read anyone's (the owner has none: NOT_FOUND).
	"accord.user.v1.UserService/UploadAvatar": {outsider: self, member: na, req: func(w *world) proto.Message {
		return &userv1.UploadAvatarRequest{Chunk: []byte("not an image")}
	}},
	"accord.user.v1.UserService/DeleteAvatar": {outsider: self, member: na, req: func(w *world) proto.Message { return &userv1.DeleteAvatarRequest{} }},
	"accord.user.v1.UserService/GetAvatar": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &userv1.GetAvatarRequest{UserId: w.owner.id}
	}},
	// The gateway's direct path for avatars: an upload is the caller's own
	// (it can only ever name keys under its own user); locating one is
	// reading it, as GetAvatar.
	"accord.user.v1.UserService/CreateAvatarUpload": {outsider: self, member: na, req: func(w *world) proto.Message {
		return &userv1.CreateAvatarUploadRequest{}
	}},
	"accord.user.v1.UserService/CompleteAvatarUpload": {outsider: self, member: na, req: func(w *world) proto.Message {
		return &userv1.CompleteAvatarUploadRequest{UploadId: strings.Repeat("0", 32)}
	}},
	"accord.user.v1.UserService/LocateAvatar": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &userv1.LocateAvatarRequest{UserId: w.owner.id}
	}},
	"accord.user.v1.UserInternalService/CheckRelationships": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &userv1.CheckRelationshipsRequest{UserId: w.owner.id, OtherIds: []string{w.member.id}}
	}},

	// Server service: servers and members.
	"accord.server.v1.ServerService/CreateServer": {outsider: self, member: na, req: func(w *world) proto.Message { return &serverv1.CreateServerRequest{Name: "mine"} }},
	"accord.server.v1.ServerService/GetServer":    {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message { return &serverv1.GetServerRequest{ServerId: w.serverID} }},
	"accord.server.v1.ServerService/ListServers":  {outsider: codes.OK, member: na, req: func(w *world) proto.Message { return &serverv1.ListServersRequest{} }},
	"accord.server.v1.ServerService/UpdateServer": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.UpdateServerRequest{ServerId: w.serverID, Server: &serverv1.ServerUpdate{Name: "taken over"}, UpdateMask: mask("name")}
	}},
	"accord.server.v1.ServerService/DeleteServer": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.DeleteServerRequest{ServerId: w.serverID}
	}},
	"accord.server.v1.ServerService/TransferOwnership": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.TransferOwnershipRequest{ServerId: w.serverID, UserId: w.member.id}
	}},
	"accord.server.v1.ServerService/AddMember": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.AddMemberRequest{ServerId: w.serverID, Login: "outsider"}
	}},
	"accord.server.v1.ServerService/ListMembers": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.ListMembersRequest{ServerId: w.serverID}
	}},
	"accord.server.v1.ServerService/RemoveMember": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.RemoveMemberRequest{ServerId: w.serverID, UserId: w.admin.id}
	}},
	"accord.server.v1.ServerService/SetMemberRole": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.SetMemberRoleRequest{ServerId: w.serverID, UserId: w.member.id, Role: serverv1.Role_ROLE_ADMIN}
	}},
	"accord.server.v1.ServerService/LeaveServer": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.LeaveServerRequest{ServerId: w.serverID}
	}},
	// Invites.
	"accord.server.v1.ServerService/CreateInvite": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.CreateInviteRequest{ServerId: w.serverID}
	}},
	"accord.server.v1.ServerService/ListInvites": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.ListInvitesRequest{ServerId: w.serverID}
	}},
	"accord.server.v1.ServerService/DeleteInvite": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.DeleteInviteRequest{ServerId: w.serverID, Code: w.inviteCode}
	}},
	"accord.server.v1.ServerService/GetInvite":    {outsider: codes.OK, member: na, req: func(w *world) proto.Message { return &serverv1.GetInviteRequest{Code: w.inviteCode} }},
	"accord.server.v1.ServerService/AcceptInvite": {outsider: self, member: na, req: func(w *world) proto.Message { return &serverv1.AcceptInviteRequest{Code: w.inviteCode} }},
	// Channels.
	"accord.server.v1.ServerService/CreateChannel": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.CreateChannelRequest{ServerId: w.serverID, Name: "intrusion"}
	}},
	"accord.server.v1.ServerService/ListChannels": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.ListChannelsRequest{ServerId: w.serverID}
	}},
	"accord.server.v1.ServerService/UpdateChannel": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.UpdateChannelRequest{ChannelId: w.channelID, Channel: &serverv1.ChannelUpdate{Topic: "defaced"}, UpdateMask: mask("topic")}
	}},
	"accord.server.v1.ServerService/DeleteChannel": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.DeleteChannelRequest{ChannelId: w.channelID}
	}},
	"accord.server.v1.ServerService/ReorderChannels": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.ReorderChannelsRequest{ServerId: w.serverID, ChannelIds: []string{w.channelID}}
	}},
	"accord.server.v1.ServerService/OpenConversation": {outsider: codes.FailedPrecondition, member: na, req: func(w *world) proto.Message {
		return &serverv1.OpenConversationRequest{UserId: w.owner.id}
	}},
	// Messages.
	"accord.server.v1.ServerService/SendMessage": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.SendMessageRequest{ChannelId: w.channelID, Content: "intruder"}
	}},
	"accord.server.v1.ServerService/ListMessages": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.ListMessagesRequest{ChannelId: w.channelID}
	}},
	"accord.server.v1.ServerService/UpdateMessage": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.UpdateMessageRequest{ChannelId: w.channelID, MessageId: w.ownerMsgID, Content: "forged"}
	}},
	"accord.server.v1.ServerService/DeleteMessage": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.DeleteMessageRequest{ChannelId: w.channelID, MessageId: w.ownerMsgID}
	}},
	"accord.server.v1.ServerService/MarkRead": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.MarkReadRequest{ChannelId: w.channelID, MessageId: w.ownerMsgID}
	}},
	"accord.server.v1.ServerService/ListReadStates": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.ListReadStatesRequest{ServerId: w.serverID}
	}},
	"accord.server.v1.ServerService/SendTyping": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.SendTypingRequest{ChannelId: w.channelID}
	}},
	// Mentions and notification settings: the caller's own; an outsider's
	// inbox and settings hold nothing of the server.
	"accord.server.v1.ServerService/ListMentions": {outsider: codes.OK, member: na, req: func(w *world) proto.Message {
		return &serverv1.ListMentionsRequest{}
	}},
	"accord.server.v1.ServerService/GetNotificationSettings": {outsider: codes.OK, member: na, req: func(w *world) proto.Message {
		return &serverv1.GetNotificationSettingsRequest{}
	}},
	"accord.server.v1.ServerService/UpdateServerNotificationSettings": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.UpdateServerNotificationSettingsRequest{ServerId: w.serverID, Level: serverv1.NotificationLevel_NOTIFICATION_LEVEL_NOTHING}
	}},
	"accord.server.v1.ServerService/UpdateChannelNotificationSettings": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.UpdateChannelNotificationSettingsRequest{ChannelId: w.channelID, Muted: true}
	}},
	// Reactions and pins. Members may react and list; only owners and
	// admins pin.
	"accord.server.v1.ServerService/AddReaction": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.AddReactionRequest{ChannelId: w.channelID, MessageId: w.ownerMsgID, Emoji: "👍"}
	}},
	"accord.server.v1.ServerService/RemoveReaction": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.RemoveReactionRequest{ChannelId: w.channelID, MessageId: w.ownerMsgID, Emoji: "👍"}
	}},
	"accord.server.v1.ServerService/ListReactions": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.ListReactionsRequest{ChannelId: w.channelID, MessageId: w.ownerMsgID, Emoji: "👍"}
	}},
	"accord.server.v1.ServerService/PinMessage": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.PinMessageRequest{ChannelId: w.channelID, MessageId: w.ownerMsgID}
	}},
	"accord.server.v1.ServerService/UnpinMessage": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.UnpinMessageRequest{ChannelId: w.channelID, MessageId: w.ownerMsgID}
	}},
	"accord.server.v1.ServerService/ListPins": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.ListPinsRequest{ChannelId: w.channelID}
	}},
	// Attachments. The upload sends its header only: an outsider is refused
	// before any byte, a member's empty file is refused, nothing is stored.
	"accord.server.v1.ServerService/UploadAttachment": {outsider: codes.NotFound, member: codes.InvalidArgument, req: func(w *world) proto.Message {
		return &serverv1.UploadAttachmentRequest{Part: &serverv1.UploadAttachmentRequest_Header{
			Header: &serverv1.UploadAttachmentHeader{ChannelId: w.channelID, Name: "intruder.txt"}}}
	}},
	"accord.server.v1.ServerService/ReadAttachment": {outsider: codes.NotFound, member: codes.NotFound, req: func(w *world) proto.Message {
		return &serverv1.ReadAttachmentRequest{ChannelId: w.channelID, AttachmentId: w.ownerMsgID}
	}},
	"accord.server.v1.ServerService/LocateAttachment": {outsider: codes.NotFound, member: codes.NotFound, req: func(w *world) proto.Message {
		return &serverv1.LocateAttachmentRequest{ChannelId: w.channelID, AttachmentId: w.ownerMsgID}
	}},
	// Uploads the gateway writes itself: members may start one; nobody
	// completes an upload that is not their own pending one.
	"accord.server.v1.ServerService/CreateUpload": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &serverv1.CreateUploadRequest{ChannelId: w.channelID, Name: "intruder.txt"}
	}},
	"accord.server.v1.ServerService/CompleteUpload": {outsider: codes.NotFound, member: codes.NotFound, req: func(w *world) proto.Message {
		return &serverv1.CompleteUploadRequest{ChannelId: w.channelID, AttachmentId: w.ownerMsgID}
	}},
	// Admitted, but an outsider's feed carries nothing of the server: the
	// first receive times out (checked as DeadlineExceeded).
	"accord.events.v1.EventService/StreamEvents": {outsider: codes.DeadlineExceeded, member: na, req: func(w *world) proto.Message {
		return &eventsv1.StreamEventsRequest{}
	}},
	// Server icons: the upload sends its header only, refused before any
	// byte is read; the world's server has no icon, so members get NOT_FOUND.
	"accord.server.v1.ServerService/UploadServerIcon": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.UploadServerIconRequest{Part: &serverv1.UploadServerIconRequest_Header{
			Header: &serverv1.UploadServerIconHeader{ServerId: w.serverID}}}
	}},
	"accord.server.v1.ServerService/DeleteServerIcon": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.DeleteServerIconRequest{ServerId: w.serverID}
	}},
	"accord.server.v1.ServerService/GetServerIcon": {outsider: codes.NotFound, member: codes.NotFound, req: func(w *world) proto.Message {
		return &serverv1.GetServerIconRequest{ServerId: w.serverID}
	}},
	// The gateway's direct path for icons: the role of UploadServerIcon
	// to start or complete one, membership to locate one.
	"accord.server.v1.ServerService/CreateServerIconUpload": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.CreateServerIconUploadRequest{ServerId: w.serverID}
	}},
	"accord.server.v1.ServerService/CompleteServerIconUpload": {outsider: codes.NotFound, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.CompleteServerIconUploadRequest{ServerId: w.serverID, UploadId: strings.Repeat("0", 32)}
	}},
	"accord.server.v1.ServerService/LocateServerIcon": {outsider: codes.NotFound, member: codes.NotFound, req: func(w *world) proto.Message {
		return &serverv1.LocateServerIconRequest{ServerId: w.serverID}
	}},
	"accord.events.v1.EventInternalService/FollowScopes": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &eventsv1.FollowScopesRequest{Add: []*eventsv1.Cursor{{Scope: "server:" + w.serverID}}}
	}},
	"accord.events.v1.EventInternalService/ReadScopes": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &eventsv1.ReadScopesRequest{Cursors: []*eventsv1.Cursor{{Scope: "server:" + w.serverID, Position: "0-0"}}}
	}},
	"accord.server.v1.ServerInternalService/AnnounceProfile": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.AnnounceProfileRequest{UserId: w.owner.id, Login: "owner", DisplayName: "taken over"}
	}},
	"accord.server.v1.ServerInternalService/FilterSharedUsers": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.FilterSharedUsersRequest{UserId: w.owner.id, UserIds: []string{w.member.id}}
	}},
	"accord.server.v1.ServerInternalService/GetMemberRole": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.GetMemberRoleRequest{ServerId: w.serverID, UserId: w.owner.id}
	}},
	"accord.server.v1.ServerInternalService/BatchGetServers": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.BatchGetServersRequest{ServerIds: []string{w.serverID}}
	}},
	"accord.server.v1.ServerInternalService/GetMessageSpan": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.GetMessageSpanRequest{}
	}},
	"accord.server.v1.ServerInternalService/ExportMessageCounts": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.ExportMessageCountsRequest{StartTime: timestamppb.New(time.Unix(0, 0)), EndTime: timestamppb.Now()}
	}},
	"accord.server.v1.ServerInternalService/GetStoredBytes": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.GetStoredBytesRequest{}
	}},
	"accord.server.v1.ServerInternalService/ExportMessages": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &serverv1.ExportMessagesRequest{}
	}},

	// Presence.
	"accord.presence.v1.PresenceService/OpenSession": {outsider: self, member: na, req: func(w *world) proto.Message { return &presencev1.OpenSessionRequest{} }},
	"accord.presence.v1.PresenceService/Heartbeat": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &presencev1.HeartbeatRequest{SessionId: w.ownerSession}
	}},
	"accord.presence.v1.PresenceService/CloseSession": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &presencev1.CloseSessionRequest{SessionId: w.ownerSession}
	}},
	"accord.presence.v1.PresenceService/SetStatus": {outsider: self, member: na, req: func(w *world) proto.Message {
		return &presencev1.SetStatusRequest{Status: presencev1.Status_STATUS_IDLE}
	}},
	"accord.presence.v1.PresenceService/BatchGetPresence": {outsider: codes.OK, member: na, req: func(w *world) proto.Message {
		return &presencev1.BatchGetPresenceRequest{UserIds: []string{w.owner.id}}
	}},
	"accord.presence.v1.PresenceService/WatchPresence": {outsider: codes.OK, member: na, req: func(w *world) proto.Message {
		return &presencev1.WatchPresenceRequest{UserIds: []string{w.owner.id}}
	}},

	// Search: a server's messages only for its members.
	"accord.search.v1.SearchService/SearchMessages": {outsider: codes.NotFound, member: na, req: func(w *world) proto.Message {
		return &searchv1.SearchMessagesRequest{ServerId: w.serverID, Query: "intruder"}
	}},
	"accord.search.v1.SearchService/Reindex": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &searchv1.ReindexRequest{}
	}},

	// Stats.
	"accord.stats.v1.StatsService/GetTopUsers": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &statsv1.GetTopUsersRequest{Metric: statsv1.Metric_METRIC_MESSAGES, ServerId: w.serverID}
	}},
	"accord.stats.v1.StatsService/GetTopServers": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &statsv1.GetTopServersRequest{}
	}},
	"accord.stats.v1.StatsService/GetActivity": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &statsv1.GetActivityRequest{Metric: statsv1.Metric_METRIC_MESSAGES, ServerId: w.serverID}
	}},
	"accord.stats.v1.StatsService/GetChart": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_TOP_SERVERS}
	}},
	"accord.stats.v1.StatsService/RebuildCounters": {outsider: codes.PermissionDenied, member: codes.PermissionDenied, req: func(w *world) proto.Message {
		return &statsv1.RebuildCountersRequest{}
	}},
}

// apiMethods lists every RPC of the Accord packages from the registered
// descriptors.
func apiMethods() []protoreflect.MethodDescriptor {
	var out []protoreflect.MethodDescriptor
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "accord.") {
			return true
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				out = append(out, sd.Methods().Get(j))
			}
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].FullName() < out[j].FullName() })
	return out
}

func methodKey(md protoreflect.MethodDescriptor) string {
	return string(md.Parent().FullName()) + "/" + string(md.Name())
}

func connFor(s *suitetest.Stack, md protoreflect.MethodDescriptor) grpc.ClientConnInterface {
	svc := strings.Split(string(md.ParentFile().Package()), ".")[1]
	if svc == "events" {
		svc = "server" // the server service serves the feed
	}
	return s.Conns()[svc]
}

// snapshot hashes every document of every collection.
func snapshot(t *testing.T, db *mongo.Database) map[string]string {
	t.Helper()
	ctx := context.Background()
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		cur, err := db.Collection(n).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		count := 0
		for cur.Next(ctx) {
			count++
			h.Write(cur.Current)
		}
		_ = cur.Close(ctx)
		out[n] = fmt.Sprintf("%d:%s", count, hex.EncodeToString(h.Sum(nil))[:16])
	}
	return out
}

func TestAccessSweep(t *testing.T) {
	s := suitetest.Start(t, nil)
	c := newClients(s)
	w := build(t, s, c)

	methods := apiMethods()
	if len(methods) < 50 {
		t.Fatalf("only %d methods found in the descriptors", len(methods))
	}
	for _, md := range methods {
		if _, ok := rules[methodKey(md)]; !ok {
			t.Errorf("%s has no entry in the sweep table", methodKey(md))
		}
	}
	before := snapshot(t, s.Env.DB)
	calls := 0
	for _, md := range methods {
		r, ok := rules[methodKey(md)]
		if !ok {
			continue
		}
		conn := connFor(s, md)
		full := "/" + methodKey(md)
		out, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
		if err != nil {
			t.Fatal(err)
		}
		try := func(class, token string, want codes.Code) {
			if want == self || want == na {
				return
			}
			t.Run(string(md.Name())+"/"+class, func(t *testing.T) {
				timeout := 10 * time.Second
				if md.IsStreamingServer() && want == codes.DeadlineExceeded {
					timeout = 300 * time.Millisecond
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				if token != "" {
					ctx = auth.WithBearer(ctx, token)
				}
				calls++
				err := invoke(ctx, conn, full, md.IsStreamingServer() || md.IsStreamingClient(), r.req(w), out.New().Interface())
				if got := status.Code(err); got != want {
					t.Errorf("%s as %s: got %v (%v), want %v", full, class, got, status.Convert(err).Message(), want)
				}
			})
		}
		bad := codes.Unauthenticated
		if r.open {
			bad = r.openCode
			try("outsider", w.outsider.token, r.openCode)
		} else {
			try("outsider", w.outsider.token, r.outsider)
			try("member-without-role", w.member.token, r.member)
		}
		try("no-token", "", bad)
		try("malformed-token", w.malformed, bad)
		try("expired-token", w.expired, bad)
		try("logged-out-token", w.revoked, bad)
	}
	after := snapshot(t, s.Env.DB)
	for coll, h := range before {
		if after[coll] != h {
			t.Errorf("collection %s changed during the sweep: %s -> %s", coll, h, after[coll])
		}
	}
	for coll := range after {
		if _, ok := before[coll]; !ok {
			t.Errorf("collection %s appeared during the sweep", coll)
		}
	}
	t.Logf("sweep: %d methods, %d refused-or-checked calls", len(methods), calls)
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
