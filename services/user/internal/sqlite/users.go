package sqlite

import (
	"context"
	"database/sql"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/user/internal/account"
)

var errUserNotFound = errs.NotFound("user not found")

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner) (account.User, error) {
	var u account.User
	var created int64
	if err := r.Scan(&u.ID, &u.Login, &u.DisplayName, &u.StatusText, &u.Operator, &u.PasswordHash, &created, &u.Avatar); err != nil {
		return account.User{}, err
	}
	u.CreatedAt = fromMillis(created)
	return u, nil
}

// CreateUser implements account.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *account.User) error {
	id, created := sqlitex.NewID(), utc(u.CreatedAt)
	_, err := s.db.Exec(ctx, qInsertUser, id, u.Login, account.LoginKey(u.Login), u.DisplayName, u.StatusText,
		u.Operator, u.PasswordHash, millis(created))
	if err != nil {
		return sqlitex.Err(err, "insert user", nil, account.ErrLoginTaken)
	}
	u.ID, u.CreatedAt = id, created
	return nil
}

func (s *Store) findUser(ctx context.Context, query string, arg any) (account.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, query, arg))
	if err != nil {
		return account.User{}, sqlitex.Err(err, "find user", errUserNotFound, nil)
	}
	return u, nil
}

// UserByID implements account.UserStore.
func (s *Store) UserByID(ctx context.Context, id string) (account.User, error) {
	return s.findUser(ctx, qUserByID, id)
}

// UserByLogin implements account.UserStore.
func (s *Store) UserByLogin(ctx context.Context, login string) (account.User, error) {
	return s.findUser(ctx, qUserByLogin, account.LoginKey(login))
}

func (s *Store) findUsers(ctx context.Context, query string, args ...any) ([]account.User, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, sqlitex.Err(err, "find users", nil, nil)
	}
	defer rows.Close()
	var out []account.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, sqlitex.Err(err, "read users", nil, nil)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlitex.Err(err, "read users", nil, nil)
	}
	return out, nil
}

// UsersByIDs implements account.UserStore.
func (s *Store) UsersByIDs(ctx context.Context, ids []string) ([]account.User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.findUsers(ctx, qUsersByIDs, idList(ids))
}

// SearchUsers implements account.UserStore.
func (s *Store) SearchUsers(ctx context.Context, prefix, after string, limit int) ([]account.User, error) {
	return s.findUsers(ctx, qSearchUsers, prefix, after, prefix+"{", limit)
}

func (s *Store) updateUser(ctx context.Context, query string, args ...any) (account.User, error) {
	u, err := scanUser(s.db.Writer().QueryRowContext(ctx, query, args...))
	if err != nil {
		return account.User{}, sqlitex.Err(err, "update user", errUserNotFound, nil)
	}
	return u, nil
}

// UpdateProfile implements account.UserStore.
func (s *Store) UpdateProfile(ctx context.Context, id string, upd account.ProfileUpdate) (account.User, error) {
	if upd.DisplayName == nil && upd.StatusText == nil {
		return s.UserByID(ctx, id)
	}
	return s.updateUser(ctx, qUpdateProfile, nullable(upd.DisplayName), nullable(upd.StatusText), id)
}

// SetOperator implements account.UserStore.
func (s *Store) SetOperator(ctx context.Context, id string, operator bool) (account.User, error) {
	return s.updateUser(ctx, qSetOperator, operator, id)
}

// SetPasswordHash implements account.UserStore.
func (s *Store) SetPasswordHash(ctx context.Context, id, hash string) error {
	_, err := s.updateUser(ctx, qSetPasswordHash, hash, id)
	return err
}

// SetAvatar implements account.UserStore.
func (s *Store) SetAvatar(ctx context.Context, id, avatar string) (account.User, error) {
	return s.updateUser(ctx, qSetAvatar, avatar, id)
}

// nullable is p's value, or NULL when p is nil.
func nullable(p *string) sql.NullString {
	if p == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *p, Valid: true}
}
