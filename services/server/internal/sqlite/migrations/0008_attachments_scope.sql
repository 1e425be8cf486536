-- A deleted channel's or server's files (the bytes go with them), and the
-- bytes a server keeps (size in the index: the sums read no row).
CREATE INDEX attachments_channel ON attachments (channel_id);
CREATE INDEX attachments_server_size ON attachments (server_id, size);
