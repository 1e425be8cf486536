-- Accounts, sessions, refresh tokens and relationships of the user service.
-- Times are Unix milliseconds (UTC), the precision the MongoDB stores keep.

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	login         TEXT NOT NULL,
	-- login_key is the lower-case login: unique in any case, and the order
	-- of SearchUsers (prefix ranges).
	login_key     TEXT NOT NULL UNIQUE,
	display_name  TEXT NOT NULL,
	status_text   TEXT NOT NULL DEFAULT '',
	operator      INTEGER NOT NULL DEFAULT 0,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	client     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	revoked    INTEGER NOT NULL DEFAULT 0,
	revoked_at INTEGER
);

-- A refresh token is known by its SHA-256 hash only.
CREATE TABLE refresh_tokens (
	hash       TEXT PRIMARY KEY,
	session_id TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	expires_at INTEGER NOT NULL,
	spent      INTEGER NOT NULL DEFAULT 0,
	spent_at   INTEGER
);
-- PurgeRefreshTokens: one session's tokens expired before a time.
CREATE INDEX refresh_tokens_session_expiry ON refresh_tokens (session_id, expires_at);

-- One row per side of a pair: how user_id relates to other_id. The key
-- serves a side's lookup, a user's list in other_id order and the
-- owners x others lookups.
CREATE TABLE relationships (
	user_id    TEXT NOT NULL,
	other_id   TEXT NOT NULL,
	type       TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, other_id)
) WITHOUT ROWID;
-- A user's list of one type (friends, blocked...) in other_id order.
CREATE INDEX relationships_user_type ON relationships (user_id, type, other_id);
