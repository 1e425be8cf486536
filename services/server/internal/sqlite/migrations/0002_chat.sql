CREATE TABLE messages (
	id          TEXT PRIMARY KEY,
	server_id   TEXT NOT NULL,
	channel_id  TEXT NOT NULL,
	author_id   TEXT NOT NULL,
	content     TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	edited_at   INTEGER,
	reply_to_id TEXT NOT NULL DEFAULT '',
	request_id  TEXT NOT NULL DEFAULT ''
);
-- A channel's history by id: pages both ways (ListMessages), the newest
-- refs and unread counts (NewestMessages, UnreadCount) from the index
-- alone, since it carries the author, and the deletes of a channel's or a
-- server's messages (by its channels).
CREATE INDEX messages_channel_id ON messages (channel_id, id, author_id);
-- Idempotent sends: at most one message per (author, request id) that has
-- one.
CREATE UNIQUE INDEX messages_author_request ON messages (author_id, request_id) WHERE request_id <> '';

-- One read marker per (user, channel).
CREATE TABLE read_states (
	user_id      TEXT NOT NULL,
	channel_id   TEXT NOT NULL,
	server_id    TEXT NOT NULL,
	last_read_id TEXT NOT NULL,
	updated_at   INTEGER NOT NULL,
	PRIMARY KEY (user_id, channel_id)
) WITHOUT ROWID;
-- DeleteChannelData and DeleteServerData (by the server's channels).
CREATE INDEX read_states_channel ON read_states (channel_id);
