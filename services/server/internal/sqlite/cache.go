package sqlite

import (
	"sync"

	"github.com/accordchat/accord/services/server/internal/guild"
)

// maxCached bounds each row cache; it starts over when full.
const maxCached = 50_000

// rowCache keeps rows by key for a lookup every send and every read of a
// channel makes first: the channel (Channel). It is coherent because a
// SQLite database has one server-service process (SQLite is the
// one-instance mode; several instances run on MongoDB, and the all-in-one
// holds the data folder's lock), and every write to the table goes through
// this Store, which drops the cache after it: a reader that began before a
// drop never stores what it read (the generation changed), so no stale
// row outlives the write. Absent rows are not cached.
//
// Memberships are not cached: tests (and any tool) that write through a
// second Store on the same file would leave a kicked member's access in
// this one's cache, and a stale membership is an access-control failure.
type rowCache[K comparable, V any] struct {
	mu   sync.Mutex
	gen  uint64
	rows map[K]V
}

// get returns the cached row of k, and the generation to pass to put
// after reading it from the database when there is none.
func (c *rowCache[K, V]) get(k K) (V, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.rows[k]
	return v, c.gen, ok
}

// put caches a row read at generation gen, unless a write came since.
func (c *rowCache[K, V]) put(gen uint64, k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.rows == nil || len(c.rows) >= maxCached {
		c.rows = map[K]V{}
	}
	c.rows[k] = v
}

// drop forgets every row; it runs after each write to the table.
func (c *rowCache[K, V]) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.rows = nil
}

// caches are the Store's row caches.
type caches struct {
	channels rowCache[string, guild.Channel]
}
