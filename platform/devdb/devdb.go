// Package devdb runs FerretDB embedded in the process: a MongoDB
// wire-protocol server storing data in SQLite files. It backs the one-command
// dev mode and the tests; production uses a real MongoDB replica set.
package devdb

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// DB is a running embedded FerretDB.
type DB struct {
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
}

// Start serves FerretDB on addr ("127.0.0.1:0" picks a free port) with its
// SQLite files in dir.
func Start(dir, addr string, log *slog.Logger) (*DB, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// FerretDB logs every failed command at WARN with full wire dumps;
	// keep only its errors.
	flog := slog.New(&levelFilter{Handler: log.Handler(), min: slog.LevelError}).With("component", "ferretdb")
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    flog,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded ferretdb: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &DB{uri: f.MongoDBURI(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		_ = f.Run(ctx)
	}()
	return d, nil
}

// URI is the mongodb:// connection string of the server.
func (d *DB) URI() string { return d.uri }

// Close stops the server and waits for it.
func (d *DB) Close() {
	d.cancel()
	<-d.done
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (h *levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h *levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return &levelFilter{Handler: h.Handler.WithAttrs(a), min: h.min}
}

func (h *levelFilter) WithGroup(n string) slog.Handler {
	return &levelFilter{Handler: h.Handler.WithGroup(n), min: h.min}
}
