-- Servers (guilds and private conversations). dm_key is NULL for a guild,
-- so the UNIQUE constraint binds conversations only: of two concurrent
-- creates of one conversation exactly one inserts.
CREATE TABLE servers (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	kind         TEXT NOT NULL,
	owner_id     TEXT NOT NULL,
	dm_key       TEXT UNIQUE,
	-- The two users of a conversation as a JSON array; NULL for a guild.
	dm_user_ids  TEXT,
	member_count INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL
);

-- One row per (server, user). kind is the server's kind, copied so that a
-- user's memberships filter by it without a join.
CREATE TABLE members (
	id        TEXT PRIMARY KEY,
	server_id TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	role      INTEGER NOT NULL,
	kind      TEXT NOT NULL,
	joined_at INTEGER NOT NULL
);
-- Member, SetMemberRole, DeleteMember, MemberUserIDs (covering), SharedUsers,
-- and the uniqueness of a membership.
CREATE UNIQUE INDEX members_server_user ON members (server_id, user_id);
-- Members: a server's memberships in join order.
CREATE INDEX members_server_id ON members (server_id, id);
-- Memberships of any kind, and of one kind, in join order.
CREATE INDEX members_user_id ON members (user_id, id);
CREATE INDEX members_user_kind_id ON members (user_id, kind, id);

CREATE TABLE channels (
	id         TEXT PRIMARY KEY,
	server_id  TEXT NOT NULL,
	name       TEXT NOT NULL,
	topic      TEXT NOT NULL,
	position   INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);
-- Channels, ChannelsOfServers and DeleteServerData, in display order.
CREATE INDEX channels_server_position ON channels (server_id, position, id);

CREATE TABLE invites (
	code       TEXT PRIMARY KEY,
	server_id  TEXT NOT NULL,
	creator_id TEXT NOT NULL,
	expires_at INTEGER,
	max_uses   INTEGER NOT NULL,
	uses       INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
-- Invites: a server's invites in code order; DeleteServerData.
CREATE INDEX invites_server_code ON invites (server_id, code);

-- The use slots of limited invites: slot n is the (n+1)-th join. The key
-- makes a slot taken once; ClaimInviteUse writes the next free slot in
-- one statement.
CREATE TABLE invite_uses (
	code      TEXT NOT NULL,
	slot      INTEGER NOT NULL,
	server_id TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (code, slot)
) WITHOUT ROWID;
CREATE INDEX invite_uses_server ON invite_uses (server_id);
