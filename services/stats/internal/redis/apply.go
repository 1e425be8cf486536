package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

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

// applyArgs builds the arguments of applyScript.
func (s *Store) applyArgs(group, id string, e reports.Entry, now time.Time) []any {
	o := ops(e, now)
	args := make([]any, 0, 4+4*len(o))
	args = append(args, group, id, s.genBase(), e.Delta)
	for _, x := range o {
		args = append(args, x.typ, x.suffix, x.member, x.ttl)
	}
	return args
}

// StreamEntry is a pending entry of a stream read through a consumer group;
// Entry is nil for a malformed entry, which is acknowledged and skipped.
type StreamEntry struct {
	Stream string
	ID     string
	Entry  *reports.Entry
}

// ApplyStream counts entries read through group and acknowledges them, in
// one script per entry: an entry is counted only by the call that
// acknowledges it, so a redelivery after a crash never counts twice. It
// returns how many entries were counted now.
func (s *Store) ApplyStream(ctx context.Context, group string, entries []StreamEntry, now time.Time) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	// Scripts are loaded first because a pipeline cannot fall back from
	// EVALSHA to EVAL by itself.
	if err := applyScript.Load(ctx, s.rdb).Err(); err != nil {
		return 0, fmt.Errorf("apply counters: %w", err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(entries))
	for i, se := range entries {
		keys := []string{se.Stream, s.curKey()}
		if se.Entry == nil {
			cmds[i] = applyScript.EvalSha(ctx, pipe, keys, group, se.ID, s.genBase(), 0)
			continue
		}
		cmds[i] = applyScript.EvalSha(ctx, pipe, keys, s.applyArgs(group, se.ID, *se.Entry, now)...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("apply counters: %w", err)
	}
	n := 0
	for i, c := range cmds {
		if v, _ := c.Int(); v == 1 && entries[i].Entry != nil {
			n++
		}
	}
	return n, nil
}
