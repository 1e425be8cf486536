package sqlitex_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/sqlitex"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func open(t *testing.T, path string) *sqlitex.DB {
	t.Helper()
	db, err := sqlitex.Open(testCtx(t), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

var schema = fstest.MapFS{
	"m/0001_items.sql": {Data: []byte(`
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, owner INTEGER REFERENCES owners(id));
CREATE TABLE owners (id INTEGER PRIMARY KEY);`)},
	"m/0002_items_n.sql": {Data: []byte(`
ALTER TABLE items ADD COLUMN n INTEGER NOT NULL DEFAULT 0;
CREATE INDEX items_n ON items (n);`)},
}

func migrations(t *testing.T, upTo int) []sqlitex.Migration {
	t.Helper()
	ms, err := sqlitex.Migrations(schema, "m")
	if err != nil {
		t.Fatal(err)
	}
	return ms[:upTo]
}

func TestOpenSettings(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "a", "x.db"))
	ctx := testCtx(t)
	for _, c := range []struct{ pragma, want string }{
		{"journal_mode", "wal"}, {"synchronous", "1"}, {"foreign_keys", "1"}, {"busy_timeout", fmt.Sprint(sqlitex.BusyTimeout)},
	} {
		for name, pool := range map[string]*sql.DB{"writer": db.Writer(), "reader": db.Reader()} {
			var got string
			if err := pool.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s: %s = %s, want %s", name, c.pragma, got, c.want)
			}
		}
	}
	if _, err := db.Reader().ExecContext(ctx, "CREATE TABLE t (x)"); err == nil {
		t.Error("the reader pool wrote")
	}
}

func TestMigrateUpgradesAnOlderDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	ctx := testCtx(t)
	db := open(t, path)
	if err := db.Migrate(ctx, migrations(t, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "INSERT INTO items (name) VALUES ('kept')"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(t, path)
	if err := db.Migrate(ctx, migrations(t, 2)); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, migrations(t, 2)); err != nil { // again: nothing to do
		t.Fatal(err)
	}
	if v, err := db.Version(ctx); err != nil || v != 2 {
		t.Fatalf("version = %d, %v; want 2", v, err)
	}
	var name string
	var n int
	if err := db.QueryRow(ctx, "SELECT name, n FROM items").Scan(&name, &n); err != nil || name != "kept" || n != 0 {
		t.Fatalf("row after upgrade = %q %d, %v", name, n, err)
	}

	// A database from a later release is refused, not used.
	if err := db.Migrate(ctx, migrations(t, 1)); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("older release on a newer database: %v", err)
	}
}

func TestMigrationFailureKeepsTheLastGoodVersion(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "x.db"))
	ctx := testCtx(t)
	ms := append(migrations(t, 1), sqlitex.Migration{Version: 2, Name: "broken", SQL: "CREATE TABLE z (a); SELECT * FROM nowhere;"})
	if err := db.Migrate(ctx, ms); err == nil {
		t.Fatal("a broken migration succeeded")
	}
	if v, _ := db.Version(ctx); v != 1 {
		t.Fatalf("version = %d, want 1", v)
	}
	if _, err := db.Exec(ctx, "INSERT INTO z VALUES (1)"); err == nil {
		t.Fatal("half a failed migration stayed")
	}
}

func TestMigrationsRejectsGaps(t *testing.T) {
	_, err := sqlitex.Migrations(fstest.MapFS{"m/0001_a.sql": {}, "m/0003_c.sql": {}}, "m")
	if err == nil {
		t.Fatal("a gap in versions was accepted")
	}
}

// Many goroutines writing at once all succeed: none sees "database is locked".
func TestConcurrentWriters(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "x.db"))
	ctx := testCtx(t)
	if err := db.Migrate(ctx, migrations(t, 2)); err != nil {
		t.Fatal(err)
	}
	const writers, each = 32, 25
	var wg sync.WaitGroup
	errc := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var err error
				if i%2 == 0 {
					_, err = db.Exec(ctx, "INSERT INTO items (name, n) VALUES (?, ?)", fmt.Sprintf("w%d-%d", w, i), i)
				} else {
					// read-then-write in one transaction
					err = db.Tx(ctx, func(tx *sql.Tx) error {
						var c int
						if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&c); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, "INSERT INTO items (name, n) VALUES (?, ?)", fmt.Sprintf("w%d-%d", w, i), c)
						return err
					})
				}
				if err != nil {
					errc <- err
				}
				// Reads go on at the same time.
				var c int
				if err := db.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&c); err != nil {
					errc <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	var c int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&c); err != nil || c != writers*each {
		t.Fatalf("count = %d, %v; want %d", c, err, writers*each)
	}
}

func TestErrorMapping(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "x.db"))
	ctx := testCtx(t)
	if err := db.Migrate(ctx, migrations(t, 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "INSERT INTO items (id, name) VALUES (1, 'a')"); err != nil {
		t.Fatal(err)
	}
	taken := errs.AlreadyExists("name taken").WithReason("NAME_TAKEN")
	for name, q := range map[string]string{
		"unique":      "INSERT INTO items (name) VALUES ('a')",
		"primary key": "INSERT INTO items (id, name) VALUES (1, 'b')",
	} {
		_, err := db.Exec(ctx, q)
		if !sqlitex.IsUnique(err) {
			t.Errorf("%s: IsUnique(%v) = false", name, err)
		}
		if got := sqlitex.Err(err, "insert", nil, taken); got != taken {
			t.Errorf("%s: Err = %v, want the given AlreadyExists", name, got)
		}
		if got := sqlitex.Err(err, "insert", nil, nil); !errors.Is(got, errs.ErrAlreadyExists) {
			t.Errorf("%s: Err = %v, want AlreadyExists", name, got)
		}
	}
	_, err := db.Exec(ctx, "INSERT INTO items (name, owner) VALUES ('c', 42)")
	if err == nil || sqlitex.IsUnique(err) {
		t.Errorf("foreign key violation: %v", err)
	}
	err = db.QueryRow(ctx, "SELECT name FROM items WHERE id = 99").Scan(new(string))
	if got := sqlitex.Err(err, "find", nil, nil); !errors.Is(got, errs.ErrNotFound) {
		t.Errorf("no rows: %v", got)
	}
	other := errors.New("boom")
	if got := sqlitex.Err(other, "find", nil, nil); !errors.Is(got, other) || errors.Is(got, errs.ErrNotFound) {
		t.Errorf("other error: %v", got)
	}
}

// A backup taken while writers run is a consistent snapshot, and restoring
// it brings its rows back.
func TestBackupWhileWritingAndRestore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	db := open(t, path)
	ctx := testCtx(t)
	if err := db.Migrate(ctx, migrations(t, 2)); err != nil {
		t.Fatal(err)
	}
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Two rows per transaction: a consistent copy never holds one without the other.
				err := db.Tx(ctx, func(tx *sql.Tx) error {
					for k := range 2 {
						if _, err := tx.ExecContext(ctx, "INSERT INTO items (name, n) VALUES (?, ?)", fmt.Sprintf("%d-%d-%d", w, i, k), i); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				written.Add(2)
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for written.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	backup := filepath.Join(dir, "backup", "x.db")
	err := db.Backup(ctx, backup)
	after := written.Load()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, backup); err == nil {
		t.Fatal("a backup overwrote an existing file")
	}
	// From outside, read-only, while the database is open here.
	fileCopy := filepath.Join(dir, "backup", "file.db")
	if err := sqlitex.BackupFile(ctx, path, fileCopy); err != nil {
		t.Fatal(err)
	}
	func() {
		b := open(t, fileCopy)
		var n int
		if err := b.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || int64(n) < after {
			t.Fatalf("file backup holds %d rows, %v", n, err)
		}
		_ = b.Close()
	}()

	var inBackup int
	func() {
		b := open(t, backup)
		if err := b.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&inBackup); err != nil {
			t.Fatal(err)
		}
		if v, _ := b.Version(ctx); v != 2 {
			t.Fatalf("backup schema version = %d, want 2", v)
		}
		_ = b.Close()
	}()
	if inBackup == 0 || inBackup%2 != 0 || int64(inBackup) > after {
		t.Fatalf("backup holds %d rows (written by then: %d): not a consistent snapshot", inBackup, after)
	}

	var total int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&total); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sqlitex.Restore(ctx, backup, path); err != nil {
		t.Fatal(err)
	}
	db = open(t, path)
	var got int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&got); err != nil || got != inBackup {
		t.Fatalf("after restore: %d rows, %v; want %d (had %d)", got, err, inBackup, total)
	}

	// Restoring something that is not a database leaves the database alone.
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("not a database at all, certainly not one of sqlite's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sqlitex.Restore(ctx, junk, path); err == nil {
		t.Fatal("restored junk")
	}
	db = open(t, path)
	if err := db.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&got); err != nil || got != inBackup {
		t.Fatalf("after a refused restore: %d rows, %v", got, err)
	}
}

func TestUnindexed(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "x.db"))
	ctx := testCtx(t)
	if err := db.Migrate(ctx, migrations(t, 2)); err != nil {
		t.Fatal(err)
	}
	for q, wantBad := range map[string]bool{
		"SELECT * FROM items WHERE n = 1":                    false,
		"SELECT * FROM items WHERE n > 1 ORDER BY n LIMIT 5": false,
		"SELECT * FROM items WHERE name = 'a'":               false,
		"SELECT * FROM items WHERE owner = 1":                true,
		"SELECT * FROM items WHERE n = 1 ORDER BY name":      true,
		"SELECT * FROM items WHERE id = 3":                   false,
		// A subquery's rows and a constant row are no table; what the
		// subquery reads is checked on its own.
		"SELECT (SELECT count(*) FROM (SELECT name FROM items WHERE n > 1 ORDER BY n LIMIT 5))": false,
		"SELECT (SELECT count(*) FROM (SELECT name FROM items WHERE owner = 1 LIMIT 5))":        true,
	} {
		plan, err := db.Plan(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(sqlitex.Unindexed(plan)) > 0; got != wantBad {
			t.Errorf("%s: plan %q, unindexed = %v, want %v", q, plan, got, wantBad)
		}
	}
}

// Exec, Query, QueryRow and ExecIn keep their statements prepared: a
// statement runs the same on its first and later uses, inside and outside
// a transaction, sees schema changes, and keeps reporting its errors.
func TestPreparedStatements(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "p.db"))
	ctx := testCtx(t)
	if err := db.Migrate(ctx, migrations(t, 1)); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO items (id, name) VALUES (?, ?)`
	for i := range 3 {
		if _, err := db.Exec(ctx, insert, i, fmt.Sprint("exec ", i)); err != nil {
			t.Fatal(err)
		}
	}
	// ExecIn: the first transaction runs the statement unprepared, the
	// next ones prepared; a duplicate is reported either way.
	for round := range 3 {
		var dup error
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := db.ExecIn(ctx, tx, insert, 10+round, fmt.Sprint("tx ", round)); err != nil {
				return err
			}
			_, dup = db.ExecIn(ctx, tx, insert, 20+round, fmt.Sprint("tx ", round))
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if !sqlitex.IsUnique(dup) {
			t.Fatalf("round %d: duplicate name: got %v, want a unique violation", round, dup)
		}
	}
	const count = `SELECT count(*) FROM items`
	for range 2 {
		var n int
		if err := db.QueryRow(ctx, count).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if got, want := n, 6; got != want {
			t.Fatalf("items: got %d, want %d", got, want)
		}
	}
	// A cached SELECT * sees a column added after it was prepared.
	const all = `SELECT * FROM items WHERE id = ?`
	var id, owner sql.NullInt64
	var name string
	if err := db.QueryRow(ctx, all, 0).Scan(&id, &name, &owner); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, migrations(t, 2)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(ctx, all, 0).Scan(&id, &name, &owner, &n); err != nil {
		t.Fatalf("after adding a column: %v", err)
	}
	// A statement that does not prepare reports its error at every call.
	for range 2 {
		if err := db.QueryRow(ctx, `SELECT nope FROM items`).Scan(&n); err == nil || !strings.Contains(err.Error(), "nope") {
			t.Fatalf("bad query: got %v, want an error naming the column", err)
		}
	}
	// More distinct queries than the cache keeps still run.
	for i := range 300 {
		rows, err := db.Query(ctx, fmt.Sprintf(`SELECT ? + %d`, i), 1)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		for rows.Next() {
			if err := rows.Scan(&got); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if want := i + 1; got != want {
			t.Fatalf("query %d: got %d, want %d", i, got, want)
		}
	}
}

// BenchmarkQueryRow times a one-row read by primary key through QueryRow,
// which keeps the statement prepared, against the same read through the
// reader pool directly, which parses and plans it at every call.
func BenchmarkQueryRow(b *testing.B) {
	ctx := context.Background()
	db, err := sqlitex.Open(ctx, filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ms, err := sqlitex.Migrations(schema, "m")
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Migrate(ctx, ms); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		if _, err := db.Exec(ctx, `INSERT INTO items (id, name, n) VALUES (?, ?, ?)`, i, fmt.Sprint("item ", i), i); err != nil {
			b.Fatal(err)
		}
	}
	const q = `SELECT id, name, owner, n FROM items WHERE id = ?`
	for _, c := range []struct {
		name string
		row  func(id int) *sql.Row
	}{
		{"unprepared", func(id int) *sql.Row { return db.Reader().QueryRowContext(ctx, q, id) }},
		{"QueryRow", func(id int) *sql.Row { return db.QueryRow(ctx, q, id) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var id, n int
			var owner sql.NullInt64
			var name string
			i := 0
			for b.Loop() {
				if err := c.row(i%1000).Scan(&id, &name, &owner, &n); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// Read runs its queries on one snapshot: a write committed during the read
// is not seen by it, and is seen by the next one. Many reads at once, more
// than the reader pool holds, each running a statement many times through
// TxStmt while a writer writes, all finish and all count right.
func TestReadSnapshotAndTxStmt(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "x.db"))
	ctx := testCtx(t)
	if err := db.Migrate(ctx, migrations(t, 2)); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := db.Exec(ctx, `INSERT INTO items (name, n) VALUES (?, ?)`, fmt.Sprint("item", i), i%4); err != nil {
			t.Fatal(err)
		}
	}
	const count = `SELECT count(*) FROM items WHERE n = ?`
	countAll := func(tx *sql.Tx) (int, error) {
		st, err := db.TxStmt(ctx, tx, count)
		if err != nil {
			return 0, err
		}
		total := 0
		for n := range 4 {
			var c int
			if err := st.QueryRowContext(ctx, n).Scan(&c); err != nil {
				return 0, err
			}
			total += c
		}
		return total, nil
	}
	err := db.Read(ctx, func(tx *sql.Tx) error {
		before, err := countAll(tx)
		if err != nil {
			return err
		}
		if _, err := db.Exec(ctx, `INSERT INTO items (name, n) VALUES ('during', 0)`); err != nil {
			return err
		}
		after, err := countAll(tx)
		if err != nil {
			return err
		}
		if before != 20 || after != 20 {
			return fmt.Errorf("counted %d then %d in one read; want 20 and 20", before, after)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var writes atomic.Int64
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.Exec(ctx, `INSERT INTO items (name, n) VALUES (?, 9)`, fmt.Sprint("w", i)); err != nil {
				t.Error(err)
				return
			}
			writes.Add(1)
		}
	})
	var readers sync.WaitGroup
	for range 16 {
		readers.Go(func() {
			for range 20 {
				err := db.Read(ctx, func(tx *sql.Tx) error {
					n, err := countAll(tx)
					if err == nil && n != 21 {
						err = fmt.Errorf("counted %d, want 21", n)
					}
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	wg.Wait()
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM items WHERE n = 9`).Scan(&n); err != nil || int64(n) != writes.Load() {
		t.Fatalf("%d rows written meanwhile, %d counted, %v", writes.Load(), n, err)
	}
}
