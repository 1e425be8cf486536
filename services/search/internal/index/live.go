package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accordchat/accord/services/search/internal/search"
)

// currentFile names, in a replica's folder, the folder of the index in
// service (written when Reindex puts a new one in place).
const currentFile = "current"

// Live is the index in service of a replica's folder, which Reindex can
// replace while it answers: search.Index over the current index, and
// search.Indexes making new ones beside it.
type Live struct {
	dir      string
	mu       sync.RWMutex // held for reading by each call, for writing to replace
	x        *Index
	name     string
	replaced atomic.Bool
}

var (
	_ search.Index   = (*Live)(nil)
	_ search.Indexes = (*Live)(nil)
)

// OpenLive opens the index in service in dir (the folder named by dir's
// "current" file, "index" at first).
func OpenLive(dir string) (*Live, error) {
	name := "index"
	if b, err := os.ReadFile(filepath.Join(dir, currentFile)); err == nil {
		if n := strings.TrimSpace(string(b)); n != "" && n == filepath.Base(n) {
			name = n
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	x, err := Open(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	return &Live{dir: dir, x: x, name: name}, nil
}

// Close closes the index in service.
func (l *Live) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.x.Close()
}

// Count is the number of messages in the index in service.
func (l *Live) Count() (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.x.Count()
}

// Apply implements search.Index, on the index in service; once after a
// replacement it returns search.ErrReplaced instead.
func (l *Live) Apply(ctx context.Context, changes []search.Change, position string) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.replaced.CompareAndSwap(true, false) {
		return search.ErrReplaced
	}
	return l.x.Apply(ctx, changes, position)
}

// Position implements search.Index.
func (l *Live) Position(ctx context.Context) (string, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.x.Position(ctx)
}

// Search implements search.Index.
func (l *Live) Search(ctx context.Context, q search.IndexQuery) ([]search.Hit, search.Total, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.x.Search(ctx, q)
}

// New implements search.Indexes: an empty index in a new folder beside
// the one in service.
func (l *Live) New(context.Context) (search.Index, error) {
	return Open(filepath.Join(l.dir, fmt.Sprintf("index-%d", time.Now().UnixNano())))
}

// Replace implements search.Indexes. The new index's folder is recorded
// as current before the old one is removed, so a crash at any point
// reopens a whole index.
func (l *Live) Replace(_ context.Context, x search.Index) error {
	fresh, ok := x.(*Index)
	if !ok || fresh.dir == "" {
		return errors.New("replace: not an index of this folder")
	}
	name := filepath.Base(fresh.dir)
	tmp := filepath.Join(l.dir, currentFile+".tmp")
	if err := os.WriteFile(tmp, []byte(name+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(l.dir, currentFile)); err != nil {
		return err
	}
	l.mu.Lock()
	old, oldName := l.x, l.name
	l.x, l.name = fresh, name
	l.replaced.Store(true)
	l.mu.Unlock()
	err := old.Close()
	return errors.Join(err, os.RemoveAll(filepath.Join(l.dir, oldName)))
}

// Discard implements search.Indexes.
func (l *Live) Discard(x search.Index) {
	if i, ok := x.(*Index); ok && i.dir != "" {
		_ = i.Close()
		_ = os.RemoveAll(i.dir)
	}
}
