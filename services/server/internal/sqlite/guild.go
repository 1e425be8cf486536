package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"time"

	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// Servers.

func scanServer(r rowScanner) (guild.Server, error) {
	var sv guild.Server
	var kind string
	var dmKey, dmUsers sql.NullString
	var created int64
	if err := r.Scan(&sv.ID, &sv.Name, &kind, &sv.OwnerID, &dmKey, &dmUsers, &sv.MemberCount, &created, &sv.Icon); err != nil {
		return guild.Server{}, err
	}
	sv.Kind, sv.DMKey, sv.CreatedAt = guild.Kind(kind), dmKey.String, fromMillis(created)
	if dmUsers.Valid {
		if err := json.Unmarshal([]byte(dmUsers.String), &sv.DMUserIDs); err != nil {
			return guild.Server{}, err
		}
	}
	return sv, nil
}

// CreateServer implements guild.ServerStore: the primary key and the
// UNIQUE dm_key make both conflicts AlreadyExists.
func (s *Store) CreateServer(ctx context.Context, sv guild.Server) error {
	var dmUsers any
	if sv.DMUserIDs != nil {
		dmUsers = idList(sv.DMUserIDs)
	}
	_, err := s.db.Exec(ctx, qInsertServer, sv.ID, sv.Name, string(sv.Kind), sv.OwnerID, nullIfEmpty(sv.DMKey), dmUsers,
		sv.MemberCount, millis(sv.CreatedAt), sv.Icon)
	return sqlitex.Err(err, "insert server", nil, exists("server"))
}

// Server implements guild.ServerStore.
func (s *Store) Server(ctx context.Context, id string) (guild.Server, error) {
	sv, err := scanServer(s.db.QueryRow(ctx, qServerByID, id))
	return sv, sqlitex.Err(err, "find server", notFound("server"), nil)
}

// ServerByDMKey implements guild.ServerStore.
func (s *Store) ServerByDMKey(ctx context.Context, key string) (guild.Server, error) {
	if key == "" {
		return guild.Server{}, notFound("server")
	}
	sv, err := scanServer(s.db.QueryRow(ctx, qServerByDM, key))
	return sv, sqlitex.Err(err, "find server", notFound("server"), nil)
}

// ServersByID implements guild.ServerStore.
func (s *Store) ServersByID(ctx context.Context, ids []string) (map[string]guild.Server, error) {
	out := make(map[string]guild.Server, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	svs, err := list(ctx, s, "find servers", scanServer, qServersByIDs, idList(ids))
	if err != nil {
		return nil, err
	}
	for _, sv := range svs {
		out[sv.ID] = sv
	}
	return out, nil
}

// RenameServer implements guild.ServerStore.
func (s *Store) RenameServer(ctx context.Context, id, name string) (guild.Server, error) {
	// RETURNING reads the row the writer just changed, so it runs on the
	// writer, in the statement's own transaction.
	sv, err := scanServer(s.db.Writer().QueryRowContext(ctx, qRenameServer, name, id))
	return sv, sqlitex.Err(err, "rename server", notFound("server"), nil)
}

// SetServerIcon implements guild.ServerStore.
func (s *Store) SetServerIcon(ctx context.Context, id, icon string) (guild.Server, error) {
	sv, err := scanServer(s.db.Writer().QueryRowContext(ctx, qSetIcon, icon, id))
	return sv, sqlitex.Err(err, "set server icon", notFound("server"), nil)
}

// SwapOwner implements guild.ServerStore.
func (s *Store) SwapOwner(ctx context.Context, id, from, to string) (bool, error) {
	return s.exec(ctx, "swap owner", qSwapOwner, to, id, from)
}

// AddMemberCount implements guild.ServerStore.
func (s *Store) AddMemberCount(ctx context.Context, id string, delta int64) error {
	_, err := s.exec(ctx, "count members", qAddMembers, delta, id)
	return err
}

// DeleteServer implements guild.ServerStore.
func (s *Store) DeleteServer(ctx context.Context, id string) (bool, error) {
	defer s.cache.channels.drop() // its channels may go with it
	return s.exec(ctx, "delete server", qDeleteServer, id)
}

// DeleteServerData implements guild.ServerStore.
func (s *Store) DeleteServerData(ctx context.Context, serverID string) error {
	defer s.cache.channels.drop()
	return s.deleteAll(ctx, "delete server data", serverID,
		qDeleteServerMessages, qDeleteServerReads, qDeleteServerMentions, qDeleteServerReactions, qDeleteServerPins, qDeleteServerInvites,
		qDeleteServerUses, qDeleteServerChannels, qDeleteServerMembers)
}

// Members.

func scanMember(r rowScanner) (guild.Member, error) {
	var m guild.Member
	var joined int64
	if err := r.Scan(&m.ID, &m.ServerID, &m.UserID, &m.Role, &joined); err != nil {
		return guild.Member{}, err
	}
	m.JoinedAt = fromMillis(joined)
	return m, nil
}

// CreateMember implements guild.MemberStore: the primary key and the
// UNIQUE (server_id, user_id) make both conflicts AlreadyExists.
func (s *Store) CreateMember(ctx context.Context, m guild.Member, kind guild.Kind) error {
	_, err := s.db.Exec(ctx, qInsertMember, m.ID, m.ServerID, m.UserID, int32(m.Role), string(kind), millis(m.JoinedAt))
	return sqlitex.Err(err, "insert member", nil, exists("member"))
}

// Member implements guild.MemberStore.
func (s *Store) Member(ctx context.Context, serverID, userID string) (guild.Member, error) {
	m, err := scanMember(s.db.QueryRow(ctx, qMember, serverID, userID))
	return m, sqlitex.Err(err, "find member", notFound("member"), nil)
}

// Members implements guild.MemberStore.
func (s *Store) Members(ctx context.Context, serverID, after string, limit int) ([]guild.Member, error) {
	return list(ctx, s, "list members", scanMember, qMembers, serverID, after, limit)
}

// Memberships implements guild.MemberStore.
func (s *Store) Memberships(ctx context.Context, userID string, kind guild.Kind, after string, limit int) ([]guild.Member, error) {
	if kind == "" {
		return list(ctx, s, "list memberships", scanMember, qMemberships, userID, after, limit)
	}
	return list(ctx, s, "list memberships", scanMember, qMembershipsOfKind, userID, string(kind), after, limit)
}

func scanString(r rowScanner) (string, error) {
	var v string
	err := r.Scan(&v)
	return v, err
}

// MemberUserIDs implements guild.MemberStore.
func (s *Store) MemberUserIDs(ctx context.Context, serverID string) ([]string, error) {
	return list(ctx, s, "list member ids", scanString, qMemberUserIDs, serverID)
}

// SetMemberRole implements guild.MemberStore.
func (s *Store) SetMemberRole(ctx context.Context, serverID, userID string, from, to guild.Role) (bool, error) {
	return s.exec(ctx, "set member role", qSetMemberRole, int32(to), serverID, userID, int32(from))
}

// DeleteMember implements guild.MemberStore.
func (s *Store) DeleteMember(ctx context.Context, serverID, userID string, role guild.Role) (bool, error) {
	return s.exec(ctx, "delete member", qDeleteMember, serverID, userID, int32(role))
}

// SharedUsers implements guild.MemberStore.
func (s *Store) SharedUsers(ctx context.Context, serverIDs, userIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(serverIDs) == 0 || len(userIDs) == 0 {
		return out, nil
	}
	users, err := list(ctx, s, "find shared users", scanString, qSharedUsers, idList(userIDs), idList(serverIDs))
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		out[u] = true
	}
	return out, nil
}

// Channels.

func scanChannel(r rowScanner) (guild.Channel, error) {
	var c guild.Channel
	var created int64
	if err := r.Scan(&c.ID, &c.ServerID, &c.Name, &c.Topic, &c.Position, &created); err != nil {
		return guild.Channel{}, err
	}
	c.CreatedAt = fromMillis(created)
	return c, nil
}

// CreateChannel implements guild.ChannelStore.
func (s *Store) CreateChannel(ctx context.Context, c guild.Channel) error {
	_, err := s.db.Exec(ctx, qInsertChannel, c.ID, c.ServerID, c.Name, c.Topic, c.Position, millis(c.CreatedAt))
	return sqlitex.Err(err, "insert channel", nil, exists("channel"))
}

// Channel implements guild.ChannelStore.
func (s *Store) Channel(ctx context.Context, id string) (guild.Channel, error) {
	c, gen, ok := s.cache.channels.get(id)
	if ok {
		return c, nil
	}
	c, err := scanChannel(s.db.QueryRow(ctx, qChannel, id))
	if err != nil {
		return c, sqlitex.Err(err, "find channel", notFound("channel"), nil)
	}
	s.cache.channels.put(gen, id, c)
	return c, nil
}

// Channels implements guild.ChannelStore.
func (s *Store) Channels(ctx context.Context, serverID string) ([]guild.Channel, error) {
	return list(ctx, s, "list channels", scanChannel, qChannels, serverID)
}

// ChannelsOfServers implements guild.ChannelStore.
func (s *Store) ChannelsOfServers(ctx context.Context, serverIDs []string) ([]guild.Channel, error) {
	if len(serverIDs) == 0 {
		return nil, nil
	}
	cs, err := list(ctx, s, "list channels", scanChannel, qChannelsOfServers, idList(serverIDs))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cs, func(a, b guild.Channel) int {
		return cmp.Or(cmp.Compare(a.ServerID, b.ServerID), cmp.Compare(a.Position, b.Position), cmp.Compare(a.ID, b.ID))
	})
	return cs, nil
}

// UpdateChannel implements guild.ChannelStore.
func (s *Store) UpdateChannel(ctx context.Context, id string, name, topic *string) (guild.Channel, error) {
	defer s.cache.channels.drop()
	c, err := scanChannel(s.db.Writer().QueryRowContext(ctx, qUpdateChannel, name, topic, id))
	return c, sqlitex.Err(err, "update channel", notFound("channel"), nil)
}

// SetChannelPosition implements guild.ChannelStore.
func (s *Store) SetChannelPosition(ctx context.Context, id string, pos int32) error {
	defer s.cache.channels.drop()
	_, err := s.exec(ctx, "set channel position", qSetChannelPosition, pos, id)
	return err
}

// DeleteChannel implements guild.ChannelStore.
func (s *Store) DeleteChannel(ctx context.Context, id string) (bool, error) {
	defer s.cache.channels.drop()
	return s.exec(ctx, "delete channel", qDeleteChannel, id)
}

// DeleteChannelData implements guild.ChannelStore.
func (s *Store) DeleteChannelData(ctx context.Context, channelID string) error {
	return s.deleteAll(ctx, "delete channel data", channelID, qDeleteChannelMessages, qDeleteChannelReads, qDeleteChannelMentions,
		qDeleteChannelReactions, qDeleteChannelPins)
}

// Invites.

func scanInvite(r rowScanner) (guild.Invite, error) {
	var inv guild.Invite
	var expires sql.NullInt64
	var created int64
	if err := r.Scan(&inv.Code, &inv.ServerID, &inv.CreatorID, &expires, &inv.MaxUses, &inv.Uses, &created); err != nil {
		return guild.Invite{}, err
	}
	inv.ExpiresAt, inv.CreatedAt = fromOptMillis(expires), fromMillis(created)
	return inv, nil
}

// CreateInvite implements guild.InviteStore.
func (s *Store) CreateInvite(ctx context.Context, inv guild.Invite) error {
	_, err := s.db.Exec(ctx, qInsertInvite, inv.Code, inv.ServerID, inv.CreatorID, optMillis(inv.ExpiresAt),
		inv.MaxUses, inv.Uses, millis(inv.CreatedAt))
	return sqlitex.Err(err, "insert invite", nil, exists("invite"))
}

// Invite implements guild.InviteStore.
func (s *Store) Invite(ctx context.Context, code string) (guild.Invite, error) {
	inv, err := scanInvite(s.db.QueryRow(ctx, qInvite, code))
	return inv, sqlitex.Err(err, "find invite", notFound("invite"), nil)
}

// Invites implements guild.InviteStore.
func (s *Store) Invites(ctx context.Context, serverID, after string, limit int) ([]guild.Invite, error) {
	return list(ctx, s, "list invites", scanInvite, qInvites, serverID, after, limit)
}

// DeleteInvite implements guild.InviteStore: the invite and its use slots
// go in one transaction.
func (s *Store) DeleteInvite(ctx context.Context, serverID, code string) (bool, error) {
	var deleted bool
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qDeleteInvite, code, serverID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		deleted = true
		_, err = tx.ExecContext(ctx, qDeleteUses, code)
		return err
	})
	if err != nil {
		return false, sqlitex.Err(err, "delete invite", nil, nil)
	}
	return deleted, nil
}

// ClaimInviteUse implements guild.InviteStore in one statement.
func (s *Store) ClaimInviteUse(ctx context.Context, inv guild.Invite, userID string) (bool, error) {
	return s.exec(ctx, "claim invite use", qClaimUse, inv.Code, inv.ServerID, userID, millis(time.Now()), inv.MaxUses)
}

// InviteUses implements guild.InviteStore.
func (s *Store) InviteUses(ctx context.Context, code string) (int32, error) {
	var n int32
	err := s.db.QueryRow(ctx, qInviteUses, code).Scan(&n)
	return n, sqlitex.Err(err, "count invite uses", nil, nil)
}

// CountInviteUse implements guild.InviteStore.
func (s *Store) CountInviteUse(ctx context.Context, code string) error {
	_, err := s.exec(ctx, "count invite use", qCountInvite, code)
	return err
}
