package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/redisx"
)

// Locks are short exclusive locks in Redis (SET NX with a lease). The lease
// frees a lock whose holder died; holders finish in milliseconds, far inside it.
type Locks struct {
	rdb     redis.UniversalClient
	keys    redisx.Keyspace
	lease   time.Duration
	maxWait time.Duration
}

// NewLocks returns Locks whose keys live in keys.
func NewLocks(rdb redis.UniversalClient, keys redisx.Keyspace) *Locks {
	return &Locks{rdb: rdb, keys: keys, lease: 15 * time.Second, maxWait: 10 * time.Second}
}

// unlockScript deletes the lock only if it still holds our token, so a
// holder whose lease ran out cannot free someone else's lock.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// Lock implements account.Locker. It waits, polling with jitter, until the
// lock is free, ctx ends or the wait limit passes (UNAVAILABLE).
func (l *Locks) Lock(ctx context.Context, name string) (func(), error) {
	key := l.keys.Key("lock:", name)
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	deadline := time.Now().Add(l.maxWait)
	for {
		ok, err := l.rdb.SetNX(ctx, key, token, l.lease).Result()
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		if ok {
			return func() {
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = unlockScript.Run(uctx, l.rdb, []string{key}, token).Err()
			}, nil
		}
		if time.Now().After(deadline) {
			return nil, errs.Unavailable("too many concurrent changes; try again")
		}
		wait := time.Millisecond + mrand.N(4*time.Millisecond)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}
