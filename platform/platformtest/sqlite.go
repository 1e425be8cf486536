package platformtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/sqlitex"
)

// sqliteDBs are an Env's open service databases, by service name.
type sqliteDBs map[string]*sqlitex.DB

// Store is the store service tests run on: ACCORD_TEST_STORE (sqlite or
// mongo), sqlite when unset, as in the one-command run. Store contract
// suites run on both whatever it says.
func Store(t testing.TB) string {
	switch s := os.Getenv("ACCORD_TEST_STORE"); s {
	case "":
		return config.StoreSQLite
	case config.StoreSQLite, config.StoreMongo:
		return s
	default:
		t.Fatalf("ACCORD_TEST_STORE: want sqlite or mongo, got %q", s)
		return ""
	}
}

// SQLite returns the database of the service named name in the Env's data
// folder, opened on first use and closed when the test ends.
func (e *Env) SQLite(name string) *sqlitex.DB {
	e.T.Helper()
	if db, ok := e.sqlite[name]; ok {
		return db
	}
	db := SQLite(e.T, sqlitex.Path(e.Config.DataDir, name))
	if e.sqlite == nil {
		e.sqlite = sqliteDBs{}
	}
	e.sqlite[name] = db
	return db
}

// SQLite opens the database file at path ("" for a new one in a temporary
// folder), closed when the test ends.
func SQLite(t testing.TB, path string) *sqlitex.DB {
	t.Helper()
	if path == "" {
		path = sqlitex.Path(t.TempDir(), "test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqlitex.Open(ctx, path)
	if err != nil {
		t.Fatalf("test SQLite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
