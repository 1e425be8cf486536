package sqlite

// The statements of reactions and pins (checked by plan_test.go like the
// others).
const (
	qAddReaction = `INSERT INTO reactions (message_id, emoji, user_id, channel_id, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	qRemoveReaction = `DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?`
	// Rows come grouped in key order per message, so no temporary b-tree.
	qReactionCounts = `SELECT message_id, emoji, count(*), min(created_at) FROM reactions
		WHERE message_id IN (SELECT value FROM json_each(?)) GROUP BY message_id, emoji`
	qUserReactions = `SELECT message_id, channel_id, emoji, user_id, created_at FROM reactions INDEXED BY reactions_user
		WHERE user_id = ? AND message_id IN (SELECT value FROM json_each(?))`
	qReactors = `SELECT message_id, channel_id, emoji, user_id, created_at FROM reactions
		WHERE message_id = ? AND emoji = ? AND user_id > ? ORDER BY user_id LIMIT ?`
	qDeleteMessageReactions = `DELETE FROM reactions WHERE message_id = ?`

	pinColumns = `channel_id, message_id, pinned_by, pinned_at`
	qAddPin    = `INSERT INTO pins (` + pinColumns + `) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`
	qRemovePin = `DELETE FROM pins WHERE channel_id = ? AND message_id = ?`
	qPins      = `SELECT ` + pinColumns + ` FROM pins INDEXED BY pins_channel_time
		WHERE channel_id = ? ORDER BY pinned_at DESC, message_id DESC LIMIT ?`
	// A channel's or a server's (by its channels, before they go).
	qDeleteChannelReactions = `DELETE FROM reactions WHERE channel_id = ?`
	qDeleteChannelPins      = `DELETE FROM pins WHERE channel_id = ?`
	qDeleteServerReactions  = `DELETE FROM reactions WHERE channel_id IN (SELECT id FROM channels WHERE server_id = ?)`
	qDeleteServerPins       = `DELETE FROM pins WHERE channel_id IN (SELECT id FROM channels WHERE server_id = ?)`
	qPinnedAmong            = `SELECT message_id FROM pins WHERE channel_id = ? AND message_id IN (SELECT value FROM json_each(?))`
)
