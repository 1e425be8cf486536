// Package sqlite stores the user service's accounts, sessions and
// relationships in the service's embedded SQLite database (ACCORD_STORE=
// sqlite). It implements the account package's store interfaces, like
// package mongo, and turns SQLite errors into the errs kinds they expect.
package sqlite

import (
	"context"
	"embed"
	"encoding/json"
	"time"

	"github.com/accordchat/accord/platform/sqlitex"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the schema, in order.
func Migrations() ([]sqlitex.Migration, error) {
	return sqlitex.Migrations(migrationFiles, "migrations")
}

// Store implements account.UserStore, account.SessionStore and
// account.RelationshipStore over one database.
type Store struct {
	db *sqlitex.DB
}

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

// millis is how times are stored: Unix milliseconds.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis is the inverse of millis, in UTC.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// utc drops the monotonic reading and rounds to the stored millisecond,
// so a value written and read back compares equal.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// idList encodes ids as the JSON array that json_each(?) reads, so that a
// lookup of many ids is one statement whatever their number.
func idList(ids []string) string {
	b, _ := json.Marshal(ids) // strings always encode
	return string(b)
}
