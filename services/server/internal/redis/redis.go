// Package redis keeps the server service's short-lived coordination state
// in Redis: channel locks, the message outbox, send rate limits, request
// id records, typing windows and the activity stream. Every key lives in
// the deployment's keyspace. It implements the chat package's ports.
package redis

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/server/internal/chat"
)

// TypingChannel is the pub/sub channel typing events travel on.
func TypingChannel(keys redisx.Keyspace) string { return keys.Key("typing") }

func token() string {
	b := make([]byte, 12)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}

// rateScript is a sliding-window log: it admits a send when fewer than
// ARGV[2] sends happened in the last ARGV[1] ms, else returns how many ms to
// wait. Redis's clock is used so that every instance agrees.
var rateScript = goredis.NewScript(`
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

// RateLimiter implements chat.RateLimiter.
type RateLimiter struct {
	rdb  goredis.UniversalClient
	keys redisx.Keyspace
}

// NewRateLimiter returns a RateLimiter.
func NewRateLimiter(rdb goredis.UniversalClient, keys redisx.Keyspace) *RateLimiter {
	return &RateLimiter{rdb: rdb, keys: keys}
}

// Allow implements chat.RateLimiter.
func (r *RateLimiter) Allow(ctx context.Context, userID, channelID string, limit int, window time.Duration) (time.Duration, error) {
	key := r.keys.Key("rl:msg:", userID, ":", channelID)
	wait, err := rateScript.Run(ctx, r.rdb, []string{key}, window.Milliseconds(), limit, token()).Int64()
	if err != nil {
		return 0, err
	}
	return time.Duration(wait) * time.Millisecond, nil
}

// RequestRecords implements chat.RequestRecords.
type RequestRecords struct {
	rdb  goredis.UniversalClient
	keys redisx.Keyspace
}

// NewRequestRecords returns RequestRecords.
func NewRequestRecords(rdb goredis.UniversalClient, keys redisx.Keyspace) *RequestRecords {
	return &RequestRecords{rdb: rdb, keys: keys}
}

func (r *RequestRecords) key(authorID, requestID string) string {
	return r.keys.Key("msgreq:", authorID, "/", requestID)
}

// Remember implements chat.RequestRecords.
func (r *RequestRecords) Remember(ctx context.Context, authorID, requestID, messageID string, ttl time.Duration) error {
	return r.rdb.Set(ctx, r.key(authorID, requestID), messageID, ttl).Err()
}

// Recall implements chat.RequestRecords.
func (r *RequestRecords) Recall(ctx context.Context, authorID, requestID string) (string, error) {
	id, err := r.rdb.Get(ctx, r.key(authorID, requestID)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", nil
	}
	return id, err
}

// Outbox implements chat.Outbox as a sorted set scored by entry time (ms).
type Outbox struct {
	rdb goredis.UniversalClient
	key string
}

// NewOutbox returns an Outbox.
func NewOutbox(rdb goredis.UniversalClient, keys redisx.Keyspace) *Outbox {
	return &Outbox{rdb: rdb, key: OutboxKey(keys)}
}

// OutboxKey is the key of the outbox's sorted set.
func OutboxKey(keys redisx.Keyspace) string { return keys.Key("chat:outbox") }

func member(e chat.OutboxEntry) string { return e.ChannelID + "/" + e.MessageID }

// Add implements chat.Outbox.
func (o *Outbox) Add(ctx context.Context, e chat.OutboxEntry, at time.Time) error {
	return o.rdb.ZAdd(ctx, o.key, goredis.Z{Score: float64(at.UnixMilli()), Member: member(e)}).Err()
}

// AddAll implements chat.Outbox in one ZADD.
func (o *Outbox) AddAll(ctx context.Context, es []chat.OutboxEntry, at time.Time) error {
	if len(es) == 0 {
		return nil
	}
	zs := make([]goredis.Z, len(es))
	for i, e := range es {
		zs[i] = goredis.Z{Score: float64(at.UnixMilli()), Member: member(e)}
	}
	return o.rdb.ZAdd(ctx, o.key, zs...).Err()
}

// Remove implements chat.Outbox.
func (o *Outbox) Remove(ctx context.Context, e chat.OutboxEntry) error {
	return o.rdb.ZRem(ctx, o.key, member(e)).Err()
}

// Depth returns how many messages the outbox holds: stored, and not yet
// known to be in the event log.
func (o *Outbox) Depth(ctx context.Context) (int64, error) {
	return o.rdb.ZCard(ctx, o.key).Result()
}

// Pending implements chat.Outbox.
func (o *Outbox) Pending(ctx context.Context, e chat.OutboxEntry) (bool, error) {
	err := o.rdb.ZScore(ctx, o.key, member(e)).Err()
	if errors.Is(err, goredis.Nil) {
		return false, nil
	}
	return err == nil, err
}

// Due implements chat.Outbox. Malformed members are dropped on the way.
func (o *Outbox) Due(ctx context.Context, t time.Time, limit int) ([]chat.OutboxEntry, error) {
	members, err := o.rdb.ZRangeByScore(ctx, o.key, &goredis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(t.UnixMilli(), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, err
	}
	out := make([]chat.OutboxEntry, 0, len(members))
	for _, m := range members {
		channelID, messageID, ok := strings.Cut(m, "/")
		if !ok {
			o.rdb.ZRem(ctx, o.key, m)
			continue
		}
		out = append(out, chat.OutboxEntry{ChannelID: channelID, MessageID: messageID})
	}
	return out, nil
}

// TypingWindows implements chat.TypingWindows: one key per user and
// channel holding the announced expiry (Unix ms), living for the window.
type TypingWindows struct {
	rdb  goredis.UniversalClient
	keys redisx.Keyspace
}

// NewTypingWindows returns TypingWindows.
func NewTypingWindows(rdb goredis.UniversalClient, keys redisx.Keyspace) *TypingWindows {
	return &TypingWindows{rdb: rdb, keys: keys}
}

func (w *TypingWindows) key(channelID, userID string) string {
	return w.keys.Key("typing:", channelID, ":", userID)
}

// Open implements chat.TypingWindows. A window that closes between the
// check and the read of its expiry counts as opened (announce after all),
// without opening a new one.
func (w *TypingWindows) Open(ctx context.Context, channelID, userID string, until time.Time, every time.Duration) (bool, time.Time, error) {
	key := w.key(channelID, userID)
	first, err := w.rdb.SetNX(ctx, key, until.UnixMilli(), every).Result()
	if err != nil {
		return false, time.Time{}, err
	}
	if !first {
		if ms, err := w.rdb.Get(ctx, key).Int64(); err == nil {
			return false, time.UnixMilli(ms), nil
		}
	}
	return true, until, nil
}

// Close implements chat.TypingWindows.
func (w *TypingWindows) Close(ctx context.Context, channelID, userID string) error {
	return w.rdb.Del(ctx, w.key(channelID, userID)).Err()
}

// Activity implements chat.Activity on the stream the stats service reads.
type Activity struct {
	rdb    goredis.UniversalClient
	keys   redisx.Keyspace
	maxLen int64
}

// NewActivity returns an Activity trimmed to about maxLen entries.
func NewActivity(rdb goredis.UniversalClient, keys redisx.Keyspace, maxLen int64) *Activity {
	return &Activity{rdb: rdb, keys: keys, maxLen: maxLen}
}

// Record implements chat.Activity.
func (a *Activity) Record(ctx context.Context, kind string, m chat.Message) error {
	return events.AppendActivity(ctx, a.rdb, a.keys, activityEntry(kind, m), a.maxLen)
}

func activityEntry(kind string, m chat.Message) events.ActivityEntry {
	return events.ActivityEntry{
		Kind: kind, UserID: m.AuthorID, ServerID: m.ServerID, ChannelID: m.ChannelID,
		MessageID: m.ID, Time: m.CreatedAt,
	}
}

// SendDone implements chat.SendDone on one pipeline over the stores of
// RequestRecords, an Outbox, TypingWindows and Activity (which share one
// client).
type SendDone struct {
	requests *RequestRecords
	outbox   *Outbox
	typing   *TypingWindows
	activity *Activity
}

// NewSendDone returns the SendDone of r, o, w and a.
func NewSendDone(r *RequestRecords, o *Outbox, w *TypingWindows, a *Activity) *SendDone {
	return &SendDone{requests: r, outbox: o, typing: w, activity: a}
}

// SendDone implements chat.SendDone.
func (d *SendDone) SendDone(ctx context.Context, m chat.Message, e chat.OutboxEntry, remember time.Duration, closeTyping bool) chat.SendDoneErrors {
	pipe := d.outbox.rdb.Pipeline()
	var set *goredis.StatusCmd
	if m.RequestID != "" && remember > 0 {
		set = pipe.Set(ctx, d.requests.key(m.AuthorID, m.RequestID), m.ID, remember)
	}
	rem := pipe.ZRem(ctx, d.outbox.key, member(e))
	var del *goredis.IntCmd
	if closeTyping {
		del = pipe.Del(ctx, d.typing.key(m.ChannelID, m.AuthorID))
	}
	// Queued last: its result is the last of Exec's.
	if err := events.AppendActivity(ctx, pipe, d.activity.keys, activityEntry("message_created", m), d.activity.maxLen); err != nil {
		return chat.SendDoneErrors{Activity: err}
	}
	cmds, err := pipe.Exec(ctx)
	if len(cmds) == 0 {
		return chat.SendDoneErrors{Request: err, Outbox: err, Typing: err, Activity: err}
	}
	out := chat.SendDoneErrors{Outbox: rem.Err(), Activity: cmds[len(cmds)-1].Err()}
	if set != nil {
		out.Request = set.Err()
	}
	if del != nil {
		out.Typing = del.Err()
	}
	return out
}

// SendDoneOnRelease implements chat.SendDoneOnRelease: on a Redis channel
// lock of a single Redis server, SendDone's steps run in the script that
// appends m's event and releases the lock (ChannelLock.Then).
func (d *SendDone) SendDoneOnRelease(held chat.ChannelLock, m chat.Message, e chat.OutboxEntry, remember time.Duration, closeTyping bool) bool {
	l, ok := held.(*ChannelLock)
	if !ok {
		return false
	}
	cmds := make([]Cmd, 0, 4)
	if m.RequestID != "" && remember > 0 {
		cmds = append(cmds, Cmd{Name: "SET", Key: d.requests.key(m.AuthorID, m.RequestID), Args: []any{m.ID, "PX", remember.Milliseconds()}})
	}
	cmds = append(cmds, Cmd{Name: "ZREM", Key: d.outbox.key, Args: []any{member(e)}})
	if closeTyping {
		cmds = append(cmds, Cmd{Name: "DEL", Key: d.typing.key(m.ChannelID, m.AuthorID)})
	}
	cmds = append(cmds, XAddCmd(events.ActivityArgs(d.activity.keys, activityEntry("message_created", m), d.activity.maxLen)))
	return l.Then(cmds...)
}

// The channel lock orders a channel's writes (see chat.ChannelLocks). The
// key next to it remembers the last id allocated so ids keep growing even
// when instances' clocks disagree.
var (
	lockScript = goredis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2]) or ''}
end
return {0, ''}
`)
	unlockScript = goredis.NewScript(unlockSrc)
	// lockAddingScript is lockScript that also adds outbox entries (KEYS[3]
	// the outbox, ARGV from 3 on its score-member pairs) once the lock is
	// taken, in the same step.
	lockAddingScript = goredis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('ZADD', KEYS[3], unpack(ARGV, 3))
  return {1, redis.call('GET', KEYS[2]) or ''}
end
return {0, ''}
`)
)

const unlockSrc = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'EX', 86400) end
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`

// LockTTL is how long a channel lock lives when its holder vanishes; it is
// also how long Lock waits for a taken lock.
const LockTTL = 5 * time.Second

// Locks implements chat.ChannelLocks: an in-process stripe first, so one
// goroutine per instance polls Redis, then the shared Redis lock.
//
// A channel's lock and last-id keys carry the hash tag of the event-log
// scope its messages are appended to (its server's), so that on a Redis
// Cluster AppendAndUnlock's script finds the lock, the last id and the
// stream in one slot: "chlock:{server:<id>}:<channel id>".
type Locks struct {
	rdb     goredis.UniversalClient
	keys    redisx.Keyspace
	log     *slog.Logger
	scopeOf ScopeOf
	stripes [256]sync.Mutex

	mu     sync.Mutex
	scopes map[string]string // channel id -> scope; a channel never moves
}

// ScopeOf returns the event-log scope of a channel's messages (its
// server's, events.ServerScope), or an error of kind errs.KindNotFound for
// a channel that does not exist (any more).
type ScopeOf func(ctx context.Context, channelID string) (string, error)

// maxScopes bounds the channel-to-scope cache; it starts over when full.
const maxScopes = 100_000

// NewLocks returns Locks whose keys go with the scope scopeOf gives each
// channel (asked once per channel and instance).
func NewLocks(rdb goredis.UniversalClient, keys redisx.Keyspace, log *slog.Logger, scopeOf ScopeOf) *Locks {
	return &Locks{rdb: rdb, keys: keys, log: log, scopeOf: scopeOf, scopes: map[string]string{}}
}

// LockKey is the key of a channel's lock, in the hash slot of scope.
func LockKey(keys redisx.Keyspace, scope, channelID string) string {
	return keys.Key("chlock:", redisx.Tag(scope), ":", channelID)
}

// LastKey is the key of a channel's last allocated id, next to its lock.
func LastKey(keys redisx.Keyspace, scope, channelID string) string {
	return keys.Key("chlast:", redisx.Tag(scope), ":", channelID)
}

// scope returns the scope whose hash tag a channel's keys carry. A channel
// that no longer exists gets a scope of its own: nothing is appended to a
// scope for it.
func (ls *Locks) scope(ctx context.Context, channelID string) (string, error) {
	ls.mu.Lock()
	scope, ok := ls.scopes[channelID]
	ls.mu.Unlock()
	if ok {
		return scope, nil
	}
	scope, err := ls.scopeOf(ctx, channelID)
	if e, ok := errs.As(err); ok && e.Kind == errs.KindNotFound {
		return "channel:" + channelID, nil
	}
	if err != nil {
		return "", err
	}
	ls.mu.Lock()
	if len(ls.scopes) >= maxScopes {
		ls.scopes = map[string]string{}
	}
	ls.scopes[channelID] = scope
	ls.mu.Unlock()
	return scope, nil
}

// ChannelLock is a held channel lock (chat.ChannelLock).
type ChannelLock struct {
	l     *Locks
	keys  []string
	tok   string
	last  string
	local *sync.Mutex

	released bool // Unlock was called (it may be called again)
	// then are commands to run after the release in AppendAllAndUnlock's
	// round trip (see Then).
	then []Cmd
}

// Cmd is one Redis command: its name, its key, then its other arguments.
type Cmd struct {
	Name string
	Key  string
	Args []any
}

// XAddCmd is the Cmd of an XADD (with MAXLEN ~ when args.MaxLen > 0).
func XAddCmd(args *goredis.XAddArgs) Cmd {
	vs, _ := args.Values.([]any)
	a := make([]any, 0, 4+len(vs))
	if args.MaxLen > 0 {
		a = append(a, "MAXLEN", "~", args.MaxLen)
	}
	a = append(a, "*")
	a = append(a, vs...)
	return Cmd{Name: "XADD", Key: args.Stream, Args: a}
}

// Then queues cmds to run, best effort, in the round trip of
// AppendAllAndUnlock, right after it appended and released the lock (and
// only if it did: a lost lock, a failed append or a release by Unlock runs
// none). It is how the steps that follow a send's announcement (the
// message log, SendDone's) cost no round trip of their own. It only does so
// on a single Redis server: on a cluster their keys live in other slots
// than the lock's, so it queues nothing and returns false, and the caller
// runs them itself. A failure of one of them is logged; it fails nothing.
func (l *ChannelLock) Then(cmds ...Cmd) bool {
	if _, single := l.l.rdb.(*goredis.Client); !single || l.released {
		return false
	}
	l.then = append(l.then, cmds...)
	return true
}

// Lock implements chat.ChannelLocks.
func (ls *Locks) Lock(ctx context.Context, channelID string) (chat.ChannelLock, error) {
	return ls.lock(ctx, channelID, nil, time.Time{})
}

// LockAdding implements chat.OutboxLocks: on a single Redis server the
// entries go into the outbox (NewOutbox's key) in the script that takes the
// lock. On a cluster the outbox lives in another slot than the lock: it
// takes the lock alone and reports false.
func (ls *Locks) LockAdding(ctx context.Context, channelID string, es []chat.OutboxEntry, at time.Time) (chat.ChannelLock, bool, error) {
	if _, single := ls.rdb.(*goredis.Client); !single || len(es) == 0 {
		l, err := ls.lock(ctx, channelID, nil, time.Time{})
		return l, false, err
	}
	l, err := ls.lock(ctx, channelID, es, at)
	return l, err == nil, err
}

// lock takes the channel's lock, adding es to the outbox at at with it when
// es is not empty.
func (ls *Locks) lock(ctx context.Context, channelID string, es []chat.OutboxEntry, at time.Time) (chat.ChannelLock, error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(channelID))
	scope, err := ls.scope(ctx, channelID)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ls.log.ErrorContext(ctx, "channel lock: no scope for the channel", "err", err)
		return nil, errs.Unavailable("sending is unavailable; retry")
	}
	local := &ls.stripes[h.Sum32()%uint32(len(ls.stripes))]
	local.Lock()
	l := &ChannelLock{
		l:     ls,
		keys:  []string{LockKey(ls.keys, scope, channelID), LastKey(ls.keys, scope, channelID)},
		tok:   token(),
		local: local,
	}
	script, keys, args := lockScript, l.keys, []any{l.tok, LockTTL.Milliseconds()}
	if len(es) > 0 {
		script, keys = lockAddingScript, []string{l.keys[0], l.keys[1], OutboxKey(ls.keys)}
		score := at.UnixMilli()
		for _, e := range es {
			args = append(args, score, member(e))
		}
	}
	deadline := time.Now().Add(LockTTL)
	backoff := 100 * time.Microsecond
	for {
		res, err := script.Run(ctx, ls.rdb, keys, args...).Slice()
		if err != nil {
			local.Unlock()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			ls.log.ErrorContext(ctx, "channel lock failed", "err", err)
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

// LastID implements chat.ChannelLock.
func (l *ChannelLock) LastID() string { return l.last }

// Unlock implements chat.ChannelLock. It uses a fresh context so a
// cancelled request still releases what it holds.
func (l *ChannelLock) Unlock(allocated string) {
	if l.released {
		return
	}
	l.released = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := unlockScript.Run(ctx, l.l.rdb, l.keys, l.tok, allocated).Err(); err != nil && !errors.Is(err, goredis.Nil) {
		l.l.log.Warn("channel unlock failed; the lock expires by itself", "err", err)
	}
	l.local.Unlock()
}

// appendScript appends an event-log entry and releases the channel lock
// in one step, only while the lock is still this holder's: a holder that
// stalled past LockTTL may have been overtaken by a redelivery of the same
// message, and its late append would announce it twice. KEYS: lock, last
// id, stream; ARGV: token, allocated id, max length (0: none), then the
// entry's field-value pairs. It returns the entry's id, or nil when the lock
// was lost (nothing appended). The three keys share the scope's hash tag
// (see Locks), so the script runs on a Redis Cluster too.
var appendScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local id
if ARGV[3] ~= '0' then
  id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
else
  id = redis.call('XADD', KEYS[3], '*', unpack(ARGV, 4))
end
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'EX', 86400) end
redis.call('DEL', KEYS[1])
return id
`)

// AppendAndUnlock appends the prepared event-log entry and releases the
// lock in one round trip, so the channel's next writer waits one round trip
// less, and only while the lock is still held: when it expired meanwhile it
// appends nothing and returns chat.ErrLockLost. The lock is released in
// every case.
func (l *ChannelLock) AppendAndUnlock(ctx context.Context, allocated string, e events.Entry) (string, error) {
	if l.released {
		return "", chat.ErrLockLost
	}
	l.released = true
	defer l.local.Unlock()
	// A fresh context: a cancelled request still releases what it holds.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	args := make([]any, 0, 3+len(e.Values))
	args = append(args, l.tok, allocated, e.MaxLen)
	args = append(args, e.Values...)
	id, err := appendScript.Run(uctx, l.l.rdb, []string{l.keys[0], l.keys[1], e.Stream}, args...).Text()
	if errors.Is(err, goredis.Nil) {
		return "", chat.ErrLockLost
	}
	if err != nil {
		l.releaseAfterFailedAppend(uctx, allocated)
		return "", fmt.Errorf("append event to %s: %w", e.Stream, err)
	}
	e.Appended(id)
	return id, nil
}

// appendAllScript is appendScript for several entries of one stream, in
// order, followed by the commands Then queued, each run with pcall after
// the release. KEYS: lock, last id, stream, then each command's key. ARGV:
// token, allocated id, max length (0: none), the number of entries, per
// entry its number of field-value arguments followed by them, then per
// command its name, its number of further arguments and them. It returns
// the entries' ids followed by the number of commands that failed, or nil
// when the lock was lost (nothing appended, no command run).
var appendAllScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local ids = {}
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local n = tonumber(ARGV[i])
  local fields = {unpack(ARGV, i + 1, i + n)}
  if ARGV[3] ~= '0' then
    ids[#ids + 1] = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', unpack(fields))
  else
    ids[#ids + 1] = redis.call('XADD', KEYS[3], '*', unpack(fields))
  end
  i = i + n + 1
end
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'EX', 86400) end
redis.call('DEL', KEYS[1])
local failed, k = 0, 4
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  local r = redis.pcall(ARGV[i], KEYS[k], unpack(ARGV, i + 2, i + 1 + n))
  if type(r) == 'table' and r.err then failed = failed + 1 end
  k, i = k + 1, i + n + 2
end
ids[#ids + 1] = tostring(failed)
return ids
`)

// appendAll is AppendAllAndUnlock's round trip: the entries, the release
// and the commands queued (Then).
func (l *ChannelLock) appendAll(ctx context.Context, allocated string, es []events.Entry) ([]string, error) {
	stream, maxLen := "", int64(0)
	if len(es) > 0 {
		stream, maxLen = es[0].Stream, es[0].MaxLen
	}
	n, nkeys := 4, 3+len(l.then)
	for _, e := range es {
		n += 1 + len(e.Values)
	}
	for _, c := range l.then {
		n += 2 + len(c.Args)
	}
	keys := make([]string, 0, nkeys)
	keys = append(keys, l.keys[0], l.keys[1], stream)
	args := make([]any, 0, n)
	args = append(args, l.tok, allocated, maxLen, len(es))
	for _, e := range es {
		args = append(args, len(e.Values))
		args = append(args, e.Values...)
	}
	for _, c := range l.then {
		keys = append(keys, c.Key)
		args = append(args, c.Name, len(c.Args))
		args = append(args, c.Args...)
	}
	l.then = nil
	if stream == "" {
		// No entry: the stream key is never touched; any key of the lock's
		// slot does.
		keys[2] = l.keys[1]
	}
	res, err := appendAllScript.Run(ctx, l.l.rdb, keys, args...).StringSlice()
	if errors.Is(err, goredis.Nil) {
		return nil, chat.ErrLockLost
	}
	if err != nil {
		return nil, err
	}
	if len(res) != len(es)+1 {
		return nil, fmt.Errorf("append events: %d results for %d entries", len(res), len(es))
	}
	if failed := res[len(es)]; failed != "0" {
		l.l.log.Warn("commands after a send's announcement failed", "failed", failed)
	}
	return res[:len(es)], nil
}

// AppendAllAndUnlock is AppendAndUnlock for several prepared entries of one
// stream (one channel's sends of a batch), appended in order in the same
// round trip that releases the lock. It returns their ids.
func (l *ChannelLock) AppendAllAndUnlock(ctx context.Context, allocated string, es []events.Entry) ([]string, error) {
	if l.released {
		return nil, chat.ErrLockLost
	}
	if len(es) == 0 && len(l.then) == 0 {
		l.Unlock(allocated)
		return nil, nil
	}
	l.released = true
	defer l.local.Unlock()
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	for _, e := range es {
		if e.Stream != es[0].Stream || e.MaxLen != es[0].MaxLen {
			// Never expected: release the lock, append nothing.
			_ = unlockScript.Run(uctx, l.l.rdb, l.keys, l.tok, allocated).Err()
			return nil, fmt.Errorf("append events: entries of streams %s and %s in one call", es[0].Stream, e.Stream)
		}
	}
	ids, err := l.appendAll(uctx, allocated, es)
	if errors.Is(err, chat.ErrLockLost) {
		return nil, err
	}
	if err != nil {
		l.releaseAfterFailedAppend(uctx, allocated)
		return nil, fmt.Errorf("append events: %w", err)
	}
	for i, e := range es {
		e.Appended(ids[i])
	}
	return ids, nil
}

// releaseAfterFailedAppend releases the lock (if still this holder's) after
// an append that failed, so the channel's next writer need not wait for
// the lock to expire: the failed messages wait in the outbox either way.
func (l *ChannelLock) releaseAfterFailedAppend(ctx context.Context, allocated string) {
	if err := unlockScript.Run(ctx, l.l.rdb, l.keys, l.tok, allocated).Err(); err != nil && !errors.Is(err, goredis.Nil) {
		l.l.log.Warn("channel unlock after a failed append failed; the lock expires by itself", "err", err)
	}
}
