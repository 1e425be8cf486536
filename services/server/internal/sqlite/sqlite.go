// Package sqlite stores the server service's servers, members, channels,
// invites, messages and read states in the service's embedded SQLite
// database (ACCORD_STORE=sqlite). It implements the store interfaces of
// packages guild and chat, like package mongo, and turns SQLite errors into
// the errs kinds they expect.
//
// Every statement is served by the primary key or an index (plan_test.go
// proves it with EXPLAIN QUERY PLAN), so a read costs what it returns, not
// what the tables hold. Writes go through sqlitex's single writer
// connection: concurrent writers queue in the process and never fail with
// "database is locked"; the atomic operations the interfaces ask for are
// single statements (UNIQUE constraints, conditional UPDATEs, counters
// updated in place, an upsert that only moves forward).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the schema, in order.
func Migrations() ([]sqlitex.Migration, error) {
	return sqlitex.Migrations(migrationFiles, "migrations")
}

// Store implements guild.Store, chat.MessageStore and chat.ReadStateStore
// over one database.
type Store struct {
	db    *sqlitex.DB
	cache caches
}

var (
	_ guild.Store             = (*Store)(nil)
	_ chat.MessageStore       = (*Store)(nil)
	_ chat.ReadStateStore     = (*Store)(nil)
	_ chat.UnreadCounter      = (*Store)(nil)
	_ chat.MentionIndex       = (*Store)(nil)
	_ chat.NotifySettingStore = (*Store)(nil)
	_ chat.UnreadBatcher      = (*Store)(nil)
	_ chat.MentionBatcher     = (*Store)(nil)
)

// New returns a Store over db after bringing its schema up to date.
func New(ctx context.Context, db *sqlitex.DB) (*Store, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, ms); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// DB is the database the store works on.
func (s *Store) DB() *sqlitex.DB { return s.db }

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// millis is how times are stored: Unix milliseconds.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis is the inverse of millis, in UTC.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// optMillis stores an optional time as NULL when nil.
func optMillis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return millis(*t)
}

// fromOptMillis reads an optional time.
func fromOptMillis(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := fromMillis(ms.Int64)
	return &t
}

// nullIfEmpty stores "" as NULL (a UNIQUE column allows many NULLs).
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// idList encodes ids as the JSON array that json_each(?) reads.
func idList(ids []string) string {
	if ids == nil {
		return "[]"
	}
	b, _ := json.Marshal(ids) // strings always encode
	return string(b)
}

// exec runs one write and reports whether it changed a row.
func (s *Store) exec(ctx context.Context, op, query string, args ...any) (bool, error) {
	res, err := s.db.Exec(ctx, query, args...)
	if err != nil {
		return false, sqlitex.Err(err, op, nil, nil)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, sqlitex.Err(err, op, nil, nil)
	}
	return n > 0, nil
}

// list runs a read and scans each row with scan.
func list[T any](ctx context.Context, s *Store, op string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, sqlitex.Err(err, op, nil, nil)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, sqlitex.Err(err, op, nil, nil)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlitex.Err(err, op, nil, nil)
	}
	return out, nil
}

// deleteAll runs each delete with arg, every one even when one fails, and
// joins the failures.
func (s *Store) deleteAll(ctx context.Context, op, arg string, queries ...string) error {
	var all []error
	for _, q := range queries {
		if _, err := s.exec(ctx, op, q, arg); err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

func notFound(what string) *errs.Error { return errs.NotFound("%s not found", what) }

func exists(what string) *errs.Error { return errs.AlreadyExists("%s already exists", what) }
