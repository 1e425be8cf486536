-- What a message mentions, resolved on send and edit: the mentioned members
-- and channels as JSON arrays, and whether it notifies everyone.
ALTER TABLE messages ADD COLUMN mention_user_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN mention_channel_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN mention_everyone INTEGER NOT NULL DEFAULT 0;

-- The mention index: one row per (user, message) the message notifies (the
-- mentioned members, or every member for @everyone).
CREATE TABLE mentions (
	user_id    TEXT NOT NULL,
	message_id TEXT NOT NULL,
	channel_id TEXT NOT NULL,
	server_id  TEXT NOT NULL,
	author_id  TEXT NOT NULL,
	PRIMARY KEY (user_id, message_id)
) WITHOUT ROWID;
-- Mention counts: a user's entries in one channel after the read marker.
CREATE INDEX mentions_user_channel ON mentions (user_id, channel_id, message_id);
-- Deleting a message's entries.
CREATE INDEX mentions_message ON mentions (message_id);
-- Deleting a channel's or a server's entries (by its channels).
CREATE INDEX mentions_channel ON mentions (channel_id);

-- Notification settings: a server's level (channel_id '') or a channel's
-- mute, one row per (user, server, channel).
CREATE TABLE notify_settings (
	user_id    TEXT NOT NULL,
	server_id  TEXT NOT NULL,
	channel_id TEXT NOT NULL,
	level      INTEGER NOT NULL,
	muted      INTEGER NOT NULL,
	PRIMARY KEY (user_id, server_id, channel_id)
) WITHOUT ROWID;
