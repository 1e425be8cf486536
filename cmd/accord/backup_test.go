package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/sqlitex"
)

func openDB(t *testing.T, path string) *sqlitex.DB {
	t.Helper()
	db, err := sqlitex.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func count(t *testing.T, db *sqlitex.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A backup taken while writers go on holds a consistent state of each
// database; restoring it into a data folder brings that state back, and a
// restore is refused while Accord runs on the folder.
func TestBackupWhileWritingThenRestore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := logging.Discard()
	data := t.TempDir()

	// A service's own database, and a file of the embedded FerretDB.
	users := openDB(t, sqlitex.Path(data, "user"))
	ferret := openDB(t, filepath.Join(data, "db", "accord.sqlite"))
	for _, db := range []*sqlitex.DB{users, ferret} {
		if _, err := db.Exec(ctx, "CREATE TABLE rows (id INTEGER PRIMARY KEY, pair INTEGER NOT NULL)"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ferret.Exec(ctx, "INSERT INTO rows (pair) VALUES (0)"); err != nil {
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
				// Two rows per transaction: a consistent copy holds both or neither.
				err := users.Tx(ctx, func(tx *sql.Tx) error {
					for range 2 {
						if _, err := tx.ExecContext(ctx, "INSERT INTO rows (pair) VALUES (?)", w*1_000_000+i); err != nil {
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

	// The running product holds the data folder's lock.
	unlock, err := lockDataDir(data)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "accord-backup.tar.gz")
	err = backup(ctx, data, archive, log)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := backup(ctx, data, archive, log); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("a second backup onto the same file: %v", err)
	}
	if err := restore(ctx, data, archive, log); err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("restore while running: %v", err)
	}
	unlock()

	// Restore into a fresh folder: both databases, consistent.
	fresh := t.TempDir()
	if err := restore(ctx, fresh, archive, log); err != nil {
		t.Fatal(err)
	}
	got := openDB(t, sqlitex.Path(fresh, "user"))
	n := count(t, got, "rows")
	if n == 0 || n%2 != 0 {
		t.Fatalf("restored %d rows: want a positive even number", n)
	}
	var unpaired int
	if err := got.QueryRow(ctx, "SELECT count(*) FROM (SELECT pair FROM rows GROUP BY pair HAVING count(*) != 2)").Scan(&unpaired); err != nil || unpaired != 0 {
		t.Fatalf("%d transactions restored in part (%v)", unpaired, err)
	}
	if c := count(t, openDB(t, filepath.Join(fresh, "db", "accord.sqlite")), "rows"); c != 1 {
		t.Fatalf("FerretDB file: %d rows, want 1", c)
	}

	// Restore over the original folder (stopped): its later writes are
	// rolled back to the backup, and a database the backup does not hold is
	// moved aside.
	total := count(t, users, "rows")
	if total <= n {
		t.Fatalf("no writes after the backup (%d, backup %d): the test proves nothing", total, n)
	}
	_ = users.Close()
	_ = ferret.Close()
	extra := openDB(t, sqlitex.Path(data, "later"))
	if _, err := extra.Exec(ctx, "CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	_ = extra.Close()
	if err := restore(ctx, data, archive, log); err != nil {
		t.Fatal(err)
	}
	if c := count(t, openDB(t, sqlitex.Path(data, "user")), "rows"); c != n {
		t.Fatalf("after restore over the folder: %d rows, want %d", c, n)
	}
	if _, err := os.Stat(sqlitex.Path(data, "later")); !os.IsNotExist(err) {
		t.Fatalf("a database not in the backup stayed in place: %v", err)
	}
	if _, err := os.Stat(sqlitex.Path(data, "later") + ".before-restore"); err != nil {
		t.Fatalf("a database not in the backup was not kept aside: %v", err)
	}
}

func TestRestoreRefusesWhatIsNotABackup(t *testing.T) {
	ctx := context.Background()
	log := logging.Discard()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"plain.txt": "hello",
		"empty":     "",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := restore(ctx, t.TempDir(), p, log); err == nil {
			t.Errorf("%s restored", name)
		}
	}
	if err := backup(ctx, t.TempDir(), filepath.Join(dir, "b.tar.gz"), log); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Errorf("backup of an empty folder: %v", err)
	}
}

func TestIsDatabasePath(t *testing.T) {
	for p, want := range map[string]bool{
		"sqlite/user.db":     true,
		"db/accord.sqlite":   true,
		"../sqlite/user.db":  false,
		"/sqlite/user.db":    false,
		"sqlite/../../x.db":  false,
		"signing.key":        false,
		"sqlite/sub/x.db":    false,
		"sqlite/user.db-wal": false,
	} {
		if got := isDatabasePath(p); got != want {
			t.Errorf("isDatabasePath(%q) = %v, want %v", p, got, want)
		}
	}
}
