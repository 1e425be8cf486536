package auth

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/platform/redisx"
)

// RevocationChecker tells whether a session was revoked (logged out).
type RevocationChecker interface {
	IsRevoked(ctx context.Context, sessionID string) (bool, error)
}

// Revocations keeps revoked session ids in Redis, each for as long as an
// access token of that session can still be valid.
// Revoking also announces the session on a pub/sub channel, so that the
// long calls of that session end at once on every process (see Bind).
type Revocations struct {
	rdb   redis.UniversalClient
	keys  redisx.Keyspace
	w     watcher
	cache *liveSessions // nil: every IsRevoked asks Redis
}

// NewRevocations returns a Redis-backed revocation list in keys.
func NewRevocations(rdb redis.UniversalClient, keys redisx.Keyspace) *Revocations {
	return &Revocations{rdb: rdb, keys: keys}
}

func (r *Revocations) key(sid string) string { return r.keys.Key("revoked:", sid) }

// CacheChecks makes IsRevoked remember for up to ttl each session it found
// not revoked, saving a Redis round trip on most calls. Only a process
// that makes every revocation of its sessions itself may use it, through
// this Revocations: the all-in-one runner, where the user service revokes
// in the same process. Revoke forgets the session before it returns; a
// revocation made elsewhere would go unseen for up to ttl. Call it before
// the first check.
func (r *Revocations) CacheChecks(ttl time.Duration) {
	r.cache = &liveSessions{ttl: ttl, until: map[string]time.Time{}}
}

// Revoke marks a session revoked for ttl (at least the access token
// lifetime) and announces it to the processes with calls of that session.
func (r *Revocations) Revoke(ctx context.Context, sessionID string, ttl time.Duration) error {
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.key(sessionID), 1, ttl)
		p.Publish(ctx, r.channel(), sessionID)
		return nil
	})
	// Forgotten even when the pipeline failed: the key may be set.
	r.cache.forget(sessionID)
	return err
}

// IsRevoked implements RevocationChecker.
func (r *Revocations) IsRevoked(ctx context.Context, sessionID string) (bool, error) {
	if r.cache == nil {
		return r.revoked(ctx, sessionID)
	}
	gen, ok := r.cache.live(sessionID)
	if ok {
		return false, nil
	}
	revoked, err := r.revoked(ctx, sessionID)
	if err == nil && !revoked {
		r.cache.remember(sessionID, gen)
	}
	return revoked, err
}

// revoked asks Redis whether sessionID is in the revocation set.
func (r *Revocations) revoked(ctx context.Context, sessionID string) (bool, error) {
	n, err := r.rdb.Exists(ctx, r.key(sessionID)).Result()
	return n > 0, err
}

// maxLiveSessions bounds the sessions a liveSessions remembers.
const maxLiveSessions = 100_000

// liveSessions remembers sessions found not revoked, each until a time.
// gen counts revocations: a check that began before a revocation ended
// remembers nothing, since its answer may predate the revocation.
type liveSessions struct {
	ttl   time.Duration
	mu    sync.Mutex
	gen   uint64
	until map[string]time.Time
}

// live tells whether sid is remembered as not revoked, and otherwise the
// generation to pass to remember after asking Redis.
func (c *liveSessions) live(sid string) (gen uint64, ok bool) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, found := c.until[sid]; found {
		if now.Before(t) {
			return 0, true
		}
		delete(c.until, sid)
	}
	return c.gen, false
}

// remember notes sid as not revoked, unless a revocation ended since gen.
func (c *liveSessions) remember(sid string, gen uint64) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.until) >= maxLiveSessions {
		for k, t := range c.until {
			if !now.Before(t) {
				delete(c.until, k)
			}
		}
		if len(c.until) >= maxLiveSessions {
			clear(c.until)
		}
	}
	c.until[sid] = now.Add(c.ttl)
}

// forget drops sid; a nil liveSessions does nothing.
func (c *liveSessions) forget(sid string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.until, sid)
}
