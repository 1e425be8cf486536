// Package redis holds the user service's Redis state: the sign-in rate
// limiter and the short locks that serialise changes to a pair of users.
// Every key lives in the deployment's keyspace.
package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/platform/redisx"
)

// LimiterOptions set how many sign-in attempts may fail inside a window.
type LimiterOptions struct {
	// PerLogin is the number of failed attempts per login per window.
	PerLogin int
	// PerAddr is the number of failed attempts per client address per window.
	PerAddr int
	// Window is how long failures count, from the first one.
	Window time.Duration
}

// DefaultLimiterOptions allow 10 failures per login and 50 per address in 15 minutes.
func DefaultLimiterOptions() LimiterOptions {
	return LimiterOptions{PerLogin: 10, PerAddr: 50, Window: 15 * time.Minute}
}

// Limiter counts sign-in attempts per login and per client address in
// fixed windows that start at the first failure. An attempt is reserved
// before the password is checked, and given back when it succeeds, so a
// burst of parallel guesses cannot slip past the limit.
type Limiter struct {
	rdb redis.UniversalClient
	ks  redisx.Keyspace
	o   LimiterOptions
}

// NewLimiter returns a Limiter whose keys live in keys.
func NewLimiter(rdb redis.UniversalClient, keys redisx.Keyspace, o LimiterOptions) *Limiter {
	return &Limiter{rdb: rdb, ks: keys, o: o}
}

// acquireScript refuses when any key has reached its limit (ARGV[i+1]),
// answering the longest time left; otherwise it counts the attempt on every
// key, starting the window (ARGV[1] ms) on a key's first attempt. Refused
// attempts are not counted, so retrying does not extend a lockout.
var acquireScript = redis.NewScript(`
local retry = -1
for i = 1, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[i + 1]) then
    local t = redis.call('PTTL', KEYS[i])
    if t < 0 then
      redis.call('PEXPIRE', KEYS[i], ARGV[1])
      t = tonumber(ARGV[1])
    end
    if t > retry then retry = t end
  end
end
if retry >= 0 then return retry end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
end
return -1
`)

// releaseScript gives back one attempt on every key that still counts any.
var releaseScript = redis.NewScript(`
for i = 1, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n > 0 then redis.call('DECR', KEYS[i]) end
end
return 0
`)

func (l *Limiter) keys(loginKey, addr string) []string {
	if addr == "" {
		addr = "unknown"
	}
	// The scripts count on both keys at once: on a Redis Cluster they share
	// the hash tag {login} (one slot for every failure counter; they are few
	// and short-lived).
	return []string{l.ks.Key("login:{login}:fail:login:", loginKey), l.ks.Key("login:{login}:fail:addr:", addr)}
}

// Acquire implements account.Limiter.
func (l *Limiter) Acquire(ctx context.Context, loginKey, addr string) (bool, time.Duration, error) {
	ms, err := acquireScript.Run(ctx, l.rdb, l.keys(loginKey, addr), l.o.Window.Milliseconds(), l.o.PerLogin, l.o.PerAddr).Int64()
	if err != nil {
		return false, 0, fmt.Errorf("login limiter: %w", err)
	}
	if ms >= 0 {
		return false, max(time.Duration(ms)*time.Millisecond, time.Millisecond), nil
	}
	return true, 0, nil
}

// Release implements account.Limiter.
func (l *Limiter) Release(ctx context.Context, loginKey, addr string) error {
	if err := releaseScript.Run(ctx, l.rdb, l.keys(loginKey, addr)).Err(); err != nil {
		return fmt.Errorf("login limiter: %w", err)
	}
	return nil
}
