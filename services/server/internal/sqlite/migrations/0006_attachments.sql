-- Attachments: metadata of uploaded files (the bytes are in the blob
-- store). An upload has message_id '' until a message carries it.
CREATE TABLE attachments (
	id           TEXT PRIMARY KEY,
	server_id    TEXT NOT NULL,
	channel_id   TEXT NOT NULL,
	uploader_id  TEXT NOT NULL,
	message_id   TEXT NOT NULL DEFAULT '',
	name         TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL,
	width        INTEGER NOT NULL DEFAULT 0,
	height       INTEGER NOT NULL DEFAULT 0,
	blob_key     TEXT NOT NULL,
	thumb_key    TEXT NOT NULL DEFAULT '',
	thumb_width  INTEGER NOT NULL DEFAULT 0,
	thumb_height INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- A message's files (history pages) and the unattached uploads by age
-- (the orphan sweeper: message_id = '').
CREATE INDEX attachments_message_created ON attachments (message_id, created_at);
