package auth

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// RevocationChecker tells whether a session was revoked (logged out).
type RevocationChecker interface {
	IsRevoked(ctx context.Context, sessionID string) (bool, error)
}

// Revocations keeps revoked session ids in Redis, each for as long as an
// access token of that session can still be valid.
type Revocations struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRevocations returns a Redis-backed revocation list under key prefix.
func NewRevocations(rdb redis.UniversalClient, prefix string) *Revocations {
	return &Revocations{rdb: rdb, prefix: prefix}
}

func (r *Revocations) key(sid string) string { return r.prefix + "revoked:" + sid }

// Revoke marks a session revoked for ttl (at least the access token lifetime).
func (r *Revocations) Revoke(ctx context.Context, sessionID string, ttl time.Duration) error {
	return r.rdb.Set(ctx, r.key(sessionID), 1, ttl).Err()
}

// IsRevoked implements RevocationChecker.
func (r *Revocations) IsRevoked(ctx context.Context, sessionID string) (bool, error) {
	n, err := r.rdb.Exists(ctx, r.key(sessionID)).Result()
	return n > 0, err
}
