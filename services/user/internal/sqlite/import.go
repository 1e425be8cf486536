package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/user/internal/account"
)

// Empty reports whether the database holds no account.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM users LIMIT 1)`).Scan(&n); err != nil {
		return false, fmt.Errorf("count users: %w", err)
	}
	return n == 0, nil
}

// Import runs export with a receiver that writes every record it gets, in
// one transaction: the database gets all of them or none.
func (s *Store) Import(ctx context.Context, export func(account.Records) error) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		return export(txRecords{ctx: ctx, tx: tx})
	})
}

// txRecords writes records as they are, IDs included.
type txRecords struct {
	ctx context.Context
	tx  *sql.Tx
}

func (r txRecords) exec(op, query string, args ...any) error {
	if _, err := r.tx.ExecContext(r.ctx, query, args...); err != nil {
		return sqlitex.Err(err, op, nil, nil)
	}
	return nil
}

func (r txRecords) PutUser(u account.User) error {
	return r.exec("import user", qInsertUser, u.ID, u.Login, account.LoginKey(u.Login), u.DisplayName, u.StatusText,
		u.Operator, u.PasswordHash, millis(u.CreatedAt))
}

func (r txRecords) PutSession(s account.Session) error {
	return r.exec("import session", `INSERT INTO sessions (id, user_id, client, created_at, revoked) VALUES (?, ?, ?, ?, ?)`,
		s.ID, s.UserID, s.Client, millis(s.CreatedAt), s.Revoked)
}

func (r txRecords) PutRefreshToken(t account.RefreshToken) error {
	return r.exec("import refresh token", `INSERT INTO refresh_tokens (hash, session_id, user_id, expires_at, spent) VALUES (?, ?, ?, ?, ?)`,
		t.Hash, t.SessionID, t.UserID, millis(t.ExpiresAt), t.Spent)
}

func (r txRecords) PutRelationship(rel account.Relationship) error {
	return r.exec("import relationship", qPutRelationship, rel.UserID, rel.OtherID, rel.Type.String(), millis(rel.UpdatedAt))
}

// Export hands every record of the database to r, each table in key order.
func (s *Store) Export(ctx context.Context, r account.Records) error {
	err := s.each(ctx, `SELECT `+userColumns+` FROM users ORDER BY id`, func(rows *sql.Rows) error {
		u, err := scanUser(rows)
		if err != nil {
			return err
		}
		return r.PutUser(u)
	})
	if err != nil {
		return err
	}
	err = s.each(ctx, `SELECT id, user_id, client, created_at, revoked FROM sessions ORDER BY id`, func(rows *sql.Rows) error {
		var sess account.Session
		var created int64
		if err := rows.Scan(&sess.ID, &sess.UserID, &sess.Client, &created, &sess.Revoked); err != nil {
			return err
		}
		sess.CreatedAt = fromMillis(created)
		return r.PutSession(sess)
	})
	if err != nil {
		return err
	}
	err = s.each(ctx, `SELECT hash, session_id, user_id, expires_at, spent FROM refresh_tokens ORDER BY hash`, func(rows *sql.Rows) error {
		var t account.RefreshToken
		var expires int64
		if err := rows.Scan(&t.Hash, &t.SessionID, &t.UserID, &expires, &t.Spent); err != nil {
			return err
		}
		t.ExpiresAt = fromMillis(expires)
		return r.PutRefreshToken(t)
	})
	if err != nil {
		return err
	}
	return s.each(ctx, `SELECT user_id, other_id, type, updated_at FROM relationships ORDER BY user_id, other_id`, func(rows *sql.Rows) error {
		rel, err := scanRel(rows)
		if err != nil {
			return err
		}
		return r.PutRelationship(rel)
	})
}

// each runs query on one read snapshot and hands every row to fn.
func (s *Store) each(ctx context.Context, query string, fn func(*sql.Rows) error) error {
	rows, err := s.db.Query(ctx, query)
	if err != nil {
		return sqlitex.Err(err, "export", nil, nil)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	return sqlitex.Err(rows.Err(), "export", nil, nil)
}
