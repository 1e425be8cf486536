package sqlite

// The statements of the stores. Each is served by the primary key or an
// index of migrations/ (plan_test.go checks every one with EXPLAIN QUERY
// PLAN).
const (
	userColumns = `id, login, display_name, status_text, operator, password_hash, created_at, avatar`

	qInsertUser = `INSERT INTO users (id, login, login_key, display_name, status_text, operator, password_hash, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qUserByID    = `SELECT ` + userColumns + ` FROM users WHERE id = ?`
	qUserByLogin = `SELECT ` + userColumns + ` FROM users WHERE login_key = ?`
	qUsersByIDs  = `SELECT ` + userColumns + ` FROM users WHERE id IN (SELECT value FROM json_each(?))`
	// Login keys hold only [a-z0-9_.-], all below '{', so prefix+"{"
	// bounds the keys that start with prefix.
	qSearchUsers = `SELECT ` + userColumns + ` FROM users
		WHERE login_key >= ? AND login_key > ? AND login_key < ? ORDER BY login_key LIMIT ?`
	qUpdateProfile = `UPDATE users SET display_name = coalesce(?, display_name), status_text = coalesce(?, status_text)
		WHERE id = ? RETURNING ` + userColumns
	qSetOperator     = `UPDATE users SET operator = ? WHERE id = ? RETURNING ` + userColumns
	qSetPasswordHash = `UPDATE users SET password_hash = ? WHERE id = ? RETURNING ` + userColumns
	qSetAvatar       = `UPDATE users SET avatar = ? WHERE id = ? RETURNING ` + userColumns

	qInsertSession = `INSERT INTO sessions (id, user_id, client, created_at) VALUES (?, ?, ?, ?)`
	qSessionByID   = `SELECT id, user_id, client, created_at, last_used_at, revoked FROM sessions WHERE id = ?`
	qUserSessions  = `SELECT id, user_id, client, created_at, last_used_at, revoked FROM sessions
		WHERE user_id = ? AND revoked = 0`
	qTouchSession  = `UPDATE sessions SET last_used_at = ? WHERE id = ?`
	qRevokeSession = `UPDATE sessions SET revoked = 1, revoked_at = ? WHERE id = ? AND user_id = ?`

	qInsertToken = `INSERT INTO refresh_tokens (hash, session_id, user_id, expires_at) VALUES (?, ?, ?, ?)`
	qTokenByHash = `SELECT hash, session_id, user_id, expires_at, spent FROM refresh_tokens WHERE hash = ?`
	qSpendToken  = `UPDATE refresh_tokens SET spent = 1, spent_at = ? WHERE hash = ?`
	qPurgeTokens = `DELETE FROM refresh_tokens WHERE session_id = ? AND expires_at < ?`

	qRelationship    = `SELECT user_id, other_id, type, updated_at FROM relationships WHERE user_id = ? AND other_id = ?`
	qPutRelationship = `INSERT INTO relationships (user_id, other_id, type, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, other_id) DO UPDATE SET type = excluded.type, updated_at = excluded.updated_at`
	qDeleteRelationship = `DELETE FROM relationships WHERE user_id = ? AND other_id = ?`
	qListRelationships  = `SELECT user_id, other_id, type, updated_at FROM relationships
		WHERE user_id = ? AND other_id > ? ORDER BY other_id LIMIT ?`
	qListRelationshipsOfType = `SELECT user_id, other_id, type, updated_at FROM relationships
		WHERE user_id = ? AND type = ? AND other_id > ? ORDER BY other_id LIMIT ?`
	qRelationshipsBetween = `SELECT user_id, other_id, type, updated_at FROM relationships
		WHERE user_id IN (SELECT value FROM json_each(?)) AND other_id IN (SELECT value FROM json_each(?))`
)
