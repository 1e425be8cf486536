package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/user/internal/account"
)

var errSessionNotFound = errs.NotFound("session not found")

// CreateSession implements account.SessionStore.
func (s *Store) CreateSession(ctx context.Context, sess *account.Session) error {
	id, created := sqlitex.NewID(), utc(sess.CreatedAt)
	if _, err := s.db.Exec(ctx, qInsertSession, id, sess.UserID, sess.Client, millis(created)); err != nil {
		return sqlitex.Err(err, "insert session", nil, nil)
	}
	sess.ID, sess.CreatedAt = id, created
	return nil
}

// SessionByID implements account.SessionStore.
func (s *Store) SessionByID(ctx context.Context, id string) (account.Session, error) {
	sess, err := scanSession(s.db.QueryRow(ctx, qSessionByID, id))
	if err != nil {
		return account.Session{}, sqlitex.Err(err, "find session", errSessionNotFound, nil)
	}
	return sess, nil
}

func scanSession(row interface{ Scan(...any) error }) (account.Session, error) {
	var sess account.Session
	var created int64
	var used sql.NullInt64
	if err := row.Scan(&sess.ID, &sess.UserID, &sess.Client, &created, &used, &sess.Revoked); err != nil {
		return account.Session{}, err
	}
	sess.CreatedAt = fromMillis(created)
	if used.Valid {
		sess.LastUsedAt = fromMillis(used.Int64)
	}
	return sess, nil
}

// ListSessions implements account.SessionStore.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]account.Session, error) {
	rows, err := s.db.Query(ctx, qUserSessions, userID)
	if err != nil {
		return nil, sqlitex.Err(err, "list sessions", nil, nil)
	}
	defer rows.Close()
	var out []account.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, sqlitex.Err(err, "list sessions", nil, nil)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlitex.Err(err, "list sessions", nil, nil)
	}
	return out, nil
}

// TouchSession implements account.SessionStore.
func (s *Store) TouchSession(ctx context.Context, id string, t time.Time) error {
	if _, err := s.db.Exec(ctx, qTouchSession, millis(utc(t)), id); err != nil {
		return sqlitex.Err(err, "touch session", nil, nil)
	}
	return nil
}

// RevokeSession implements account.SessionStore.
func (s *Store) RevokeSession(ctx context.Context, userID, id string) error {
	res, err := s.db.Exec(ctx, qRevokeSession, millis(time.Now()), id, userID)
	if err != nil {
		return sqlitex.Err(err, "revoke session", nil, nil)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errSessionNotFound
	}
	return nil
}

// CreateRefreshToken implements account.SessionStore.
func (s *Store) CreateRefreshToken(ctx context.Context, t account.RefreshToken) error {
	if _, err := s.db.Exec(ctx, qInsertToken, t.Hash, t.SessionID, t.UserID, millis(utc(t.ExpiresAt))); err != nil {
		return sqlitex.Err(err, "insert refresh token", nil, nil)
	}
	return nil
}

// SpendRefreshToken implements account.SessionStore. The read and the
// update are one write transaction, so of two concurrent uses exactly one
// spends the token and the other sees it spent.
func (s *Store) SpendRefreshToken(ctx context.Context, hash string) (account.RefreshToken, error) {
	var t account.RefreshToken
	var spendErr error
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var expires int64
		err := tx.QueryRowContext(ctx, qTokenByHash, hash).Scan(&t.Hash, &t.SessionID, &t.UserID, &expires, &t.Spent)
		if err != nil {
			return sqlitex.Err(err, "find refresh token", errs.NotFound("refresh token not found"), nil)
		}
		t.ExpiresAt = fromMillis(expires)
		if t.Spent {
			spendErr = account.ErrTokenSpent
			return nil
		}
		if _, err := tx.ExecContext(ctx, qSpendToken, millis(time.Now()), hash); err != nil {
			return sqlitex.Err(err, "spend refresh token", nil, nil)
		}
		t.Spent = true
		return nil
	})
	if err != nil {
		return account.RefreshToken{}, err
	}
	return t, spendErr
}

// PurgeRefreshTokens implements account.SessionStore.
func (s *Store) PurgeRefreshTokens(ctx context.Context, sessionID string, t time.Time) error {
	if _, err := s.db.Exec(ctx, qPurgeTokens, sessionID, millis(utc(t))); err != nil {
		return sqlitex.Err(err, "purge refresh tokens", nil, nil)
	}
	return nil
}
