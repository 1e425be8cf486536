// Package redis keeps presence in Redis: sessions with expiry, the status
// users choose, the connection log, and the change announcements.
//
// Keys (all in the deployment's keyspace):
//
//	presence:z:<user>        sorted set of the user's session ids, scored by expiry (ms)
//	presence:u:<user>        string "on|st|t|vt|v|x": the user's state (see luaCommon)
//	presence:s:<session>     hash: u (owner), c (client), d ("1" once ended: a tombstone)
//	presence:expiry          sorted set of "<user>:<session>" by expiry, walked by sweepers
//	presence:changes         pub/sub channel of changes ("user|on|st|t|vt|v|x")
//	connections              stream of opened sessions (user_id, session_id, client, ts)
//	presence:connections:<yyyymmdd>  sorted set: sessions opened per user that day (UTC)
//
// Every key has a TTL or empties itself: session keys live for the expiry
// plus the tombstone time, a user's state for StatusTTL after their last
// activity, the day counters for DayTTL; the expiry set and the stream are
// bounded by the live sessions and by MAXLEN.
package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/presence/internal/presence"
)

// Config sets the store's keys and lifetimes.
type Config struct {
	// Keys holds every key and channel.
	Keys redisx.Keyspace
	// Expiry is how long a session lives after its last heartbeat.
	Expiry time.Duration
	// Tombstone is how long an ended session is remembered, so that a late
	// heartbeat gets NOT_FOUND rather than reviving it.
	Tombstone time.Duration
	// StatusTTL is how long a user's chosen status outlives their last activity.
	StatusTTL time.Duration
	// ConnectionsMaxLen bounds the connections stream (approximately).
	ConnectionsMaxLen int64
	// DayTTL is how long the per-day connection counters are kept.
	DayTTL time.Duration
}

// Store is presence in Redis. It implements presence.Store.
type Store struct {
	rdb redis.UniversalClient
	cfg Config
}

var _ presence.Store = (*Store)(nil)

// New returns a Store on rdb.
func New(rdb redis.UniversalClient, cfg Config) *Store {
	return &Store{rdb: rdb, cfg: cfg}
}

func (s *Store) key(parts ...string) string {
	// Every presence key carries the stats tag: the open script also
	// appends to the connections stream (events.StatsTag).
	return s.cfg.Keys.Key("presence:", events.StatsTag, ":", strings.Join(parts, ":"))
}

func (s *Store) sessionsKey(uid string) string { return s.key("z", uid) }
func (s *Store) userKey(uid string) string     { return s.key("u", uid) }
func (s *Store) sessionKey(sid string) string  { return s.key("s", sid) }
func (s *Store) expiryKey() string             { return s.key("expiry") }

// Channel is the pub/sub channel of changes.
func (s *Store) Channel() string { return s.key("changes") }

// ConnectionsKey is the connections stream.
func (s *Store) ConnectionsKey() string { return s.cfg.Keys.Key(events.Connections) }

// DayKey is the sorted set counting the sessions each user opened on the
// (UTC) day of t.
func (s *Store) DayKey(t time.Time) string {
	return s.key("connections", t.UTC().Format("20060102"))
}

func ms(t time.Time) string         { return strconv.FormatInt(t.UnixMilli(), 10) }
func dms(d time.Duration) string    { return strconv.FormatInt(d.Milliseconds(), 10) }
func member(uid, sid string) string { return uid + ":" + sid }

func (s *Store) sessTTL() string { return dms(s.cfg.Expiry + s.cfg.Tombstone) }

// Open starts session sid of user uid at now, logs it in the connections
// stream and counts it, and announces the user online if they were not.
// It returns the session's expiry.
func (s *Store) Open(ctx context.Context, uid, sid, client string, now time.Time) (time.Time, error) {
	exp := now.Add(s.cfg.Expiry)
	err := openScript.Run(ctx, s.rdb,
		[]string{s.sessionsKey(uid), s.userKey(uid), s.sessionKey(sid), s.expiryKey(), s.ConnectionsKey(), s.DayKey(now)},
		uid, sid, client, ms(now), ms(exp), s.sessTTL(), dms(s.cfg.StatusTTL), s.Channel(), member(uid, sid),
		s.cfg.ConnectionsMaxLen, dms(s.cfg.DayTTL)).Err()
	if err != nil {
		return time.Time{}, fmt.Errorf("open session: %w", err)
	}
	return exp, nil
}

// Heartbeat keeps session sid of uid alive until now+Expiry.
func (s *Store) Heartbeat(ctx context.Context, uid, sid string, now time.Time) (presence.HeartbeatResult, time.Time, error) {
	exp := now.Add(s.cfg.Expiry)
	r, err := heartbeatScript.Run(ctx, s.rdb,
		[]string{s.sessionsKey(uid), s.userKey(uid), s.sessionKey(sid), s.expiryKey()},
		uid, sid, ms(now), ms(exp), s.sessTTL(), dms(s.cfg.StatusTTL), s.Channel(), member(uid, sid), dms(s.cfg.Tombstone)).Int()
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("heartbeat: %w", err)
	}
	return presence.HeartbeatResult(r), exp, nil
}

// Close ends session sid of uid. It reports false when the session is not
// the caller's (or unknown); closing an ended session again succeeds.
func (s *Store) Close(ctx context.Context, uid, sid string, now time.Time) (bool, error) {
	r, err := closeScript.Run(ctx, s.rdb,
		[]string{s.sessionsKey(uid), s.userKey(uid), s.sessionKey(sid), s.expiryKey()},
		uid, sid, ms(now), dms(s.cfg.StatusTTL), s.Channel(), member(uid, sid), dms(s.cfg.Tombstone)).Int()
	if err != nil {
		return false, fmt.Errorf("close session: %w", err)
	}
	return r >= 0, nil
}

// SetStatus sets the status uid chose and returns their state.
func (s *Store) SetStatus(ctx context.Context, uid string, status presence.Status, now time.Time) (presence.State, error) {
	r, err := statusScript.Run(ctx, s.rdb, []string{s.userKey(uid)},
		uid, int32(status), ms(now), dms(s.cfg.StatusTTL), s.Channel()).Text()
	if err != nil {
		return presence.State{}, fmt.Errorf("set status: %w", err)
	}
	return unpack(uid, r, now), nil
}

// Get returns the states of uids (in order) in one round trip: a single
// MGET. (On Redis Cluster this would be split by hash slot.)
func (s *Store) Get(ctx context.Context, uids []string, now time.Time) ([]presence.State, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(uids))
	for i, uid := range uids {
		keys[i] = s.userKey(uid)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("get presence: %w", err)
	}
	out := make([]presence.State, len(uids))
	for i, uid := range uids {
		raw, _ := vals[i].(string)
		out[i] = unpack(uid, raw, now)
	}
	return out, nil
}

// Sessions returns how many sessions are open at now (their expiry is
// ahead), over every user and instance.
func (s *Store) Sessions(ctx context.Context, now time.Time) (int64, error) {
	return s.rdb.ZCount(ctx, s.expiryKey(), "("+strconv.FormatInt(now.UnixMilli(), 10), "+inf").Result()
}

// Sweep ends the sessions whose expiry passed by now, at most batch of
// them, and tells how many it looked at. Sweepers of several instances may
// run at once: each session is ended (and announced) by one of them only.
func (s *Store) Sweep(ctx context.Context, now time.Time, batch int64) (int, error) {
	members, err := s.rdb.ZRangeByScore(ctx, s.expiryKey(), &redis.ZRangeBy{
		Min: "-inf", Max: ms(now), Count: batch,
	}).Result()
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	if len(members) == 0 {
		return 0, nil
	}
	// Make sure the script is cached, then send every EVALSHA in one pipeline.
	if err := sweepScript.Load(ctx, s.rdb).Err(); err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	pipe := s.rdb.Pipeline()
	for _, m := range members {
		uid, sid, ok := strings.Cut(m, ":")
		if !ok {
			pipe.ZRem(ctx, s.expiryKey(), m)
			continue
		}
		sweepScript.EvalSha(ctx, pipe,
			[]string{s.sessionsKey(uid), s.userKey(uid), s.sessionKey(sid), s.expiryKey()},
			uid, sid, ms(now), dms(s.cfg.StatusTTL), s.Channel(), m, dms(s.cfg.Tombstone))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	return len(members), nil
}

// unpack reads a user's packed state "on|st|t|vt|v|x" as of now: a user
// whose every session expired (x passed) is offline even before a sweeper
// announced it. A missing or unreadable state is offline, status online.
func unpack(uid, raw string, now time.Time) presence.State {
	st := presence.State{UserID: uid, Status: presence.StatusOnline}
	var f [6]string
	for i := range f {
		var ok bool
		if i < len(f)-1 {
			if f[i], raw, ok = strings.Cut(raw, "|"); !ok {
				return st
			}
		} else {
			f[i] = raw
		}
	}
	if n, err := strconv.ParseInt(f[1], 10, 32); err == nil && presence.Status(n).Chosen() {
		st.Status = presence.Status(n)
	}
	st.SelfTime = msTime(f[2])
	st.OthersTime = msTime(f[3])
	st.Version, _ = strconv.ParseInt(f[4], 10, 64)
	// Whole milliseconds, as the scripts compare expiries: a session that a
	// heartbeat at now would renew reads online.
	st.Online = f[0] == "1" && !msTime(f[5]).Before(time.UnixMilli(now.UnixMilli()))
	return st
}

func msTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// ParseChange decodes a message of the changes channel, "user|state". The
// state is read as announced, whatever the clock of the reader.
func ParseChange(payload string) (presence.State, error) {
	uid, raw, ok := strings.Cut(payload, "|")
	if !ok || uid == "" || strings.Count(raw, "|") != 5 {
		return presence.State{}, fmt.Errorf("bad presence change %q", payload)
	}
	return unpack(uid, raw, time.Time{}), nil
}
