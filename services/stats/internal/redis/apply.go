package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/services/stats/internal/reports"
)

// Activity entry kinds.
const (
	KindMessageCreated = events.ActivityMessageCreated
	KindMessageDeleted = events.ActivityMessageDeleted
)

// ParseActivity reads an entry of the activity stream as a count.
func ParseActivity(values map[string]any) (reports.Entry, error) {
	a, err := events.DecodeActivity(values)
	if err != nil {
		return reports.Entry{}, err
	}
	e := reports.Entry{Metric: reports.Messages, UserID: a.UserID, ServerID: a.ServerID, Time: a.Time, Delta: 1}
	if a.Kind == KindMessageDeleted {
		e.Delta = -1
	}
	return e, nil
}

// ParseConnection reads an entry of the connections stream as a count.
func ParseConnection(values map[string]any) (reports.Entry, error) {
	c, err := events.DecodeConnection(values)
	if err != nil {
		return reports.Entry{}, err
	}
	return reports.Entry{Metric: reports.Connections, UserID: c.UserID, Time: c.Time, Delta: 1}, nil
}

// op is one increment: of member in a sorted set ("z"), of a hash field
// ("h") or of member in a materialized window if that exists ("w"), in the
// key named by suffix, which expires ttl seconds after the increment (0 =
// never). The time to live is counted from the caller's now rather than
// Redis's clock, so a caller reasoning about another time (a test, a
// replay) still keeps what it wrote for as long as its now implies.
type op struct {
	typ, suffix, member string
	ttl                 int64
}

// ttlUntil is how many whole seconds from now to at, at least 1.
func ttlUntil(at, now time.Time) int64 {
	s := int64((at.Sub(now) + time.Second - 1) / time.Second)
	return max(s, 1)
}

// ops lists the increments of e at now. Hourly buckets older than the
// retention are skipped: they would be dropped at once.
func ops(e reports.Entry, now time.Time) []op {
	day, hour := "d:"+reports.DayID(e.Time), "h:"+reports.HourID(e.Time)
	h := reports.HourStart(e.Time)
	hourly := reports.KeepsHour(h, now)
	exp := ttlUntil(reports.HourExpiry(h), now)
	var out []op
	add := func(family, member string) {
		out = append(out, op{"z", family + ":" + day, member, 0}, op{"z", family + ":all", member, 0})
		if hourly {
			out = append(out, op{"z", family + ":" + hour, member, exp})
		}
		out = append(out, windowOps(family, member, h, now)...)
	}
	if e.Metric == reports.Connections {
		add("cu", e.UserID)
	} else {
		add("mu", e.UserID)
		add("ms", e.ServerID)
		add("msu:"+e.ServerID, e.UserID)
	}
	out = append(out, op{"h", totalsKey(e.Metric), day, 0})
	if hourly {
		out = append(out, op{"h", totalsKey(e.Metric), hour, 0})
	}
	return out
}

// StreamEntry is a pending entry of a stream read through a consumer group;
// Entry is nil for a malformed entry, which is acknowledged and skipped.
type StreamEntry struct {
	Stream string
	ID     string
	Entry  *reports.Entry
}

// maxApplyBatch bounds the entries of one script call, so that Redis,
// which runs a script to its end before anything else, is never held for
// long.
const maxApplyBatch = 256

// ApplyStream counts entries read through group and acknowledges them, in
// one script call per maxApplyBatch entries: an entry is counted only by
// the call that acknowledges it, so a redelivery after a crash never
// counts twice. It returns how many entries were counted now.
func (s *Store) ApplyStream(ctx context.Context, group string, entries []StreamEntry, now time.Time) (int, error) {
	n := 0
	for len(entries) > 0 {
		k := min(len(entries), maxApplyBatch)
		c, err := s.applyBatch(ctx, group, entries[:k], now)
		n += c
		if err != nil {
			return n, fmt.Errorf("apply counters: %w", err)
		}
		entries = entries[k:]
	}
	return n, nil
}

// opsKey identifies what ops computes for an entry (its time counts by the
// hour), so that entries of the same sender, server and hour share them.
type opsKey struct {
	metric       reports.Metric
	user, server string
	hour         int64
}

// applyBatch applies entries in one call of applyScript. Each distinct
// increment is sent once, and each entry names the increments it makes.
func (s *Store) applyBatch(ctx context.Context, group string, entries []StreamEntry, now time.Time) (int, error) {
	keys := []string{s.curKey()}
	streams := map[string]int{}
	opNum := map[op]int{}
	var table []any // the ops, as quads
	refs := map[opsKey][]int{}
	var tail []any // the entries
	for _, se := range entries {
		ki, ok := streams[se.Stream]
		if !ok {
			keys = append(keys, se.Stream)
			ki = len(keys)
			streams[se.Stream] = ki
		}
		if se.Entry == nil {
			tail = append(tail, ki, se.ID, 0, 0)
			continue
		}
		e := *se.Entry
		k := opsKey{e.Metric, e.UserID, e.ServerID, reports.HourStart(e.Time).Unix()}
		nums, ok := refs[k]
		if !ok {
			for _, o := range ops(e, now) {
				i, seen := opNum[o]
				if !seen {
					table = append(table, o.typ, o.suffix, o.member, o.ttl)
					i = len(opNum) + 1
					opNum[o] = i
				}
				nums = append(nums, i)
			}
			refs[k] = nums
		}
		tail = append(tail, ki, se.ID, e.Delta, len(nums))
		for _, i := range nums {
			tail = append(tail, i)
		}
	}
	args := make([]any, 0, 3+len(table)+len(tail))
	args = append(args, group, s.genBase(), len(opNum))
	args = append(args, table...)
	args = append(args, tail...)
	// Run falls back from EVALSHA to EVAL (which loads the script) when
	// Redis does not know it yet, so it is not loaded at every call.
	acked, err := applyScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return 0, err
	}
	if len(acked) != len(entries) {
		return 0, fmt.Errorf("%d results for %d entries", len(acked), len(entries))
	}
	n := 0
	for i, a := range acked {
		if a == 1 && entries[i].Entry != nil {
			n++
		}
	}
	return n, nil
}
