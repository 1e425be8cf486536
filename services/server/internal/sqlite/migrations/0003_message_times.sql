-- Messages by creation time for the stats service's rebuilds
-- (OldestMessageTime, CountMessages), read from the index alone: it
-- carries the author and the server.
CREATE INDEX messages_created_at ON messages (created_at, author_id, server_id);
