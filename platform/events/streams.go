package events

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/platform/redisx"
)

// Besides the event log, two plain Redis Streams carry counts to the stats
// service. Each is written and read through this file only, so that its
// fields are spelled in one place.

// StatsTag is the Redis Cluster hash tag of the stats streams, the stats
// counters and presence's keys: the stats service reads both streams in one
// XREADGROUP and applies an entry to its counters in one script, and
// presence appends to the connections stream in the script that opens a
// session, so they all share one slot.
const StatsTag = "{stats}"

// Activity is the Redis Stream that the server service appends message
// activity to and the stats service counts from: fields kind
// (ActivityMessageCreated or ActivityMessageDeleted), user_id, server_id,
// channel_id, message_id and ts (Unix milliseconds of the message's
// creation).
const Activity = "activity:" + StatsTag

// Activity entry kinds.
const (
	ActivityMessageCreated = "message_created"
	ActivityMessageDeleted = "message_deleted"
)

// ActivityEntry is one entry of the Activity stream.
type ActivityEntry struct {
	Kind      string
	UserID    string
	ServerID  string
	ChannelID string
	MessageID string
	Time      time.Time
}

// AppendActivity adds an entry to the activity stream (trimmed to about
// maxLen entries; the stats counters are the long-term record). Given a
// pipeline, it queues the entry (the pipeline's Exec reports the result).
func AppendActivity(ctx context.Context, rdb redis.Cmdable, keys redisx.Keyspace, e ActivityEntry, maxLen int64) error {
	return rdb.XAdd(ctx, ActivityArgs(keys, e, maxLen)).Err()
}

// ActivityArgs is the XADD of AppendActivity, for a caller that sends it
// another way (in a script).
func ActivityArgs(keys redisx.Keyspace, e ActivityEntry, maxLen int64) *redis.XAddArgs {
	return &redis.XAddArgs{
		Stream: keys.Key(Activity),
		MaxLen: maxLen,
		Approx: true,
		Values: []any{
			"kind", e.Kind, "user_id", e.UserID, "server_id", e.ServerID,
			"channel_id", e.ChannelID, "message_id", e.MessageID, "ts", e.Time.UnixMilli(),
		},
	}
}

// DecodeActivity reads the fields of an activity stream entry. It fails on
// an unknown kind, a missing user or server, or a bad time.
func DecodeActivity(values map[string]any) (ActivityEntry, error) {
	e := ActivityEntry{
		Kind: str(values, "kind"), UserID: str(values, "user_id"), ServerID: str(values, "server_id"),
		ChannelID: str(values, "channel_id"), MessageID: str(values, "message_id"),
	}
	if e.Kind != ActivityMessageCreated && e.Kind != ActivityMessageDeleted {
		return ActivityEntry{}, fmt.Errorf("unknown kind %q", e.Kind)
	}
	if e.UserID == "" || e.ServerID == "" {
		return ActivityEntry{}, fmt.Errorf("missing user_id or server_id")
	}
	t, err := millis(str(values, "ts"))
	if err != nil {
		return ActivityEntry{}, err
	}
	e.Time = t
	return e, nil
}

// Connections is the Redis Stream the presence service appends every opened
// session to, and the stats service counts from: fields user_id,
// session_id, client and ts (Unix milliseconds). Presence writes it inside
// the script that opens a session, so that the session and its log entry
// are one atomic step; its tests read the entries back with
// DecodeConnection.
const Connections = "connections:" + StatsTag

// ConnectionEntry is one entry of the Connections stream.
type ConnectionEntry struct {
	UserID    string
	SessionID string
	Client    string
	Time      time.Time
}

// DecodeConnection reads the fields of a connections stream entry. It fails
// on a missing user or a bad time.
func DecodeConnection(values map[string]any) (ConnectionEntry, error) {
	e := ConnectionEntry{UserID: str(values, "user_id"), SessionID: str(values, "session_id"), Client: str(values, "client")}
	if e.UserID == "" {
		return ConnectionEntry{}, fmt.Errorf("missing user_id")
	}
	t, err := millis(str(values, "ts"))
	if err != nil {
		return ConnectionEntry{}, err
	}
	e.Time = t
	return e, nil
}

func str(values map[string]any, k string) string {
	s, _ := values[k].(string)
	return s
}

func millis(s string) (time.Time, error) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, fmt.Errorf("bad ts %q", s)
	}
	return time.UnixMilli(ms).UTC(), nil
}
