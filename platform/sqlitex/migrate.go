package sqlitex

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one step of a schema: Version counts up from 1.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads the migrations in dir of fsys: files named
// "<version>_<name>.sql" ("0001_users.sql"), numbered 1, 2, 3... with no
// gap. Stores embed them with //go:embed.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("sqlite migrations: %s: want <version>_<name>.sql", name)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("sqlite migrations: %w", err)
		}
		ms = append(ms, Migration{Version: v, Name: rest, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("sqlite migrations: version %d (%s) where %d was expected", m.Version, m.Name, i+1)
		}
	}
	return ms, nil
}

// Version returns the schema version of the database (its user_version).
func (db *DB) Version(ctx context.Context) (int, error) {
	var v int
	if err := db.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: schema version: %w", err)
	}
	return v, nil
}

// Migrate brings the schema up to the last of ms, applying each migration
// newer than the database's user_version in a transaction of its own that
// also sets user_version, so a failure leaves the last good version. A
// database newer than ms (written by a later release) is refused rather
// than used with a schema this binary does not know.
func (db *DB) Migrate(ctx context.Context, ms []Migration) error {
	cur, err := db.Version(ctx)
	if err != nil {
		return err
	}
	if cur > len(ms) {
		return fmt.Errorf("sqlite: %s has schema version %d, newer than this release knows (%d); run a newer Accord or restore a backup", db.path, cur, len(ms))
	}
	for _, m := range ms[cur:] {
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			// PRAGMA takes no parameters; Version is an int.
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.Version))
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: %s: migration %d (%s): %w", db.path, m.Version, m.Name, err)
		}
	}
	return nil
}
