package counters

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Activity entry kinds.
const (
	KindMessageCreated = "message_created"
	KindMessageDeleted = "message_deleted"
)

// Entry is one counted event: a message created or deleted (Metric
// Messages) or a presence session opened (Metric Connections).
type Entry struct {
	Metric   Metric
	UserID   string
	ServerID string
	// Time is the message's creation time or the session's opening time:
	// a deletion takes one off the buckets its message was counted in.
	Time time.Time
	// Delta is +1, or -1 for a deletion.
	Delta int
}

// ParseActivity reads an entry of the activity stream.
func ParseActivity(values map[string]any) (Entry, error) {
	e := Entry{Metric: Messages, UserID: str(values, "user_id"), ServerID: str(values, "server_id")}
	switch k := str(values, "kind"); k {
	case KindMessageCreated:
		e.Delta = 1
	case KindMessageDeleted:
		e.Delta = -1
	default:
		return Entry{}, fmt.Errorf("unknown kind %q", k)
	}
	if e.UserID == "" || e.ServerID == "" {
		return Entry{}, fmt.Errorf("missing user_id or server_id")
	}
	t, err := parseMillis(str(values, "ts"))
	if err != nil {
		return Entry{}, err
	}
	e.Time = t
	return e, nil
}

// ParseConnection reads an entry of the connections stream.
func ParseConnection(values map[string]any) (Entry, error) {
	e := Entry{Metric: Connections, UserID: str(values, "user_id"), Delta: 1}
	if e.UserID == "" {
		return Entry{}, fmt.Errorf("missing user_id")
	}
	t, err := parseMillis(str(values, "ts"))
	if err != nil {
		return Entry{}, err
	}
	e.Time = t
	return e, nil
}

func str(values map[string]any, k string) string {
	s, _ := values[k].(string)
	return s
}

func parseMillis(s string) (time.Time, error) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, fmt.Errorf("bad ts %q", s)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// op is one increment: of member in a sorted set ("z"), of a hash field
// ("h") or of member in a materialized window if that exists ("w"), in the
// key named by suffix, which expires at expireAt (Unix seconds; 0 = never).
type op struct {
	typ, suffix, member string
	expireAt            int64
}

// ops lists the increments of e at now. Hourly buckets older than the
// retention are skipped: they would be dropped at once.
func ops(e Entry, now time.Time) []op {
	day, hour := "d:"+DayID(e.Time), "h:"+HourID(e.Time)
	h := HourStart(e.Time)
	hourly := keepsHour(h, now)
	exp := hourExpiry(h).Unix()
	var out []op
	add := func(family, member string) {
		out = append(out, op{"z", family + ":" + day, member, 0}, op{"z", family + ":all", member, 0})
		if hourly {
			out = append(out, op{"z", family + ":" + hour, member, exp})
		}
		out = append(out, windowOps(family, member, h, now)...)
	}
	if e.Metric == Connections {
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
func (s *Store) applyArgs(group, id string, e Entry, now time.Time) []any {
	o := ops(e, now)
	args := make([]any, 0, 4+4*len(o))
	args = append(args, group, id, s.genBase(), e.Delta)
	for _, x := range o {
		args = append(args, x.typ, x.suffix, x.member, x.expireAt)
	}
	return args
}

// StreamEntry is a pending entry of a stream read through a consumer group;
// Entry is nil for a malformed entry, which is acknowledged and skipped.
type StreamEntry struct {
	Stream string
	ID     string
	Entry  *Entry
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
