package auth

import (
	"context"
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
	rdb  redis.UniversalClient
	keys redisx.Keyspace
	w    watcher
}

// NewRevocations returns a Redis-backed revocation list in keys.
func NewRevocations(rdb redis.UniversalClient, keys redisx.Keyspace) *Revocations {
	return &Revocations{rdb: rdb, keys: keys}
}

func (r *Revocations) key(sid string) string { return r.keys.Key("revoked:", sid) }

// Revoke marks a session revoked for ttl (at least the access token
// lifetime) and announces it to the processes with calls of that session.
func (r *Revocations) Revoke(ctx context.Context, sessionID string, ttl time.Duration) error {
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.key(sessionID), 1, ttl)
		p.Publish(ctx, r.channel(), sessionID)
		return nil
	})
	return err
}

// IsRevoked implements RevocationChecker.
func (r *Revocations) IsRevoked(ctx context.Context, sessionID string) (bool, error) {
	n, err := r.rdb.Exists(ctx, r.key(sessionID)).Result()
	return n > 0, err
}
