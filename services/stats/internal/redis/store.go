// Package redis keeps the stats service's counters in Redis and answers
// reports from them (reports.Counters), and feeds them from the activity
// and connections streams (Consumer).
//
// Every count lives in a sorted set (or, for global totals, a hash) per
// bucket: per UTC day for as long as the data goes, per UTC hour for the
// last reports.HourRetention, plus an all-time set. A report therefore reads a
// handful of keys instead of every message: a window of several buckets
// (the last 24 hours, 7 or 30 days) is unioned once into a materialized
// window key (…:w24:<hour>, :w7:<day>, :w30:<day>), which every later
// increment inside the window also updates, so that a ranking is a single
// sorted-set range read.
//
// Keys live under <prefix>stats:v<generation>:, and <prefix>stats:cur names
// the current generation. A rebuild writes a complete new generation and
// switches to it with one SET, so readers never see half a rebuild.
//
// Key families (members are ids, scores are counts):
//
//	mu:{d:<yyyymmdd>|h:<yyyymmddhh>|all}          messages per user (DMs included)
//	ms:{...}                                      messages per server (DMs included; reports drop them)
//	msu:<server>:{...}                            messages per user within one server
//	cu:{...}                                      connections (presence sessions) per user
//	tm, tc (hashes, fields d:<day>, h:<hour>)     all messages / connections per bucket
//
// Deletions count: a message_deleted entry (whose user_id is the message's
// author) takes one off the buckets of the message's creation time, so the
// counters always equal what a rebuild computes from the messages that
// still exist. Members whose count drops to zero are removed; reports show
// positive counts only.
//
// Private conversations ("dm" servers) count for their authors' message
// totals and have their own server counters, but the busiest-servers
// report leaves them out.
//
// Deployment notes: the scripts build key names from their arguments
// under the configured prefix; every key carries the hash tag
// events.StatsTag, so on a Redis Cluster they all share the slot of the
// streams the scripts acknowledge. Day buckets are kept for
// ever (a few sorted sets per day, plus one per server and day). A rebuild
// runs one aggregation per hour for the days whose hourly buckets are kept
// and one per day before that; on MongoDB at scale an index on
// messages.created_at makes each of them a range scan.
package redis

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/stats/internal/reports"
)

// Store reads and writes the counters of one keyspace.
type Store struct {
	rdb  redis.UniversalClient
	keys redisx.Keyspace
}

var _ reports.Counters = (*Store)(nil)

// New returns a Store whose keys live in keys.
func New(rdb redis.UniversalClient, keys redisx.Keyspace) *Store {
	return &Store{rdb: rdb, keys: keys}
}

// curKey holds the current generation number.
func (s *Store) curKey() string { return s.keys.Key("stats:", events.StatsTag, ":cur") }

// seqKey hands out generation numbers.
func (s *Store) seqKey() string { return s.keys.Key("stats:", events.StatsTag, ":seq") }

// lockKey is held while a rebuild runs.
func (s *Store) lockKey() string { return s.keys.Key("stats:", events.StatsTag, ":rebuild") }

// genBase is the prefix of every key of generation gen; the scripts append
// the generation themselves so that reading the current generation and
// using it is atomic. Every key of the store carries events.StatsTag, the
// streams' hash tag, so the scripts find them in one Redis Cluster slot.
func (s *Store) genBase() string { return s.keys.Key("stats:", events.StatsTag, ":v") }

// Scripts run with the current generation read inside them. They name keys
// they build from ARGV: on a Redis Cluster that works because every one of
// them is in the slot of the keys they are given (events.StatsTag).
var (
	// applyScript applies a batch of stream entries, each exactly once:
	// XACK is the guard. An entry that is no longer pending (already
	// applied and acknowledged, perhaps by another consumer after a claim)
	// changes nothing. The increments of the entries it acknowledges are
	// summed first, so that entries sharing a key and member (the same
	// day, hour and all-time keys, the same user and server) cost one
	// write for the batch instead of one each: Redis's CPU per entry was
	// most of what a sent message cost it.
	// Increments commute, because replicas may apply a deletion before its
	// creation: a count may dip below zero for a moment (reads skip it),
	// and a member is removed only when its count is exactly zero. A sum
	// of zero writes nothing, which leaves what the increments one by one
	// would have left. A materialized window is incremented only if it
	// exists (checked again after a removal, which may have emptied it).
	// Times to live are set once per key, after its last write.
	// KEYS: cur, then the streams. ARGV: group, base, number of ops,
	// then the ops as (type, suffix, member, ttl seconds) quads (type "z"
	// is a sorted set, "h" a hash, "w" a materialized window), then per
	// entry (stream's index in KEYS, id, delta, number of ops, op
	// numbers...). It returns, per entry, 1 if this call acknowledged it.
	applyScript = redis.NewScript(`
local gen = redis.call('GET', KEYS[1]) or '0'
local base = ARGV[2] .. gen .. ':'
local nops = tonumber(ARGV[3])
local sums, acked = {}, {}
local i = 4 + 4 * nops
while i <= #ARGV do
  local n = tonumber(ARGV[i+3])
  if redis.call('XACK', KEYS[tonumber(ARGV[i])], ARGV[1], ARGV[i+1]) == 1 then
    acked[#acked+1] = 1
    local delta = tonumber(ARGV[i+2])
    for j = i + 4, i + 3 + n do
      local o = tonumber(ARGV[j])
      sums[o] = (sums[o] or 0) + delta
    end
  else
    acked[#acked+1] = 0
  end
  i = i + 4 + n
end
local exists, expire, ttls = {}, {}, {}
for o = 1, nops do
  local delta = sums[o]
  if delta then
    local a = 4 * o
    local typ, key, member, ttl = ARGV[a], base .. ARGV[a+1], ARGV[a+2], tonumber(ARGV[a+3])
    if delta ~= 0 then
      if typ == 'h' then
        if redis.call('HINCRBY', key, member, delta) == 0 then redis.call('HDEL', key, member) end
      else
        local write = true
        if typ == 'w' then
          if exists[key] == nil then exists[key] = redis.call('EXISTS', key) == 1 end
          write = exists[key]
        end
        if write and tonumber(redis.call('ZINCRBY', key, delta, member)) == 0 then
          redis.call('ZREM', key, member)
          exists[key] = nil
        end
      end
    end
    if ttl > 0 then
      if not ttls[key] then expire[#expire+1] = key end
      ttls[key] = ttl
    end
  end
end
for _, key in ipairs(expire) do redis.call('EXPIRE', key, ttls[key]) end
return acked
`)

	// topScript ranks a window. A window of several buckets is read from
	// its materialized union, built here on first read; the apply script
	// keeps it up to date from then on (both are atomic, so no increment
	// falls between). Only positive counts are ranked.
	// KEYS: cur. ARGV: base, offset, count, materialized suffix ("" to read
	// the single source), its ttl in seconds, source suffixes...
	topScript = redis.NewScript(`
local gen = redis.call('GET', KEYS[1]) or '0'
local base = ARGV[1] .. gen .. ':'
local key = base .. ARGV[6]
if ARGV[4] ~= '' then
  key = base .. ARGV[4]
  if redis.call('EXISTS', key) == 0 then
    local keys = {}
    for i = 6, #ARGV do keys[#keys+1] = base .. ARGV[i] end
    if redis.call('ZUNIONSTORE', key, #keys, unpack(keys)) > 0 then redis.call('EXPIRE', key, ARGV[5]) end
  end
end
return redis.call('ZREVRANGEBYSCORE', key, '+inf', '(0', 'WITHSCORES', 'LIMIT', ARGV[2], ARGV[3])
`)

	// scoresScript reads many single counts.
	// KEYS: cur. ARGV: base, then (type, suffix, member) triples.
	scoresScript = redis.NewScript(`
local gen = redis.call('GET', KEYS[1]) or '0'
local base = ARGV[1] .. gen .. ':'
local out = {}
for i = 2, #ARGV, 3 do
  local v
  if ARGV[i] == 'z' then v = redis.call('ZSCORE', base .. ARGV[i+1], ARGV[i+2])
  else v = redis.call('HGET', base .. ARGV[i+1], ARGV[i+2]) end
  if v then out[#out+1] = tostring(v) else out[#out+1] = '0' end
end
return out
`)

	// fieldsScript lists the fields of a hash of the current generation.
	// KEYS: cur. ARGV: base, suffix.
	fieldsScript = redis.NewScript(`
local gen = redis.call('GET', KEYS[1]) or '0'
return redis.call('HKEYS', ARGV[1] .. gen .. ':' .. ARGV[2])
`)
)

// userFamily is the key family ranking users for a metric, optionally
// within one server (messages only).
func userFamily(m reports.Metric, serverID string) string {
	switch {
	case m == reports.Connections:
		return "cu"
	case serverID != "":
		return "msu:" + serverID
	}
	return "mu"
}

// totalsKey is the hash of global totals of a metric.
func totalsKey(m reports.Metric) string {
	if m == reports.Connections {
		return "tc"
	}
	return "tm"
}

// windowKeys names what a ranking of family over w reads at now: the
// window's materialized union (built on first read, then kept up to date
// by every increment that falls inside it; "" for All), how many seconds
// from now that key lives, and the bucket keys it is the union of.
func windowKeys(family string, w reports.Window, now time.Time) (mat string, ttl int64, sources []string) {
	switch w {
	case reports.Day:
		h := reports.HourStart(now)
		for b := reports.WindowStart(reports.Day, now); !b.After(now); b = b.Add(time.Hour) {
			sources = append(sources, family+":h:"+reports.HourID(b))
		}
		return family + ":w24:" + reports.HourID(h), ttlUntil(h.Add(2*time.Hour), now), sources
	case reports.Week, reports.Month:
		d := reports.DayStart(now)
		for b := reports.WindowStart(w, now); !b.After(now); b = b.AddDate(0, 0, 1) {
			sources = append(sources, family+":d:"+reports.DayID(b))
		}
		return family + ":w" + strconv.Itoa(len(sources)) + ":" + reports.DayID(d), ttlUntil(d.AddDate(0, 0, 2), now), sources
	}
	return "", 0, []string{family + ":all"}
}

// windowOps are the increments of the materialized windows that an entry
// in the hour starting at h falls into. Windows ending the hour or day
// before and after now are included, so that replicas whose clocks differ
// a little around midnight keep each other's windows right.
func windowOps(family, member string, h, now time.Time) []op {
	var out []op
	day := reports.DayStart(h)
	for _, e := range []time.Time{reports.DayStart(now).AddDate(0, 0, -1), reports.DayStart(now), reports.DayStart(now).AddDate(0, 0, 1)} {
		for _, n := range []int{7, 30} {
			if !day.After(e) && !day.Before(e.AddDate(0, 0, -(n-1))) {
				out = append(out, op{"w", family + ":w" + strconv.Itoa(n) + ":" + reports.DayID(e), member, 0})
			}
		}
	}
	for _, e := range []time.Time{reports.HourStart(now).Add(-time.Hour), reports.HourStart(now), reports.HourStart(now).Add(time.Hour)} {
		if !h.After(e) && !h.Before(e.Add(-23*time.Hour)) {
			out = append(out, op{"w", family + ":w24:" + reports.HourID(e), member, 0})
		}
	}
	return out
}

// TopUsers ranks users by m over w at now, highest first, from offset on;
// serverID, when set, limits a message ranking to one server.
func (s *Store) TopUsers(ctx context.Context, m reports.Metric, w reports.Window, serverID string, now time.Time, offset, limit int) ([]reports.Count, error) {
	mat, exp, sources := windowKeys(userFamily(m, serverID), w, now)
	return s.top(ctx, mat, exp, sources, offset, limit)
}

// TopServers ranks servers by messages over w at now, highest first, from
// offset on. Private conversations are included; callers filter them.
func (s *Store) TopServers(ctx context.Context, w reports.Window, now time.Time, offset, limit int) ([]reports.Count, error) {
	mat, exp, sources := windowKeys("ms", w, now)
	return s.top(ctx, mat, exp, sources, offset, limit)
}

func (s *Store) top(ctx context.Context, mat string, ttl int64, sources []string, offset, limit int) ([]reports.Count, error) {
	if limit <= 0 {
		return nil, nil
	}
	args := make([]any, 0, 5+len(sources))
	args = append(args, s.genBase(), offset, limit, mat, ttl)
	for _, k := range sources {
		args = append(args, k)
	}
	res, err := topScript.Run(ctx, s.rdb, []string{s.curKey()}, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("rank counters: %w", err)
	}
	out := make([]reports.Count, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		n, err := strconv.ParseFloat(res[i+1], 64)
		if err != nil {
			return nil, fmt.Errorf("rank counters: score %q: %w", res[i+1], err)
		}
		out = append(out, reports.Count{ID: res[i], Count: int64(n)})
	}
	return out, nil
}

// Series returns the counts of q per bucket at now, oldest first, empty
// buckets as 0. The caller checks that q.Hourly is allowed for q.Window.
func (s *Store) Series(ctx context.Context, q reports.SeriesQuery, now time.Time) ([]reports.Point, error) {
	start := reports.WindowStart(q.Window, now)
	if q.Window == reports.All {
		first, err := s.firstDay(ctx, q.Metric, now)
		if err != nil {
			return nil, err
		}
		start = first
		if oldest := reports.DayStart(now).AddDate(0, 0, -(reports.MaxSeriesDays - 1)); start.Before(oldest) {
			start = oldest
		}
	}
	var starts []time.Time
	if q.Hourly {
		for h := reports.HourStart(start); !h.After(now); h = h.Add(time.Hour) {
			starts = append(starts, h)
		}
	} else {
		for d := reports.DayStart(start); !d.After(now); d = d.AddDate(0, 0, 1) {
			starts = append(starts, d)
		}
	}
	args := make([]any, 0, 1+3*len(starts))
	args = append(args, s.genBase())
	for _, b := range starts {
		bucket := "d:" + reports.DayID(b)
		if q.Hourly {
			bucket = "h:" + reports.HourID(b)
		}
		switch {
		case q.UserID != "":
			args = append(args, "z", userFamily(q.Metric, q.ServerID)+":"+bucket, q.UserID)
		case q.ServerID != "":
			args = append(args, "z", "ms:"+bucket, q.ServerID)
		default:
			args = append(args, "h", totalsKey(q.Metric), bucket)
		}
	}
	res, err := scoresScript.Run(ctx, s.rdb, []string{s.curKey()}, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("read series: %w", err)
	}
	if len(res) != len(starts) {
		return nil, fmt.Errorf("read series: %d values for %d buckets", len(res), len(starts))
	}
	out := make([]reports.Point, len(starts))
	for i, b := range starts {
		n, err := strconv.ParseFloat(res[i], 64)
		if err != nil {
			return nil, fmt.Errorf("read series: value %q: %w", res[i], err)
		}
		// A deletion applied before its creation leaves a brief negative.
		out[i] = reports.Point{Start: b, Count: max(0, int64(n))}
	}
	return out, nil
}

// firstDay is the earliest day with a count of m, or today when none.
func (s *Store) firstDay(ctx context.Context, m reports.Metric, now time.Time) (time.Time, error) {
	fields, err := fieldsScript.Run(ctx, s.rdb, []string{s.curKey()}, s.genBase(), totalsKey(m)).StringSlice()
	if err != nil {
		return time.Time{}, fmt.Errorf("read first day: %w", err)
	}
	var days []string
	for _, f := range fields {
		if d, ok := strings.CutPrefix(f, "d:"); ok {
			days = append(days, d)
		}
	}
	if len(days) == 0 {
		return reports.DayStart(now), nil
	}
	sort.Strings(days)
	t, err := time.Parse("20060102", days[0])
	if err != nil {
		return time.Time{}, fmt.Errorf("read first day: %w", err)
	}
	return t, nil
}
