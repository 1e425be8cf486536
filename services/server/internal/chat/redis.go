package chat

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/events"
)

// rateScript is a sliding-window log: it admits a send when fewer than
// ARGV[2] sends happened in the last ARGV[1] ms, else returns how many ms to
// wait. Redis's clock is used so that every instance agrees.
var rateScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
`)

// allow admits one send of user in channel or returns a RESOURCE_EXHAUSTED
// error with the delay after which a send is admitted again.
func (s *Service) allow(ctx context.Context, userID, channelID string) error {
	if s.cfg.RateLimit <= 0 {
		return nil
	}
	key := s.prefix + "rl:msg:" + userID + ":" + channelID
	wait, err := rateScript.Run(ctx, s.rdb, []string{key},
		s.cfg.RateWindow.Milliseconds(), s.cfg.RateLimit, token()).Int64()
	if err != nil {
		s.log.ErrorContext(ctx, "rate limit check failed", "err", err)
		return errs.Unavailable("sending is unavailable; retry")
	}
	if wait > 0 {
		d := time.Duration(wait) * time.Millisecond
		return errs.ResourceExhausted(d, "too many messages in this channel; retry in %s", d.Round(time.Millisecond))
	}
	return nil
}

// The channel lock orders a channel's writes: the message id is allocated,
// the document written and the event appended while it is held, so the
// order of ids (history) equals the order of the channel's events in the
// log (the feed), on every instance. The key next to it remembers the last
// id allocated so ids keep growing even when instances' clocks disagree.
var (
	lockScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2]) or ''}
end
return {0, ''}
`)
	unlockScript = redis.NewScript(unlockSrc)
)

const unlockSrc = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'EX', 86400) end
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`

const lockTTL = 5 * time.Second

// channelLock is a held channel lock.
type channelLock struct {
	s       *Service
	keys    []string
	tok     string
	last    string
	local   *sync.Mutex
	allocID string

	released bool // unlock was called (it may be called again)
}

// lockChannel takes the channel's lock: an in-process stripe first, so one
// goroutine per instance polls Redis, then the shared Redis lock.
func (s *Service) lockChannel(ctx context.Context, channelID string) (*channelLock, error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(channelID))
	local := &s.stripes[h.Sum32()%uint32(len(s.stripes))]
	local.Lock()
	l := &channelLock{
		s:     s,
		keys:  []string{s.prefix + "chlock:" + channelID, s.prefix + "chlast:" + channelID},
		tok:   token(),
		local: local,
	}
	deadline := time.Now().Add(lockTTL)
	backoff := 100 * time.Microsecond
	for {
		res, err := lockScript.Run(ctx, s.rdb, l.keys, l.tok, lockTTL.Milliseconds()).Slice()
		if err != nil {
			local.Unlock()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			s.log.ErrorContext(ctx, "channel lock failed", "err", err)
			return nil, errs.Unavailable("sending is unavailable; retry")
		}
		if n, _ := res[0].(int64); n == 1 {
			l.last, _ = res[1].(string)
			return l, nil
		}
		if time.Now().After(deadline) {
			local.Unlock()
			return nil, errs.Unavailable("channel busy; retry")
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			local.Unlock()
			return nil, ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, time.Millisecond)
	}
}

// newID allocates an id greater than every id allocated under this lock before.
func (l *channelLock) newID() bson.ObjectID {
	id := bson.NewObjectID()
	if last, err := bson.ObjectIDFromHex(l.last); err == nil && bytes.Compare(id[:], last[:]) <= 0 {
		id = last
		for i := len(id) - 1; i >= 0; i-- {
			id[i]++
			if id[i] != 0 {
				break
			}
		}
	}
	l.allocID = id.Hex()
	return id
}

// unlock releases the lock, recording the allocated id; calls after the
// first do nothing. It uses a fresh context so a cancelled request still
// releases what it holds.
func (l *channelLock) unlock() {
	if l.released {
		return
	}
	l.released = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := unlockScript.Run(ctx, l.s.rdb, l.keys, l.tok, l.allocID).Err(); err != nil && !errors.Is(err, redis.Nil) {
		l.s.log.Warn("channel unlock failed; the lock expires by itself", "err", err)
	}
	l.local.Unlock()
}

// appendAndUnlock appends ev to scope and releases the lock in one round
// trip to Redis, in that order: the channel's next send waits for one round
// trip fewer. It returns the event's cursor.
func (l *channelLock) appendAndUnlock(ctx context.Context, log *events.Log, scope string, ev *serverv1.Event) (string, error) {
	if l.released {
		return log.Append(ctx, scope, ev)
	}
	pipe := l.s.rdb.Pipeline()
	done, err := log.AppendIn(ctx, pipe, scope, ev)
	if err != nil {
		return "", err
	}
	l.released = true
	uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// EVAL, not EVALSHA: a pipeline cannot fall back when the script is
	// not cached yet.
	un := pipe.Eval(uctx, unlockSrc, l.keys, l.tok, l.allocID)
	_, _ = pipe.Exec(uctx)
	l.local.Unlock()
	if err := un.Err(); err != nil && !errors.Is(err, redis.Nil) {
		l.s.log.Warn("channel unlock failed; the lock expires by itself", "err", err)
	}
	return done()
}

func token() string {
	b := make([]byte, 12)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}
