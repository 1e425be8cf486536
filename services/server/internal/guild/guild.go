// Package guild is the structural half of the server service: servers
// (guilds), members and roles, invites, channels and private conversations.
// It holds the rules (who may do what, in which order writes happen so that
// concurrent calls and crashes leave no orphans); storage sits behind Store
// and the user service behind UserDirectory.
//
// Rules every method follows:
//   - A caller who is not a member of a server gets errs.NotFound("server not
//     found"), the very error of a server that does not exist.
//   - Conversations (kind DM) have no owner or admin: the administrative
//     calls (rename, delete, add, kick, roles, invites, channel changes,
//     leave) answer FAILED_PRECONDITION with reason CONVERSATION to their
//     members, checked before the role.
//   - A member lacking the role gets PERMISSION_DENIED. Refused calls change
//     nothing.
//   - Events are appended after the write they describe; a failed append is
//     logged, not returned, because the write has happened.
package guild

import (
	"context"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/access"
)

// Page sizes: 0 means the default; larger values are clamped to the max.
const (
	DefaultServerPage = 100
	MaxServerPage     = 500
	DefaultMemberPage = 100
	MaxMemberPage     = 1000
	DefaultInvitePage = 100
	MaxInvitePage     = 500
	// MaxChannels bounds a server's channels (ListChannels is not paged).
	MaxChannels = 500
	// GeneralChannel is the name of the channel every new server starts with.
	GeneralChannel = "general"
)

// Invite is a document of the invites collection. The code is the _id, so
// it is unique by construction.
type Invite struct {
	Code      string     `bson:"_id"`
	ServerID  string     `bson:"server_id"`
	CreatorID string     `bson:"creator_id"`
	ExpiresAt *time.Time `bson:"expire_at,omitempty"`
	MaxUses   int32      `bson:"max_uses"`
	// Uses counts joins ($inc after each). It is for display: the limit is
	// enforced by use slots (see Store.ClaimInviteUse).
	Uses      int32     `bson:"uses"`
	CreatedAt time.Time `bson:"created_at"`
}

// Live reports whether the invite may still be used at now.
func (i Invite) Live(now time.Time) bool {
	return (i.ExpiresAt == nil || now.Before(*i.ExpiresAt)) && (i.MaxUses == 0 || i.Uses < i.MaxUses)
}

// Store is the storage the guild half needs. Ids are hex strings; a
// malformed id behaves as a missing one. Methods return errs.NotFound and
// errs.AlreadyExists for missing documents and unique index violations.
type Store interface {
	InsertServer(ctx context.Context, s access.ServerDoc) error
	Server(ctx context.Context, id string) (access.ServerDoc, error)
	ServerByDMKey(ctx context.Context, key string) (access.ServerDoc, error)
	ServersByID(ctx context.Context, ids []string) (map[string]access.ServerDoc, error)
	RenameServer(ctx context.Context, id, name string) (access.ServerDoc, error)
	// SwapOwner sets owner_id to to if it is from; false when it was not.
	SwapOwner(ctx context.Context, id, from, to string) (bool, error)
	IncMemberCount(ctx context.Context, id string, delta int64) error
	// DeleteServer deletes the server document; false when it was gone.
	DeleteServer(ctx context.Context, id string) (bool, error)

	// InsertMember adds a membership; kind is the server's kind, kept on the
	// membership so that ListServers filters by kind through the user index.
	InsertMember(ctx context.Context, m access.MemberDoc, kind string) error
	Member(ctx context.Context, serverID, userID string) (access.MemberDoc, error)
	// Members pages a server's members in join (_id) order after the given id.
	Members(ctx context.Context, serverID string, after bson.ObjectID, limit int) ([]access.MemberDoc, error)
	// Memberships pages a user's memberships in _id order; kind "" is any.
	Memberships(ctx context.Context, userID, kind string, after bson.ObjectID, limit int) ([]access.MemberDoc, error)
	MemberUserIDs(ctx context.Context, serverID string) ([]string, error)
	// SetMemberRole changes the role if it is from; false when it was not.
	SetMemberRole(ctx context.Context, serverID, userID string, from, to serverv1.Role) (bool, error)
	// DeleteMember removes the membership if its role is role; false when not.
	DeleteMember(ctx context.Context, serverID, userID string, role serverv1.Role) (bool, error)
	// SharedUsers returns those of userIDs who are members of any of serverIDs.
	SharedUsers(ctx context.Context, serverIDs, userIDs []string) (map[string]bool, error)

	InsertChannel(ctx context.Context, c access.ChannelDoc) error
	Channel(ctx context.Context, id string) (access.ChannelDoc, error)
	// Channels lists a server's channels by position, then id.
	Channels(ctx context.Context, serverID string) ([]access.ChannelDoc, error)
	// UpdateChannel sets the non-nil fields and returns the channel.
	UpdateChannel(ctx context.Context, id string, name, topic *string) (access.ChannelDoc, error)
	SetChannelPosition(ctx context.Context, id string, pos int32) error
	DeleteChannel(ctx context.Context, id string) (bool, error)

	InsertInvite(ctx context.Context, inv Invite) error
	Invite(ctx context.Context, code string) (Invite, error)
	// Invites pages a server's invites in code order after the given code.
	Invites(ctx context.Context, serverID, after string, limit int) ([]Invite, error)
	// DeleteInvite deletes an invite and its use slots.
	DeleteInvite(ctx context.Context, serverID, code string) (bool, error)
	// ClaimInviteUse takes one of a limited invite's MaxUses use slots for
	// userID: false when all are taken. Each slot is a document with a
	// unique _id, so the limit holds under concurrency on any server that
	// enforces unique indexes (FerretDB's conditional updates are not
	// atomic, unique inserts are).
	ClaimInviteUse(ctx context.Context, inv Invite, userID string) (bool, error)
	// InviteUses counts the slots taken.
	InviteUses(ctx context.Context, code string) (int32, error)
	// CountInviteUse adds one to the displayed uses.
	CountInviteUse(ctx context.Context, code string) error

	// DeleteServerData deletes a server's members, channels, invites (with
	// their use slots), messages and read states.
	DeleteServerData(ctx context.Context, serverID string) error
	// DeleteChannelData deletes a channel's messages and read states.
	DeleteChannelData(ctx context.Context, channelID string) error
}

// UserInfo is what the guild half shows of a user.
type UserInfo struct {
	ID, Login, DisplayName string
}

// Relation is how two users relate.
type Relation struct {
	Exists, Friend, Blocked bool
}

// UserDirectory is the user service as the guild half uses it.
type UserDirectory interface {
	// LookupLogin finds a user by login (any case); errs.NotFound if none.
	LookupLogin(ctx context.Context, login string) (UserInfo, error)
	// Users returns the profiles of the ids that exist.
	Users(ctx context.Context, ids []string) (map[string]UserInfo, error)
	// Relation tells how other relates to user.
	Relation(ctx context.Context, userID, otherID string) (Relation, error)
}

// Publisher appends events to scopes; events.Log implements it.
type Publisher interface {
	Append(ctx context.Context, scope string, ev *serverv1.Event) (string, error)
}

// Service implements the guild half's use cases.
type Service struct {
	store Store
	users UserDirectory
	pub   Publisher
	log   *slog.Logger
	now   func() time.Time
}

// New returns a Service.
func New(store Store, users UserDirectory, pub Publisher, log *slog.Logger) *Service {
	return &Service{store: store, users: users, pub: pub, log: log, now: func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }}
}

// errServerNotFound is what a non-member and a missing server both get.
func errServerNotFound() error { return errs.NotFound("server not found") }

func errChannelNotFound() error { return errs.NotFound("channel not found") }

func errConversation() error {
	return errs.FailedPrecondition("not possible in a private conversation").WithReason("CONVERSATION")
}

// membership returns the caller's membership and the server, or NotFound.
func (s *Service) membership(ctx context.Context, serverID, userID string) (access.MemberDoc, access.ServerDoc, error) {
	m, err := s.store.Member(ctx, serverID, userID)
	if err != nil {
		if errorsIsNotFound(err) {
			return m, access.ServerDoc{}, errServerNotFound()
		}
		return m, access.ServerDoc{}, err
	}
	srv, err := s.store.Server(ctx, serverID)
	if err != nil {
		if errorsIsNotFound(err) {
			return m, srv, errServerNotFound()
		}
		return m, srv, err
	}
	return m, srv, nil
}

// authorize checks membership, then that the server is a guild (when
// guildOnly), then the role.
func (s *Service) authorize(ctx context.Context, serverID, userID string, min serverv1.Role, guildOnly bool) (access.MemberDoc, access.ServerDoc, error) {
	m, srv, err := s.membership(ctx, serverID, userID)
	if err != nil {
		return m, srv, err
	}
	if guildOnly && srv.Kind == access.KindDM {
		return m, srv, errConversation()
	}
	if !access.AtLeast(serverv1.Role(m.Role), min) {
		return m, srv, errs.PermissionDenied("requires the %s role", roleName(min))
	}
	return m, srv, nil
}

func roleName(r serverv1.Role) string {
	switch r {
	case serverv1.Role_ROLE_OWNER:
		return "owner"
	case serverv1.Role_ROLE_ADMIN:
		return "admin"
	}
	return "member"
}

func errorsIsNotFound(err error) bool {
	e, ok := errs.As(err)
	return ok && e.Kind == errs.KindNotFound
}

func errorsIsAlreadyExists(err error) bool {
	e, ok := errs.As(err)
	return ok && e.Kind == errs.KindAlreadyExists
}

// publish appends ev to scope after a committed write; a failure is logged
// because the write cannot be undone and the client must not retry it.
func (s *Service) publish(ctx context.Context, scope string, ev *serverv1.Event) {
	if _, err := s.pub.Append(context.WithoutCancel(ctx), scope, ev); err != nil {
		s.log.ErrorContext(ctx, "event append failed", "scope", scope, "err", err)
	}
}

// cleanupCtx is for undoing partial writes: they must run even when the
// caller has gone away.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// pageSize applies the default and the max.
func pageSize(n int32, def, max int) int {
	switch {
	case n <= 0:
		return def
	case int(n) > max:
		return max
	}
	return int(n)
}
