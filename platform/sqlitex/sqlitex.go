// Package sqlitex opens the embedded SQLite databases of the one-command
// run (ACCORD_STORE=sqlite): one file per service,
// <ACCORD_DATA_DIR>/sqlite/<service>.db, on modernc.org/sqlite (pure Go, no
// cgo).
//
// Every database runs in WAL mode, so readers never wait for the writer
// and the writer never waits for readers, with foreign keys on.
//
// Durability: synchronous=NORMAL. In WAL mode that fsyncs the log at each
// checkpoint rather than at each commit: a committed transaction survives a
// crash of the process, and the database is never corrupted, but a power
// loss or an OS crash may roll back the last transactions committed before
// it. That is the trade SQLite recommends for WAL and the one a chat
// service wants: FULL would put an fsync (milliseconds on most disks) on
// every message sent, for a guarantee that the MongoDB replica set, not the
// one-box mode, is there to give.
//
// Concurrency: a DB holds two pools. Writes go through one connection, so
// they queue in the process instead of failing with "database is locked";
// their transactions begin IMMEDIATE, taking the write lock up front, so
// a transaction never has to upgrade a read lock it cannot get. Reads use a
// pool of read-only connections that see the last committed state. A
// busy_timeout covers the rare writer outside the process (a backup, the
// sqlite3 shell).
//
// Schema: each store embeds numbered SQL files and Migrate applies the
// ones newer than the file's user_version, each in its own transaction.
//
// Statements: Exec, Query and QueryRow keep the statements they run
// prepared, by query text (up to maxStmts per pool), so that a query is
// parsed and planned once per connection rather than at every call.
// Inside a transaction, ExecIn (of Tx) and TxStmt (of Read) reuse them.
//
// Backups: Backup writes a consistent copy while the service runs
// (VACUUM INTO, a read transaction); Restore puts one back before start.
package sqlitex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/accordchat/accord/platform/errs"
)

// BusyTimeout is how long, in milliseconds, a connection waits for a lock
// held by another process before it gives up with SQLITE_BUSY.
const BusyTimeout = 10000

// DB is one SQLite database file: a single writer connection and a pool of
// readers.
type DB struct {
	path           string
	w, r           *sql.DB
	wstmts, rstmts stmtCache
}

// maxStmts bounds the statements a stmtCache keeps: stores run a fixed set
// of queries, so the bound is only there for query text built per call,
// which then runs unprepared.
const maxStmts = 256

// stmtCache keeps the prepared statements of one pool by query text.
// database/sql prepares a statement again on each connection of the pool
// that runs it, and the driver reuses the prepared handle at each run.
type stmtCache struct {
	mu sync.RWMutex
	m  map[string]*sql.Stmt
	// pending are queries ExecIn ran unprepared, to prepare when the
	// writer connection is free again.
	pending map[string]struct{}
}

// lookup returns the prepared statement of query, or nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// want notes query to be prepared by preparePending.
func (c *stmtCache) want(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m)+len(c.pending) >= maxStmts {
		return
	}
	if c.pending == nil {
		c.pending = map[string]struct{}{}
	}
	c.pending[query] = struct{}{}
}

// preparePending prepares the queries noted by want.
func (c *stmtCache) preparePending(ctx context.Context, pool *sql.DB) {
	c.mu.Lock()
	qs := c.pending
	c.pending = nil
	c.mu.Unlock()
	for q := range qs {
		c.get(ctx, pool, q)
	}
}

// get returns the prepared statement of query on pool, preparing it on
// first use, or nil when query is not to be cached: the cache is full, or
// preparing failed (the caller runs it unprepared and gets the error).
func (c *stmtCache) get(ctx context.Context, pool *sql.DB, query string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.m[query]
	n := len(c.m)
	c.mu.RUnlock()
	if ok {
		return st
	}
	if n >= maxStmts {
		return nil
	}
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok {
		// Another call prepared it meanwhile.
		_ = st.Close()
		return prev
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	if len(c.m) >= maxStmts {
		_ = st.Close()
		return nil
	}
	c.m[query] = st
	return st
}

// close closes the statements kept.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	c.m = nil
	return errors.Join(errs...)
}

// Path returns the file of service's database under dataDir.
func Path(dataDir, service string) string {
	return filepath.Join(dataDir, "sqlite", service+".db")
}

// dsn builds the connection string of path. Pragmas run in order on every
// new connection: busy_timeout first, so the others wait for locks too.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating when missing) the database at path, creating its
// folder too. The caller runs Migrate before use and Close after.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One writer: concurrent writes wait for it in the pool, in the
	// process, instead of racing for the file lock.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The first connection sets WAL mode, which persists in the file.
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	return &DB{path: path, w: w, r: r}, nil
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Close closes both pools; a clean close checkpoints the WAL into the file.
func (db *DB) Close() error {
	return errors.Join(db.rstmts.close(), db.wstmts.close(), db.r.Close(), db.w.Close())
}

// Reader is the pool of read-only connections. A read that must see its
// own writes belongs in the write transaction instead.
func (db *DB) Reader() *sql.DB { return db.r }

// Writer is the single write connection. Prefer Tx or Exec.
func (db *DB) Writer() *sql.DB { return db.w }

// Exec runs one write statement.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := db.wstmts.get(ctx, db.w, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return db.w.ExecContext(ctx, query, args...)
}

// Query runs a read on the reader pool.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := db.rstmts.get(ctx, db.r, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.r.QueryContext(ctx, query, args...)
}

// QueryRow runs a one-row read on the reader pool.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.rstmts.get(ctx, db.r, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.r.QueryRowContext(ctx, query, args...)
}

// Tx runs fn in one write transaction (BEGIN IMMEDIATE): committed when fn
// returns nil, rolled back otherwise. fn holds the one writer connection:
// it must write through tx only, never through db's Exec or Tx, which
// would wait for that connection forever.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	err = fn(tx)
	if err != nil {
		_ = tx.Rollback()
	} else if err = tx.Commit(); err != nil {
		err = fmt.Errorf("sqlite: commit: %w", err)
	}
	// The writer connection is free again now that the transaction ended.
	db.wstmts.preparePending(context.WithoutCancel(ctx), db.w)
	return err
}

// Read runs fn in one read transaction on a reader connection: every query
// of fn sees the same committed state, and the connection takes its locks
// on the file once for all of them rather than once per query.
func (db *DB) Read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	defer func() {
		_ = tx.Rollback()
		// The connection is back in the pool: prepare what TxStmt noted.
		db.rstmts.preparePending(context.WithoutCancel(ctx), db.r)
	}()
	return fn(tx)
}

// TxStmt returns query prepared for tx (of Read), for a query that runs
// many times in it: the pool's statement when the connection has it,
// else one prepared on the connection for tx alone. It ends with tx. A
// query not yet kept is noted, and prepared for the pool after the read.
func (db *DB) TxStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st := db.rstmts.lookup(query); st != nil {
		return tx.StmtContext(ctx, st), nil
	}
	db.rstmts.want(query)
	return tx.PrepareContext(ctx, query)
}

// ExecIn runs one write statement in tx, a transaction of Tx, prepared
// once as Exec's are. The writer connection is the transaction's until it
// ends, so a query met for the first time runs unprepared and is prepared
// when the transaction ends.
func (db *DB) ExecIn(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := db.wstmts.lookup(query); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	db.wstmts.want(query)
	return tx.ExecContext(ctx, query, args...)
}

// NewID returns a new 24-hex-character id ordered by creation time, the
// form of a MongoDB ObjectID, so that ids look alike whichever store made
// them and a database can move between the stores.
func NewID() string { return bson.NewObjectID().Hex() }

// IsUnique reports whether err is a UNIQUE or PRIMARY KEY constraint
// violation.
func IsUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// IsNotFound reports whether err is sql.ErrNoRows.
func IsNotFound(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// Err maps err to the errs kinds: no rows becomes notFound (or a generic
// errs.NotFound when nil), a uniqueness violation exists (or a generic
// errs.AlreadyExists when nil), and any other error is wrapped with op.
func Err(err error, op string, notFound, exists *errs.Error) error {
	switch {
	case err == nil:
		return nil
	case IsNotFound(err):
		if notFound == nil {
			return errs.NotFound("not found")
		}
		return notFound
	case IsUnique(err):
		if exists == nil {
			return errs.AlreadyExists("already exists")
		}
		return exists
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Backup writes a consistent copy of the database to dest, which must not
// exist, while the database stays in use: VACUUM INTO reads one snapshot
// and writes a compact file with no WAL to carry along.
func (db *DB) Backup(ctx context.Context, dest string) error {
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("sqlite: backup: %s exists", dest)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	// VACUUM INTO only reads the source, inside one read transaction, so
	// writers go on meanwhile (WAL). It runs on a connection of its own:
	// the writer must stay free for them and readers are query_only.
	c, err := sql.Open("sqlite", dsn(db.path, false))
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", dest, err)
	}
	return nil
}

// BackupFile backs up the database file at src to dest, consistently,
// without writing to src: src may be in use by another process (the
// running service, or FerretDB for its own files).
func BackupFile(ctx context.Context, src, dest string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("sqlite: backup: %s exists", dest)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout))
	c, err := sql.Open("sqlite", "file:"+src+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("sqlite: backup of %s: %w", src, err)
	}
	return nil
}

// Restore replaces the database at path with the backup at src. The
// database must not be open: run it before the service starts. The copy
// is written next to path and renamed over it, so a failure leaves the old
// database whole; the old WAL and shared-memory files go with it.
func Restore(ctx context.Context, src, path string) error {
	// Check that src is a database before touching path.
	check, err := sql.Open("sqlite", "file:"+src+"?mode=ro")
	if err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	var ok string
	err = check.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&ok)
	_ = check.Close()
	if err != nil || ok != "ok" {
		return fmt.Errorf("sqlite: restore: %s is not a sound SQLite database (%v %s)", src, err, ok)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	tmp := path + ".restore"
	_ = os.Remove(tmp)
	if err := copyFile(src, tmp); err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sqlite: restore: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	return nil
}

func copyFile(src, dest string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := out.ReadFrom(in); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
