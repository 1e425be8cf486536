-- Reactions: one row per (message, emoji, user). The key serves the counts
-- of a page's messages (grouped in key order), the users of one emoji in
-- user id order, and deleting a message's reactions.
CREATE TABLE reactions (
	message_id TEXT NOT NULL,
	emoji      TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	channel_id TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (message_id, emoji, user_id)
) WITHOUT ROWID;
-- The caller's own reactions among a page's messages.
CREATE INDEX reactions_user ON reactions (user_id, message_id);
-- Deleting a channel's or a server's reactions (by its channels).
CREATE INDEX reactions_channel ON reactions (channel_id);

-- Pins: one row per (channel, message).
CREATE TABLE pins (
	channel_id TEXT NOT NULL,
	message_id TEXT NOT NULL,
	pinned_by  TEXT NOT NULL,
	pinned_at  INTEGER NOT NULL,
	PRIMARY KEY (channel_id, message_id)
) WITHOUT ROWID;
-- A channel's pins, the latest first (the key's message_id follows).
CREATE INDEX pins_channel_time ON pins (channel_id, pinned_at);
