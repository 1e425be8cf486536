// Package guild is the structural half of the server service: servers
// (guilds), members and roles, invites, channels and private conversations.
// It holds the rules (who may do what, in which order writes happen so that
// concurrent calls and crashes leave no orphans); storage sits behind Store,
// the user service behind UserDirectory and the event log behind Events.
// It imports no storage or transport package.
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

	"github.com/accordchat/accord/platform/errs"
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

// UserInfo is what the guild half shows of a user.
type UserInfo struct {
	ID, Login, DisplayName string
	// Avatar is the user's avatar hash; empty: none.
	Avatar string
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

// Events is where the guild domain announces what it changed, after the
// change is stored. Implementations append to the event log the feed
// reads: server-wide changes to the server's stream, a user's own changes
// (joins, leaves) to the user's.
type Events interface {
	// ServerJoined tells userID they are now a member of s with role.
	ServerJoined(ctx context.Context, userID string, s Server, role Role) error
	// ServerLeft tells userID they are no longer a member of the server;
	// reason is "left", "kicked" or "deleted".
	ServerLeft(ctx context.Context, userID, serverID, reason string) error
	// ServerUpdated tells the server's members about its new state.
	ServerUpdated(ctx context.Context, s Server) error
	// ServerDeleted tells the server's stream it is gone.
	ServerDeleted(ctx context.Context, serverID string) error
	// MemberAdded, MemberUpdated and MemberRemoved tell the server's members.
	MemberAdded(ctx context.Context, m Member, u UserInfo) error
	MemberUpdated(ctx context.Context, m Member, u UserInfo) error
	MemberRemoved(ctx context.Context, serverID, userID string, kicked bool) error
	// ChannelCreated, ChannelUpdated and ChannelDeleted tell the server's members.
	ChannelCreated(ctx context.Context, c Channel) error
	ChannelUpdated(ctx context.Context, c Channel) error
	ChannelDeleted(ctx context.Context, serverID, channelID string) error
}

// Service implements the guild half's use cases.
type Service struct {
	store  Store
	users  UserDirectory
	events Events
	blobs  Blobs
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Service.
func New(store Store, users UserDirectory, events Events, log *slog.Logger) *Service {
	return &Service{store: store, users: users, events: events, log: log, now: func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }}
}

// errServerNotFound is what a non-member and a missing server both get.
func errServerNotFound() error { return errs.NotFound("server not found") }

func errChannelNotFound() error { return errs.NotFound("channel not found") }

func errConversation() error {
	return errs.FailedPrecondition("not possible in a private conversation").WithReason("CONVERSATION")
}

// membership returns the caller's membership and the server, or NotFound.
func (s *Service) membership(ctx context.Context, serverID, userID string) (Member, Server, error) {
	m, err := s.store.Member(ctx, serverID, userID)
	if err != nil {
		if errorsIsNotFound(err) {
			return m, Server{}, errServerNotFound()
		}
		return m, Server{}, err
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
func (s *Service) authorize(ctx context.Context, serverID, userID string, min Role, guildOnly bool) (Member, Server, error) {
	m, srv, err := s.membership(ctx, serverID, userID)
	if err != nil {
		return m, srv, err
	}
	if guildOnly && srv.Kind == KindDM {
		return m, srv, errConversation()
	}
	if !m.Role.AtLeast(min) {
		return m, srv, errs.PermissionDenied("requires the %s role", min)
	}
	return m, srv, nil
}

func errorsIsNotFound(err error) bool {
	e, ok := errs.As(err)
	return ok && e.Kind == errs.KindNotFound
}

func errorsIsAlreadyExists(err error) bool {
	e, ok := errs.As(err)
	return ok && e.Kind == errs.KindAlreadyExists
}

// publish runs an announcement after a committed write, with a context
// the caller's cancellation does not end; a failure is logged because the
// write cannot be undone and the client must not retry it.
func (s *Service) publish(ctx context.Context, announce func(ctx context.Context) error) {
	if err := announce(context.WithoutCancel(ctx)); err != nil {
		s.log.ErrorContext(ctx, "event append failed", "err", err)
	}
}

// cleanupCtx is for undoing partial writes: they must run even when the
// caller has gone away.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}
