package sqlite

// The statements of the stores. Each is served by the primary key or an
// index of migrations/ (plan_test.go checks every one with EXPLAIN QUERY
// PLAN). Lists of ids go in as one JSON array read by json_each, so a
// lookup of many ids is one statement whatever their number.
const (
	serverColumns = `id, name, kind, owner_id, dm_key, dm_user_ids, member_count, created_at, icon`

	qInsertServer = `INSERT INTO servers (` + serverColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qServerByID   = `SELECT ` + serverColumns + ` FROM servers WHERE id = ?`
	qServerByDM   = `SELECT ` + serverColumns + ` FROM servers WHERE dm_key = ?`
	qServersByIDs = `SELECT ` + serverColumns + ` FROM servers WHERE id IN (SELECT value FROM json_each(?))`
	qRenameServer = `UPDATE servers SET name = ? WHERE id = ? RETURNING ` + serverColumns
	qSetIcon      = `UPDATE servers SET icon = ? WHERE id = ? RETURNING ` + serverColumns
	qSwapOwner    = `UPDATE servers SET owner_id = ? WHERE id = ? AND owner_id = ?`
	qAddMembers   = `UPDATE servers SET member_count = member_count + ? WHERE id = ?`
	qDeleteServer = `DELETE FROM servers WHERE id = ?`
	qAnyServer    = `SELECT count(*) FROM (SELECT 1 FROM servers LIMIT 1)`

	memberColumns = `id, server_id, user_id, role, joined_at`

	qInsertMember = `INSERT INTO members (id, server_id, user_id, role, kind, joined_at) VALUES (?, ?, ?, ?, ?, ?)`
	qMember       = `SELECT ` + memberColumns + ` FROM members WHERE server_id = ? AND user_id = ?`
	qMembers      = `SELECT ` + memberColumns + ` FROM members INDEXED BY members_server_id
		WHERE server_id = ? AND id > ? ORDER BY id LIMIT ?`
	qMemberships = `SELECT ` + memberColumns + ` FROM members INDEXED BY members_user_id
		WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?`
	qMembershipsOfKind = `SELECT ` + memberColumns + ` FROM members INDEXED BY members_user_kind_id
		WHERE user_id = ? AND kind = ? AND id > ? ORDER BY id LIMIT ?`
	qMemberUserIDs = `SELECT user_id FROM members WHERE server_id = ?`
	qSetMemberRole = `UPDATE members SET role = ? WHERE server_id = ? AND user_id = ? AND role = ?`
	qDeleteMember  = `DELETE FROM members WHERE server_id = ? AND user_id = ? AND role = ?`
	qSharedUsers   = `SELECT DISTINCT user_id FROM members
		WHERE user_id IN (SELECT value FROM json_each(?)) AND server_id IN (SELECT value FROM json_each(?))`

	channelColumns = `id, server_id, name, topic, position, created_at`

	qInsertChannel = `INSERT INTO channels (` + channelColumns + `) VALUES (?, ?, ?, ?, ?, ?)`
	qChannel       = `SELECT ` + channelColumns + ` FROM channels WHERE id = ?`
	qChannels      = `SELECT ` + channelColumns + ` FROM channels WHERE server_id = ? ORDER BY position, id`
	// The rows come in index order per server; the servers' order is put
	// right in Go (sorting the whole result in SQL would need a temporary
	// B-tree the plan check refuses, and costs the same).
	qChannelsOfServers = `SELECT ` + channelColumns + ` FROM channels
		WHERE server_id IN (SELECT value FROM json_each(?))`
	qUpdateChannel = `UPDATE channels SET name = coalesce(?, name), topic = coalesce(?, topic)
		WHERE id = ? RETURNING ` + channelColumns
	qSetChannelPosition = `UPDATE channels SET position = ? WHERE id = ?`
	qDeleteChannel      = `DELETE FROM channels WHERE id = ?`

	inviteColumns = `code, server_id, creator_id, expires_at, max_uses, uses, created_at`

	qInsertInvite = `INSERT INTO invites (` + inviteColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)`
	qInvite       = `SELECT ` + inviteColumns + ` FROM invites WHERE code = ?`
	qInvites      = `SELECT ` + inviteColumns + ` FROM invites WHERE server_id = ? AND code > ? ORDER BY code LIMIT ?`
	qDeleteInvite = `DELETE FROM invites WHERE code = ? AND server_id = ?`
	qDeleteUses   = `DELETE FROM invite_uses WHERE code = ?`
	// The next free slot is the number taken: the insert happens only while
	// that is below the limit, in one statement under the one writer, so no
	// more than max_uses slots are ever written.
	qClaimUse = `INSERT INTO invite_uses (code, slot, server_id, user_id, at)
		SELECT ?1, count(*), ?2, ?3, ?4 FROM invite_uses WHERE code = ?1 HAVING count(*) < ?5`
	qInviteUses = `SELECT count(*) FROM invite_uses WHERE code = ?`
	// Imports write the slots of another store as they are.
	qInsertUse   = `INSERT INTO invite_uses (code, slot, server_id, user_id, at) VALUES (?, ?, ?, ?, ?)`
	qCountInvite = `UPDATE invites SET uses = uses + 1 WHERE code = ?`

	qDeleteServerInvites  = `DELETE FROM invites WHERE server_id = ?`
	qDeleteServerUses     = `DELETE FROM invite_uses WHERE server_id = ?`
	qDeleteServerChannels = `DELETE FROM channels WHERE server_id = ?`
	// A server's messages and read states go by its channels (before the
	// channels themselves), so that messages need no index of their server.
	qDeleteServerMessages = `DELETE FROM messages WHERE channel_id IN (SELECT id FROM channels WHERE server_id = ?)`
	qDeleteServerReads    = `DELETE FROM read_states WHERE channel_id IN (SELECT id FROM channels WHERE server_id = ?)`
	qDeleteServerMembers  = `DELETE FROM members WHERE server_id = ?`
	qDeleteServerMentions = `DELETE FROM mentions WHERE channel_id IN (SELECT id FROM channels WHERE server_id = ?)`

	qDeleteChannelMessages = `DELETE FROM messages WHERE channel_id = ?`
	qDeleteChannelReads    = `DELETE FROM read_states WHERE channel_id = ?`
	qDeleteChannelMentions = `DELETE FROM mentions WHERE channel_id = ?`

	messageColumns = `id, server_id, channel_id, author_id, content, created_at, edited_at, reply_to_id, request_id,
		mention_user_ids, mention_channel_ids, mention_everyone`

	qInsertMessage = `INSERT INTO messages (` + messageColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qMessage       = `SELECT ` + messageColumns + ` FROM messages WHERE id = ?`
	// request_id <> '' lets the partial unique index serve the lookup.
	qMessageByRequest = `SELECT ` + messageColumns + ` FROM messages
		WHERE author_id = ? AND request_id = ? AND request_id <> ''`
	qMessagesByIDs = `SELECT ` + messageColumns + ` FROM messages WHERE id IN (SELECT value FROM json_each(?))`
	// ?2 is the upper bound: "" lets any id through ("~" is above every id).
	qMessagesBefore = `SELECT ` + messageColumns + ` FROM messages INDEXED BY messages_channel_id
		WHERE channel_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3`
	qMessagesAfter = `SELECT ` + messageColumns + ` FROM messages INDEXED BY messages_channel_id
		WHERE channel_id = ? AND id > ? ORDER BY id LIMIT ?`
	// Every message along the primary key (search's rebuild).
	qScanMessages = `SELECT ` + messageColumns + ` FROM messages WHERE id > ? ORDER BY id LIMIT ?`
	// Unread counts: at most limit entries of the covering index.
	qNewestMessages = `SELECT id, author_id FROM messages INDEXED BY messages_channel_id
		WHERE channel_id = ? AND id > ? ORDER BY id DESC LIMIT ?`
	// Unread counts counted in the database: the same at most limit index
	// entries, and the channel's newest id from the end of its index range.
	qUnreadCount = `SELECT
		(SELECT count(*) FROM (SELECT author_id FROM messages INDEXED BY messages_channel_id
			WHERE channel_id = ?1 AND id > ?2 ORDER BY id DESC LIMIT ?3) WHERE author_id <> ?4),
		coalesce((SELECT max(id) FROM messages WHERE channel_id = ?1), '')`
	qEditMessage = `UPDATE messages SET content = ?, edited_at = ?, mention_user_ids = ?, mention_channel_ids = ?,
		mention_everyone = ? WHERE id = ?`
	qDeleteMessage  = `DELETE FROM messages WHERE id = ?`
	qOldestMessage  = `SELECT created_at FROM messages INDEXED BY messages_created_at ORDER BY created_at LIMIT 1`
	qMessageAuthors = `SELECT author_id, server_id FROM messages INDEXED BY messages_created_at
		WHERE created_at >= ? AND created_at < ?`

	// The marker moves only forward: the update of an existing one applies
	// only when the new id is greater, so changes() tells whether it moved.
	qAdvanceMarker = `INSERT INTO read_states (user_id, channel_id, server_id, last_read_id, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, channel_id) DO UPDATE
		SET last_read_id = excluded.last_read_id, updated_at = excluded.updated_at, server_id = excluded.server_id
		WHERE excluded.last_read_id > read_states.last_read_id`
	qReadMarker  = `SELECT last_read_id FROM read_states WHERE user_id = ? AND channel_id = ?`
	qReadMarkers = `SELECT channel_id, last_read_id FROM read_states
		WHERE user_id = ? AND channel_id IN (SELECT value FROM json_each(?))`

	// The mention index. One message's entries go in as one statement: the
	// users as a JSON array.
	qInsertMentions = `INSERT INTO mentions (user_id, message_id, channel_id, server_id, author_id)
		SELECT value, ?2, ?3, ?4, ?5 FROM json_each(?1) WHERE true
		ON CONFLICT (user_id, message_id) DO NOTHING`
	qDeleteMentions = `DELETE FROM mentions WHERE message_id = ?`
	// Mention counts: at most limit entries of mentions_user_channel.
	qCountMentions = `SELECT count(*) FROM (SELECT 1 FROM mentions INDEXED BY mentions_user_channel
		WHERE user_id = ? AND channel_id = ? AND message_id > ? LIMIT ?)`
	// The inbox: the primary key (user_id, message_id) read backwards.
	qListMentions = `SELECT user_id, message_id, channel_id, server_id, author_id FROM mentions
		WHERE user_id = ? AND message_id < ? ORDER BY message_id DESC LIMIT ?`

	qPutNotifySetting = `INSERT INTO notify_settings (user_id, server_id, channel_id, level, muted)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, server_id, channel_id) DO UPDATE SET level = excluded.level, muted = excluded.muted`
	qNotifySettings = `SELECT user_id, server_id, channel_id, level, muted FROM notify_settings WHERE user_id = ?`
)
