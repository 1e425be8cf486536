package counters

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Count is one row of a ranking: an id (user or server) and its count.
type Count struct {
	ID    string
	Count int64
}

// Point is one bucket of a series.
type Point struct {
	Start time.Time
	Count int64
}

// Store reads and writes the counters of one key prefix.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a Store whose keys start with prefix.
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

// curKey holds the current generation number.
func (s *Store) curKey() string { return s.prefix + "stats:cur" }

// seqKey hands out generation numbers.
func (s *Store) seqKey() string { return s.prefix + "stats:seq" }

// lockKey is held while a rebuild runs.
func (s *Store) lockKey() string { return s.prefix + "stats:rebuild" }

// genBase is the prefix of every key of generation gen; the scripts append
// the generation themselves so that reading the current generation and
// using it is atomic.
func (s *Store) genBase() string { return s.prefix + "stats:v" }

// Scripts run with the current generation read inside them. They name keys
// they build from ARGV, which is fine on a single Redis (or a replicated
// one) but not on Redis Cluster; see the package notes.
var (
	// applyScript applies one stream entry exactly once: XACK is the guard.
	// An entry that is no longer pending (already applied and acknowledged,
	// perhaps by another consumer after a claim) changes nothing.
	// Increments commute, because replicas may apply a deletion before its
	// creation: a count may dip below zero for a moment (reads skip it),
	// and a member is removed only when its count is exactly zero.
	// KEYS: stream, cur. ARGV: group, id, base, delta,
	// then (type, suffix, member, expireAt) quads; type "z" is a sorted
	// set, "h" a hash, "w" a materialized window (only if it exists).
	applyScript = redis.NewScript(`
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local gen = redis.call('GET', KEYS[2]) or '0'
local base = ARGV[3] .. gen .. ':'
local delta = tonumber(ARGV[4])
for i = 5, #ARGV, 4 do
  local key = base .. ARGV[i+1]
  if ARGV[i] == 'w' then
    if redis.call('EXISTS', key) == 1 then
      if tonumber(redis.call('ZINCRBY', key, delta, ARGV[i+2])) == 0 then redis.call('ZREM', key, ARGV[i+2]) end
    end
  elseif ARGV[i] == 'z' then
    if tonumber(redis.call('ZINCRBY', key, delta, ARGV[i+2])) == 0 then redis.call('ZREM', key, ARGV[i+2]) end
  else
    if redis.call('HINCRBY', key, ARGV[i+2], delta) == 0 then redis.call('HDEL', key, ARGV[i+2]) end
  end
  local exp = tonumber(ARGV[i+3])
  if exp > 0 then redis.call('EXPIREAT', key, exp) end
end
return 1
`)

	// topScript ranks a window. A window of several buckets is read from
	// its materialized union, built here on first read; the apply script
	// keeps it up to date from then on (both are atomic, so no increment
	// falls between). Only positive counts are ranked.
	// KEYS: cur. ARGV: base, offset, count, materialized suffix ("" to read
	// the single source), its expireAt, source suffixes...
	topScript = redis.NewScript(`
local gen = redis.call('GET', KEYS[1]) or '0'
local base = ARGV[1] .. gen .. ':'
local key = base .. ARGV[6]
if ARGV[4] ~= '' then
  key = base .. ARGV[4]
  if redis.call('EXISTS', key) == 0 then
    local keys = {}
    for i = 6, #ARGV do keys[#keys+1] = base .. ARGV[i] end
    if redis.call('ZUNIONSTORE', key, #keys, unpack(keys)) > 0 then redis.call('EXPIREAT', key, ARGV[5]) end
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
func userFamily(m Metric, serverID string) string {
	switch {
	case m == Connections:
		return "cu"
	case serverID != "":
		return "msu:" + serverID
	}
	return "mu"
}

// totalsKey is the hash of global totals of a metric.
func totalsKey(m Metric) string {
	if m == Connections {
		return "tc"
	}
	return "tm"
}

// windowKeys names what a ranking of family over w reads at now: the
// window's materialized union (built on first read, then kept up to date
// by every increment that falls inside it; "" for All), when that key
// expires, and the bucket keys it is the union of.
func windowKeys(family string, w Window, now time.Time) (mat string, expireAt int64, sources []string) {
	switch w {
	case Day:
		h := HourStart(now)
		for b := WindowStart(Day, now); !b.After(now); b = b.Add(time.Hour) {
			sources = append(sources, family+":h:"+HourID(b))
		}
		return family + ":w24:" + HourID(h), h.Add(2 * time.Hour).Unix(), sources
	case Week, Month:
		d := DayStart(now)
		for b := WindowStart(w, now); !b.After(now); b = b.AddDate(0, 0, 1) {
			sources = append(sources, family+":d:"+DayID(b))
		}
		return family + ":w" + strconv.Itoa(len(sources)) + ":" + DayID(d), d.AddDate(0, 0, 2).Unix(), sources
	}
	return "", 0, []string{family + ":all"}
}

// windowOps are the increments of the materialized windows that an entry
// in the hour starting at h falls into. Windows ending the hour or day
// before and after now are included, so that replicas whose clocks differ
// a little around midnight keep each other's windows right.
func windowOps(family, member string, h, now time.Time) []op {
	var out []op
	day := DayStart(h)
	for _, e := range []time.Time{DayStart(now).AddDate(0, 0, -1), DayStart(now), DayStart(now).AddDate(0, 0, 1)} {
		for _, n := range []int{7, 30} {
			if !day.After(e) && !day.Before(e.AddDate(0, 0, -(n-1))) {
				out = append(out, op{"w", family + ":w" + strconv.Itoa(n) + ":" + DayID(e), member, 0})
			}
		}
	}
	for _, e := range []time.Time{HourStart(now).Add(-time.Hour), HourStart(now), HourStart(now).Add(time.Hour)} {
		if !h.After(e) && !h.Before(e.Add(-23*time.Hour)) {
			out = append(out, op{"w", family + ":w24:" + HourID(e), member, 0})
		}
	}
	return out
}

// TopUsers ranks users by m over w at now, highest first, from offset on;
// serverID, when set, limits a message ranking to one server.
func (s *Store) TopUsers(ctx context.Context, m Metric, w Window, serverID string, now time.Time, offset, limit int) ([]Count, error) {
	mat, exp, sources := windowKeys(userFamily(m, serverID), w, now)
	return s.top(ctx, mat, exp, sources, offset, limit)
}

// TopServers ranks servers by messages over w at now, highest first, from
// offset on. Private conversations are included; callers filter them.
func (s *Store) TopServers(ctx context.Context, w Window, now time.Time, offset, limit int) ([]Count, error) {
	mat, exp, sources := windowKeys("ms", w, now)
	return s.top(ctx, mat, exp, sources, offset, limit)
}

func (s *Store) top(ctx context.Context, mat string, expireAt int64, sources []string, offset, limit int) ([]Count, error) {
	if limit <= 0 {
		return nil, nil
	}
	args := make([]any, 0, 5+len(sources))
	args = append(args, s.genBase(), offset, limit, mat, expireAt)
	for _, k := range sources {
		args = append(args, k)
	}
	res, err := topScript.Run(ctx, s.rdb, []string{s.curKey()}, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("rank counters: %w", err)
	}
	out := make([]Count, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		n, err := strconv.ParseFloat(res[i+1], 64)
		if err != nil {
			return nil, fmt.Errorf("rank counters: score %q: %w", res[i+1], err)
		}
		out = append(out, Count{ID: res[i], Count: int64(n)})
	}
	return out, nil
}

// SeriesQuery names a time series.
type SeriesQuery struct {
	Metric Metric
	Window Window
	Hourly bool
	// ServerID limits messages to one server.
	ServerID string
	// UserID limits the series to one user.
	UserID string
}

// Series returns the counts of q per bucket at now, oldest first, empty
// buckets as 0. The caller checks that q.Hourly is allowed for q.Window.
func (s *Store) Series(ctx context.Context, q SeriesQuery, now time.Time) ([]Point, error) {
	start := WindowStart(q.Window, now)
	if q.Window == All {
		first, err := s.firstDay(ctx, q.Metric, now)
		if err != nil {
			return nil, err
		}
		start = first
		if oldest := DayStart(now).AddDate(0, 0, -(MaxSeriesDays - 1)); start.Before(oldest) {
			start = oldest
		}
	}
	var starts []time.Time
	if q.Hourly {
		for h := HourStart(start); !h.After(now); h = h.Add(time.Hour) {
			starts = append(starts, h)
		}
	} else {
		for d := DayStart(start); !d.After(now); d = d.AddDate(0, 0, 1) {
			starts = append(starts, d)
		}
	}
	args := make([]any, 0, 1+3*len(starts))
	args = append(args, s.genBase())
	for _, b := range starts {
		bucket := "d:" + DayID(b)
		if q.Hourly {
			bucket = "h:" + HourID(b)
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
	out := make([]Point, len(starts))
	for i, b := range starts {
		n, err := strconv.ParseFloat(res[i], 64)
		if err != nil {
			return nil, fmt.Errorf("read series: value %q: %w", res[i], err)
		}
		// A deletion applied before its creation leaves a brief negative.
		out[i] = Point{Start: b, Count: max(0, int64(n))}
	}
	return out, nil
}

// firstDay is the earliest day with a count of m, or today when none.
func (s *Store) firstDay(ctx context.Context, m Metric, now time.Time) (time.Time, error) {
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
		return DayStart(now), nil
	}
	sort.Strings(days)
	t, err := time.Parse("20060102", days[0])
	if err != nil {
		return time.Time{}, fmt.Errorf("read first day: %w", err)
	}
	return t, nil
}
