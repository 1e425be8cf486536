package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/stats/internal/reports"
)

// errRebuildRunning is returned when another rebuild holds the lock.
func errRebuildRunning() error {
	return errs.FailedPrecondition("a rebuild is already running").WithReason("REBUILD_RUNNING")
}

// RebuildLockTTL bounds how long a crashed rebuild blocks the next one.
const RebuildLockTTL = 30 * time.Minute

// BeginRebuild implements reports.Counters: it takes the rebuild lock,
// drops what a crashed rebuild left, and starts a new generation of keys,
// which readers see once it is committed.
func (s *Store) BeginRebuild(ctx context.Context, now time.Time) (reports.Rebuild, error) {
	token := randomHex(8)
	ok, err := s.rdb.SetNX(ctx, s.lockKey(), token, RebuildLockTTL).Result()
	if err != nil {
		return nil, fmt.Errorf("take rebuild lock: %w", err)
	}
	if !ok {
		return nil, errRebuildRunning()
	}
	r := &rebuild{s: s, token: token}
	if err := r.begin(ctx, now); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// rebuild is one generation being written.
type rebuild struct {
	s      *Store
	token  string
	cur    int64 // the generation readers see meanwhile
	gen    int64 // the one being written
	w      *writer
	cutoff time.Time
}

func (r *rebuild) begin(ctx context.Context, now time.Time) error {
	s := r.s
	cur, err := s.currentGen(ctx)
	if err != nil {
		return err
	}
	// Keys of generations other than the current one are leftovers of a
	// crashed rebuild.
	if err := s.dropGenerations(ctx, cur); err != nil {
		return err
	}
	gen, err := s.rdb.Incr(ctx, s.seqKey()).Result()
	if err != nil {
		return fmt.Errorf("next generation: %w", err)
	}
	if gen <= cur {
		gen = cur + 1
		if err := s.rdb.Set(ctx, s.seqKey(), gen, 0).Err(); err != nil {
			return fmt.Errorf("next generation: %w", err)
		}
	}
	r.cur, r.gen = cur, gen
	r.w = &writer{rdb: s.rdb, base: s.genBase() + strconv.FormatInt(gen, 10) + ":", now: now}
	r.w.reset()
	return nil
}

// Add implements reports.Rebuild.
func (r *rebuild) Add(ctx context.Context, e reports.Entry, n int64) error {
	return r.w.add(ctx, e, n)
}

// AddConnections implements reports.Rebuild from the connections stream.
// When the stream has been trimmed, the connection counters of the days it
// no longer fully holds are kept as they were (at Commit).
func (r *rebuild) AddConnections(ctx context.Context) (int64, error) {
	cutoff, err := r.s.connectionsCutoff(ctx)
	if err != nil {
		return 0, err
	}
	r.cutoff = cutoff
	return r.s.rebuildConnections(ctx, r.w, cutoff, r.w.now)
}

// Commit implements reports.Rebuild: it writes what is left, copies the
// connection counters kept from before the cutoff, switches readers to the
// new generation with one SET and drops the old one.
func (r *rebuild) Commit(ctx context.Context) error {
	s := r.s
	if err := r.w.flush(ctx); err != nil {
		return err
	}
	if !r.cutoff.IsZero() {
		if err := s.keepConnections(ctx, r.cur, r.gen, r.cutoff); err != nil {
			return err
		}
	}
	if err := s.rdb.Set(ctx, s.curKey(), r.gen, 0).Err(); err != nil {
		return fmt.Errorf("switch generation: %w", err)
	}
	return s.dropGenerations(ctx, r.gen)
}

// Close implements reports.Rebuild: it releases the lock, if it is still
// this rebuild's (it may have expired and been retaken).
func (r *rebuild) Close() {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = unlockScript.Run(c, r.s.rdb, []string{r.s.lockKey()}, r.token).Err()
}

// connectionsCutoff is, when the connections stream has been trimmed, the
// start of the day after its oldest entry: connections before it can no
// longer be recounted, so the rebuild keeps their counters. It is zero when
// the stream holds everything ever added.
func (s *Store) connectionsCutoff(ctx context.Context) (time.Time, error) {
	info, err := s.rdb.XInfoStream(ctx, s.keys.Key(events.Connections)).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return time.Time{}, nil
		}
		return time.Time{}, fmt.Errorf("inspect connections: %w", err)
	}
	if info.EntriesAdded <= info.Length || info.FirstEntry.ID == "" {
		return time.Time{}, nil
	}
	ms, err := strconv.ParseInt(strings.SplitN(info.FirstEntry.ID, "-", 2)[0], 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("inspect connections: first id %q", info.FirstEntry.ID)
	}
	return reports.DayStart(time.UnixMilli(ms)).AddDate(0, 0, 1), nil
}

// keepConnections copies the connection counters of the buckets before
// cutoff from generation from to generation to, and recomputes the
// all-time ranking from the day rankings.
func (s *Store) keepConnections(ctx context.Context, from, to int64, cutoff time.Time) error {
	src := s.genBase() + strconv.FormatInt(from, 10) + ":"
	dst := s.genBase() + strconv.FormatInt(to, 10) + ":"
	before := func(bucket string) bool {
		layout := "20060102"
		if len(bucket) == len("2006010215") {
			layout = "2006010215"
		}
		t, err := time.Parse(layout, bucket)
		return err == nil && t.Before(cutoff)
	}
	var days []string
	for _, pattern := range []string{"cu:d:*", "cu:h:*"} {
		node, err := redisx.NodeFor(ctx, s.rdb, src)
		if err != nil {
			return fmt.Errorf("keep connections: %w", err)
		}
		iter := node.Scan(ctx, 0, src+pattern, 1000).Iterator()
		for iter.Next(ctx) {
			suffix := strings.TrimPrefix(iter.Val(), src)
			if !before(suffix[len("cu:d:"):]) {
				continue
			}
			// COPY keeps the hourly keys' expiry.
			if err := s.rdb.Copy(ctx, src+suffix, dst+suffix, 0, false).Err(); err != nil {
				return fmt.Errorf("keep connections: %w", err)
			}
			if strings.HasPrefix(suffix, "cu:d:") {
				days = append(days, dst+suffix)
			}
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("keep connections: %w", err)
		}
	}
	totals, err := s.rdb.HGetAll(ctx, src+"tc").Result()
	if err != nil {
		return fmt.Errorf("keep connections: %w", err)
	}
	for f, v := range totals {
		if _, bucket, ok := strings.Cut(f, ":"); ok && before(bucket) {
			n, _ := strconv.ParseInt(v, 10, 64)
			if err := s.rdb.HIncrBy(ctx, dst+"tc", f, n).Err(); err != nil {
				return fmt.Errorf("keep connections: %w", err)
			}
		}
	}
	if len(days) == 0 {
		return nil
	}
	if err := s.rdb.ZUnionStore(ctx, dst+"cu:all", &redis.ZStore{Keys: append(days, dst+"cu:all")}).Err(); err != nil {
		return fmt.Errorf("keep connections: %w", err)
	}
	return nil
}

func (s *Store) rebuildConnections(ctx context.Context, w *writer, cutoff, now time.Time) (int64, error) {
	stream := s.keys.Key(events.Connections)
	// Stop at the entry that was last when the rebuild began, so that a
	// busy stream does not keep it going.
	last, err := s.rdb.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	if err != nil {
		return 0, fmt.Errorf("read connections: %w", err)
	}
	if len(last) == 0 {
		return 0, nil
	}
	var total int64
	start := "-"
	for {
		page, err := s.rdb.XRangeN(ctx, stream, start, last[0].ID, 10_000).Result()
		if err != nil {
			return 0, fmt.Errorf("read connections: %w", err)
		}
		for _, m := range page {
			e, err := ParseConnection(m.Values)
			if err != nil {
				continue // the consumer skips it too
			}
			if e.Time.Before(cutoff) {
				continue // kept from the old counters
			}
			total++
			if err := w.add(ctx, e, 1); err != nil {
				return 0, err
			}
		}
		if len(page) < 10_000 {
			return total, nil
		}
		start = "(" + page[len(page)-1].ID
	}
}

// currentGen is the current generation (0 before any rebuild).
func (s *Store) currentGen(ctx context.Context) (int64, error) {
	v, err := s.rdb.Get(ctx, s.curKey()).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read generation: %w", err)
	}
	return v, nil
}

// dropGenerations deletes the keys of every generation but keep.
func (s *Store) dropGenerations(ctx context.Context, keep int64) error {
	base := s.genBase()
	node, err := redisx.NodeFor(ctx, s.rdb, base)
	if err != nil {
		return fmt.Errorf("drop old counters: %w", err)
	}
	iter := node.Scan(ctx, 0, base+"*", 1000).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.rdb.Unlink(ctx, batch...).Err()
		batch = batch[:0]
		return err
	}
	keepPrefix := base + strconv.FormatInt(keep, 10) + ":"
	for iter.Next(ctx) {
		k := iter.Val()
		if strings.HasPrefix(k, keepPrefix) {
			continue
		}
		batch = append(batch, k)
		if len(batch) >= 500 {
			if err := flush(); err != nil {
				return fmt.Errorf("drop old counters: %w", err)
			}
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("drop old counters: %w", err)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("drop old counters: %w", err)
	}
	return nil
}

var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// writer accumulates counts in memory and adds them to one generation's
// keys in pipelined batches.
type writer struct {
	rdb  redis.UniversalClient
	base string
	now  time.Time
	z, h map[string]map[string]int64
	exp  map[string]int64
	n    int
}

func (w *writer) reset() {
	w.z, w.h, w.exp, w.n = map[string]map[string]int64{}, map[string]map[string]int64{}, map[string]int64{}, 0
}

// add counts e n times, in the same buckets the live path uses.
func (w *writer) add(ctx context.Context, e reports.Entry, n int64) error {
	for _, o := range ops(e, w.now) {
		if o.typ == "w" {
			continue // a new generation has no materialized windows yet
		}
		m := w.z
		if o.typ == "h" {
			m = w.h
		}
		k := w.base + o.suffix
		if m[k] == nil {
			m[k] = map[string]int64{}
		}
		m[k][o.member] += n
		if o.ttl > 0 {
			w.exp[k] = o.ttl
		}
		w.n++
	}
	if w.n >= 200_000 {
		return w.flush(ctx)
	}
	return nil
}

func (w *writer) flush(ctx context.Context) error {
	pipe := w.rdb.Pipeline()
	queued := 0
	exec := func(force bool) error {
		if queued == 0 || (!force && queued < 5000) {
			return nil
		}
		queued = 0
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("write counters: %w", err)
		}
		return nil
	}
	for k, members := range w.z {
		for m, n := range members {
			pipe.ZIncrBy(ctx, k, float64(n), m)
			queued++
			if err := exec(false); err != nil {
				return err
			}
		}
	}
	for k, fields := range w.h {
		for f, n := range fields {
			pipe.HIncrBy(ctx, k, f, n)
			queued++
			if err := exec(false); err != nil {
				return err
			}
		}
	}
	for k, ttl := range w.exp {
		pipe.Expire(ctx, k, time.Duration(ttl)*time.Second)
		queued++
		if err := exec(false); err != nil {
			return err
		}
	}
	if err := exec(true); err != nil {
		return err
	}
	w.reset()
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
