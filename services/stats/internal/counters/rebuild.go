package counters

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

	"github.com/accordchat/accord/platform/events"
)

// ErrRebuildRunning is returned when another rebuild holds the lock.
var ErrRebuildRunning = errors.New("a rebuild is already running")

// RebuildLockTTL bounds how long a crashed rebuild blocks the next one.
const RebuildLockTTL = 30 * time.Minute

// Row is the number of messages one user sent in one server in a bucket.
type Row struct {
	UserID   string
	ServerID string
	N        int64
}

// MessageCounter counts stored messages (an aggregation over the messages
// collection).
type MessageCounter interface {
	// Oldest is the creation time of the oldest message; false when none.
	Oldest(ctx context.Context) (time.Time, bool, error)
	// Count groups the messages created in [from, to) by author and server.
	Count(ctx context.Context, from, to time.Time) ([]Row, error)
}

// RebuildResult tells what a rebuild counted.
type RebuildResult struct {
	Messages, Connections int64
}

// Rebuild recomputes every counter from the stored messages and the
// connections stream, writing a new generation of keys and switching to it
// at once. Messages are counted per hour while hourly buckets are kept and
// per day before that, one aggregation per bucket.
//
// When the connections stream has been trimmed, the connection counters of
// the days it no longer fully holds are kept as they were.
//
// Entries counted by the consumer while a rebuild runs land in the old
// generation and are lost at the switch unless the rebuild saw them; run
// it when things are quiet, or again.
func (s *Store) Rebuild(ctx context.Context, msgs MessageCounter, now time.Time) (RebuildResult, error) {
	var res RebuildResult
	token := randomHex(8)
	ok, err := s.rdb.SetNX(ctx, s.lockKey(), token, RebuildLockTTL).Result()
	if err != nil {
		return res, fmt.Errorf("take rebuild lock: %w", err)
	}
	if !ok {
		return res, ErrRebuildRunning
	}
	defer func() {
		// Release only our own lock (it may have expired and been retaken).
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = unlockScript.Run(c, s.rdb, []string{s.lockKey()}, token).Err()
	}()

	cur, err := s.currentGen(ctx)
	if err != nil {
		return res, err
	}
	// Keys of generations other than the current one are leftovers of a
	// crashed rebuild.
	if err := s.dropGenerations(ctx, cur); err != nil {
		return res, err
	}
	gen, err := s.rdb.Incr(ctx, s.seqKey()).Result()
	if err != nil {
		return res, fmt.Errorf("next generation: %w", err)
	}
	if gen <= cur {
		gen = cur + 1
		if err := s.rdb.Set(ctx, s.seqKey(), gen, 0).Err(); err != nil {
			return res, fmt.Errorf("next generation: %w", err)
		}
	}
	w := &writer{rdb: s.rdb, base: s.genBase() + strconv.FormatInt(gen, 10) + ":", now: now}
	w.reset()

	if res.Messages, err = s.rebuildMessages(ctx, w, msgs, now); err != nil {
		return res, err
	}
	cutoff, err := s.connectionsCutoff(ctx)
	if err != nil {
		return res, err
	}
	if res.Connections, err = s.rebuildConnections(ctx, w, cutoff, now); err != nil {
		return res, err
	}
	if err := w.flush(ctx); err != nil {
		return res, err
	}
	if !cutoff.IsZero() {
		if err := s.keepConnections(ctx, cur, gen, cutoff); err != nil {
			return res, err
		}
	}
	if err := s.rdb.Set(ctx, s.curKey(), gen, 0).Err(); err != nil {
		return res, fmt.Errorf("switch generation: %w", err)
	}
	if err := s.dropGenerations(ctx, gen); err != nil {
		return res, err
	}
	return res, nil
}

func (s *Store) rebuildMessages(ctx context.Context, w *writer, msgs MessageCounter, now time.Time) (int64, error) {
	oldest, ok, err := msgs.Oldest(ctx)
	if err != nil || !ok {
		return 0, err
	}
	var total int64
	count := func(from, to time.Time) error {
		rows, err := msgs.Count(ctx, from, to)
		if err != nil {
			return err
		}
		for _, r := range rows {
			total += r.N
			if err := w.add(ctx, Entry{Metric: Messages, UserID: r.UserID, ServerID: r.ServerID, Time: from}, r.N); err != nil {
				return err
			}
		}
		return nil
	}
	// Up to the end of today; later messages (clock skew) are counted in
	// one last open bucket.
	end := DayStart(now).AddDate(0, 0, 1)
	for d := DayStart(oldest); d.Before(end); d = d.AddDate(0, 0, 1) {
		next := d.AddDate(0, 0, 1)
		if !keepsHour(next.Add(-time.Hour), now) {
			if err := count(d, next); err != nil {
				return 0, err
			}
			continue
		}
		// Hourly buckets are still kept: count per hour, but only on days
		// that have messages at all.
		rows, err := msgs.Count(ctx, d, next)
		if err != nil {
			return 0, err
		}
		if len(rows) == 0 {
			continue
		}
		for h := d; h.Before(next); h = h.Add(time.Hour) {
			if err := count(h, h.Add(time.Hour)); err != nil {
				return 0, err
			}
		}
	}
	if err := count(end, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		return 0, err
	}
	return total, nil
}

// connectionsCutoff is, when the connections stream has been trimmed, the
// start of the day after its oldest entry: connections before it can no
// longer be recounted, so the rebuild keeps their counters. It is zero when
// the stream holds everything ever added.
func (s *Store) connectionsCutoff(ctx context.Context) (time.Time, error) {
	info, err := s.rdb.XInfoStream(ctx, s.prefix+events.Connections).Result()
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
	return DayStart(time.UnixMilli(ms)).AddDate(0, 0, 1), nil
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
		iter := s.rdb.Scan(ctx, 0, src+pattern, 1000).Iterator()
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
	stream := s.prefix + events.Connections
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
	iter := s.rdb.Scan(ctx, 0, base+"*", 1000).Iterator()
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
func (w *writer) add(ctx context.Context, e Entry, n int64) error {
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
		if o.expireAt > 0 {
			w.exp[k] = o.expireAt
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
	for k, at := range w.exp {
		pipe.ExpireAt(ctx, k, time.Unix(at, 0))
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
