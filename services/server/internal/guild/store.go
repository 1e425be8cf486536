package guild

import (
	"context"
	"time"
)

// This file holds the guild domain's types and the storage it needs. The
// stores are implemented by internal/mongo (and any other backend); the
// contract suites in internal/storetest pin down what every implementation
// must do.
//
// Conventions for every store method below:
//   - Ids are opaque strings made by package ids (time-ordered, so string
//     order is creation order). A store may assume the ids it is given were
//     made there; an id of another shape names nothing: lookups return
//     errs.NotFound, conditional writes report false, deletes report false.
//   - "NotFound" means an error e with errors.Is(e, errs.ErrNotFound);
//     "AlreadyExists" one with errors.Is(e, errs.ErrAlreadyExists). Any
//     other error is a storage failure the caller passes on.
//   - Times are stored to the millisecond and come back in UTC.
//   - Single-record writes are atomic; nothing spans records unless said.

// Role is a member's role in a server. The values are the ones stored (and
// those of accord.server.v1.Role).
type Role int32

// Roles, from the most to the least powerful.
const (
	// RoleNone is no role: not a member.
	RoleNone   Role = 0
	RoleOwner  Role = 1
	RoleAdmin  Role = 2
	RoleMember Role = 3
)

// rank orders roles: owner > admin > member > none.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// AtLeast reports whether r ranks at least as high as min.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() }

// Outranks reports whether r ranks strictly higher than other.
func (r Role) Outranks(other Role) bool { return r.rank() > other.rank() }

// String names the role as error messages do.
func (r Role) String() string {
	switch r {
	case RoleOwner:
		return "owner"
	case RoleAdmin:
		return "admin"
	case RoleMember:
		return "member"
	}
	return "none"
}

// Kind tells a guild from a private conversation. The values are the ones stored.
type Kind string

// Server kinds.
const (
	KindGuild Kind = "guild"
	KindDM    Kind = "dm"
)

// Server is a guild or a private conversation between two users.
type Server struct {
	ID   string
	Name string // empty for conversations
	Kind Kind
	// OwnerID is the owner of a guild; empty for conversations.
	OwnerID string
	// DMKey is DMKey(a, b) for the conversation of a and b, empty for
	// guilds. It is unique among servers.
	DMKey string
	// DMUserIDs are the two users of a conversation (sorted).
	DMUserIDs []string
	// MemberCount is kept by AddMemberCount; it is for display.
	MemberCount int64
	CreatedAt   time.Time
	// Icon is the hash of the server's icon picture; empty: none.
	Icon string
}

// Member is one user's membership of one server.
type Member struct {
	// ID orders memberships by join time; pages of members and of a user's
	// servers go by it.
	ID       string
	ServerID string
	UserID   string
	Role     Role
	JoinedAt time.Time
}

// Channel is a text channel of a server. A conversation has exactly one,
// whose id is the conversation's id.
type Channel struct {
	ID       string
	ServerID string
	Name     string
	Topic    string
	// Position orders a server's channels (0 first).
	Position  int32
	CreatedAt time.Time
}

// Invite lets users join a server by its code.
type Invite struct {
	// Code is the invite's unique key (NewInviteCode).
	Code      string
	ServerID  string
	CreatorID string
	// ExpiresAt is when the invite stops working; nil never.
	ExpiresAt *time.Time
	// MaxUses limits the joins; 0 is unlimited.
	MaxUses int32
	// Uses counts joins (CountInviteUse). It is for display: the limit is
	// enforced by use slots (InviteStore.ClaimInviteUse).
	Uses      int32
	CreatedAt time.Time
}

// Live reports whether the invite may still be used at now.
func (i Invite) Live(now time.Time) bool {
	return (i.ExpiresAt == nil || now.Before(*i.ExpiresAt)) && (i.MaxUses == 0 || i.Uses < i.MaxUses)
}

// ServerStore keeps servers.
type ServerStore interface {
	// CreateServer stores s as given (s.ID set by the caller). It returns
	// AlreadyExists when a server with s.ID exists, or when s.DMKey is not
	// empty and another server has the same DMKey (the store enforces that
	// key's uniqueness atomically: of concurrent creates with one key
	// exactly one succeeds).
	CreateServer(ctx context.Context, s Server) error
	// Server returns the server with the id, or NotFound.
	Server(ctx context.Context, id string) (Server, error)
	// ServerByDMKey returns the conversation with the key, or NotFound.
	ServerByDMKey(ctx context.Context, key string) (Server, error)
	// ServersByID returns the servers among ids that exist, keyed by id;
	// unknown and malformed ids are left out. It never returns NotFound.
	ServersByID(ctx context.Context, ids []string) (map[string]Server, error)
	// RenameServer sets the server's name and returns the server as
	// updated, or NotFound.
	RenameServer(ctx context.Context, id, name string) (Server, error)
	// SetServerIcon sets the server's icon hash (empty: none) and returns
	// the server as updated, or NotFound.
	SetServerIcon(ctx context.Context, id, icon string) (Server, error)
	// SwapOwner sets the server's OwnerID to to if it is from, atomically;
	// it reports whether it did (false also when there is no such server).
	SwapOwner(ctx context.Context, id, from, to string) (bool, error)
	// AddMemberCount adds delta (which may be negative) to the server's
	// MemberCount atomically. A missing server is not an error.
	AddMemberCount(ctx context.Context, id string, delta int64) error
	// DeleteServer deletes the server record only (see DeleteServerData);
	// it reports whether there was one.
	DeleteServer(ctx context.Context, id string) (bool, error)
	// DeleteServerData deletes everything kept for the server besides its
	// record: members, channels, invites with their use slots, and the
	// messages and read states of its channels (a channel deleted before
	// had its own DeleteChannelData). It tries every kind even when one
	// fails and returns the failures joined; deleting data of a server that
	// has none is not an error.
	DeleteServerData(ctx context.Context, serverID string) error
}

// MemberStore keeps memberships: at most one per (server, user).
type MemberStore interface {
	// CreateMember stores m as given (m.ID set by the caller). kind is the
	// kind of m's server, kept with the membership so that Memberships can
	// filter by it. AlreadyExists when the user already has a membership of
	// the server (atomically: of concurrent creates exactly one succeeds),
	// or when m.ID is taken.
	CreateMember(ctx context.Context, m Member, kind Kind) error
	// Member returns the user's membership of the server, or NotFound.
	Member(ctx context.Context, serverID, userID string) (Member, error)
	// Members returns at most limit memberships of the server with ID
	// greater than after ("" starts at the beginning), in ascending ID
	// order (join order).
	Members(ctx context.Context, serverID, after string, limit int) ([]Member, error)
	// Memberships returns at most limit memberships of the user with ID
	// greater than after ("" starts at the beginning), in ascending ID
	// order; kind "" is any kind, otherwise only memberships created with
	// that kind.
	Memberships(ctx context.Context, userID string, kind Kind, after string, limit int) ([]Member, error)
	// MemberUserIDs returns the user ids of every member of the server, in
	// no particular order.
	MemberUserIDs(ctx context.Context, serverID string) ([]string, error)
	// SetMemberRole changes the membership's role to to if it is from,
	// atomically; it reports whether it did (false when the membership is
	// missing or has another role).
	SetMemberRole(ctx context.Context, serverID, userID string, from, to Role) (bool, error)
	// DeleteMember deletes the membership if its role is role, atomically;
	// it reports whether it did (false when missing or of another role).
	DeleteMember(ctx context.Context, serverID, userID string, role Role) (bool, error)
	// SharedUsers returns the set of those of userIDs who are members of at
	// least one of serverIDs (each maps to true). Any number of ids may be
	// given.
	SharedUsers(ctx context.Context, serverIDs, userIDs []string) (map[string]bool, error)
}

// ChannelStore keeps channels.
type ChannelStore interface {
	// CreateChannel stores c as given (c.ID set by the caller); AlreadyExists
	// when a channel with c.ID exists.
	CreateChannel(ctx context.Context, c Channel) error
	// Channel returns the channel with the id, or NotFound.
	Channel(ctx context.Context, id string) (Channel, error)
	// Channels returns every channel of the server ordered by Position,
	// then ID.
	Channels(ctx context.Context, serverID string) ([]Channel, error)
	// ChannelsOfServers returns every channel of the given servers ordered
	// by ServerID (string order), then Position; channels of one server
	// with equal positions come in no particular order.
	ChannelsOfServers(ctx context.Context, serverIDs []string) ([]Channel, error)
	// UpdateChannel sets the channel's name and topic where not nil and
	// returns the channel as updated, or NotFound.
	UpdateChannel(ctx context.Context, id string, name, topic *string) (Channel, error)
	// SetChannelPosition sets the channel's Position. A missing channel is
	// not an error (it was deleted meanwhile).
	SetChannelPosition(ctx context.Context, id string, pos int32) error
	// DeleteChannel deletes the channel record only (see
	// DeleteChannelData); it reports whether there was one.
	DeleteChannel(ctx context.Context, id string) (bool, error)
	// DeleteChannelData deletes the channel's messages and read states,
	// trying both even when one fails (errors joined).
	DeleteChannelData(ctx context.Context, channelID string) error
}

// InviteStore keeps invites and the use slots of limited ones.
type InviteStore interface {
	// CreateInvite stores inv; AlreadyExists when its Code is taken.
	CreateInvite(ctx context.Context, inv Invite) error
	// Invite returns the invite with the code, or NotFound. Its Uses is
	// the displayed count (CountInviteUse), not the slots taken.
	Invite(ctx context.Context, code string) (Invite, error)
	// Invites returns at most limit invites of the server with a code
	// greater than after ("" starts at the beginning), in ascending code
	// order, live or not.
	Invites(ctx context.Context, serverID, after string, limit int) ([]Invite, error)
	// DeleteInvite deletes the server's invite with the code and its use
	// slots; it reports whether there was such an invite (an invite of
	// another server is not deleted and reports false).
	DeleteInvite(ctx context.Context, serverID, code string) (bool, error)
	// ClaimInviteUse takes one of the inv.MaxUses use slots of a limited
	// invite for userID and reports whether one was free. It is atomic:
	// however many run concurrently, at most inv.MaxUses claims of one
	// code ever succeed.
	ClaimInviteUse(ctx context.Context, inv Invite, userID string) (bool, error)
	// InviteUses counts the use slots of the code taken so far (0 for an
	// unknown code).
	InviteUses(ctx context.Context, code string) (int32, error)
	// CountInviteUse adds one to the invite's displayed Uses. A missing
	// invite is not an error.
	CountInviteUse(ctx context.Context, code string) error
}

// Store is all the storage of the guild domain.
type Store interface {
	ServerStore
	MemberStore
	ChannelStore
	InviteStore
}
