package sqlite

import (
	"sync"

	"github.com/accordchat/accord/services/server/internal/guild"
)

// maxCachedChannels bounds the channel cache; it starts over when full.
const maxCachedChannels = 50_000

// channelCache keeps channel rows by id for Channel, which every send,
// list and read of a channel asks first. It is coherent because one
// process owns a SQLite database (the data folder's lock) and every write
// to the channels table goes through this Store, which drops the cache
// after it: a reader that began before a drop never stores what it read
// (the generation changed), so no stale row outlives the write.
type channelCache struct {
	mu   sync.Mutex
	gen  uint64
	rows map[string]guild.Channel
}

// get returns the cached row of id, and the generation to pass to put
// after reading it from the database when there is none.
func (c *channelCache) get(id string) (guild.Channel, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.rows[id]
	return ch, c.gen, ok
}

// put caches a row read at generation gen, unless a write came since.
func (c *channelCache) put(gen uint64, ch guild.Channel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.rows == nil || len(c.rows) >= maxCachedChannels {
		c.rows = map[string]guild.Channel{}
	}
	c.rows[ch.ID] = ch
}

// drop forgets every row; it runs after each write to the channels table.
func (c *channelCache) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.rows = nil
}
