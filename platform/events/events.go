// Package events writes and reads Accord's event log: one Redis Stream per
// scope ("server:<id>", "user:<id>") holding serialized
// accord.server.v1.Event messages. Writers append after their database write
// commits; the server service's feed reads the streams and fans out.
package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
)

// Field is the stream entry field that holds the serialized event.
const Field = "e"

// DefaultMaxLen bounds each scope's stream (approximately); older events are
// gone and a client resuming before them is told to resync.
const DefaultMaxLen = 10_000

// ServerScope is the scope of a server's events.
func ServerScope(serverID string) string { return "server:" + serverID }

// UserScope is the scope of a user's own events.
func UserScope(userID string) string { return "user:" + userID }

// ParseScope splits a scope into its kind ("server" or "user") and id.
func ParseScope(scope string) (kind, id string, err error) {
	kind, id, ok := strings.Cut(scope, ":")
	if !ok || id == "" || (kind != "server" && kind != "user") {
		return "", "", fmt.Errorf("bad scope %q", scope)
	}
	return kind, id, nil
}

// Log appends events to and reads them from Redis Streams.
type Log struct {
	rdb    redis.UniversalClient
	prefix string
	maxLen int64
}

// NewLog returns a Log whose keys start with prefix.
func NewLog(rdb redis.UniversalClient, prefix string) *Log {
	return &Log{rdb: rdb, prefix: prefix, maxLen: DefaultMaxLen}
}

// WithMaxLen returns a copy of l keeping about n events per scope.
func (l *Log) WithMaxLen(n int64) *Log {
	c := *l
	c.maxLen = n
	return &c
}

// Key is the Redis key of a scope's stream.
func (l *Log) Key(scope string) string { return l.prefix + "ev:" + scope }

// Append adds ev to the scope's stream and returns its cursor. It sets the
// event's scope, and its create time when unset.
func (l *Log) Append(ctx context.Context, scope string, ev *serverv1.Event) (string, error) {
	args, err := l.xadd(scope, ev)
	if err != nil {
		return "", err
	}
	return l.appended(scope, ev, l.rdb.XAdd(ctx, args))
}

// AppendIn is Append as part of a pipeline, so that other commands share
// its round trip to Redis. Once pipe has run, call done for the cursor.
func (l *Log) AppendIn(ctx context.Context, pipe redis.Pipeliner, scope string, ev *serverv1.Event) (done func() (string, error), err error) {
	args, err := l.xadd(scope, ev)
	if err != nil {
		return nil, err
	}
	cmd := pipe.XAdd(ctx, args)
	return func() (string, error) { return l.appended(scope, ev, cmd) }, nil
}

func (l *Log) xadd(scope string, ev *serverv1.Event) (*redis.XAddArgs, error) {
	ev.Scope = scope
	ev.Cursor = ""
	if ev.CreateTime == nil {
		ev.CreateTime = timestamppb.Now()
	}
	b, err := proto.Marshal(ev)
	if err != nil {
		return nil, err
	}
	return &redis.XAddArgs{Stream: l.Key(scope), MaxLen: l.maxLen, Approx: true, Values: []any{Field, b}}, nil
}

func (l *Log) appended(scope string, ev *serverv1.Event, cmd *redis.StringCmd) (string, error) {
	id, err := cmd.Result()
	if err != nil {
		return "", fmt.Errorf("append event to %s: %w", scope, err)
	}
	ev.Cursor = id
	return id, nil
}

// AppendAll appends ev to several scopes (for example both users of a
// friendship). Each copy gets its own cursor.
func (l *Log) AppendAll(ctx context.Context, scopes []string, ev *serverv1.Event) error {
	var errs []error
	for _, s := range scopes {
		c := proto.Clone(ev).(*serverv1.Event)
		if _, err := l.Append(ctx, s, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Decode turns a stream entry into an event with its scope and cursor.
func Decode(scope string, msg redis.XMessage) (*serverv1.Event, error) {
	raw, ok := msg.Values[Field].(string)
	if !ok {
		return nil, fmt.Errorf("event %s/%s: no %q field", scope, msg.ID, Field)
	}
	ev := &serverv1.Event{}
	if err := proto.Unmarshal([]byte(raw), ev); err != nil {
		return nil, fmt.Errorf("event %s/%s: %w", scope, msg.ID, err)
	}
	ev.Scope, ev.Cursor = scope, msg.ID
	return ev, nil
}

// Activity is the Redis Stream that the server service appends message
// activity to and the stats service counts from: fields kind
// ("message_created" or "message_deleted"), user_id, server_id, channel_id,
// message_id and ts (Unix milliseconds of the message's creation).
const Activity = "activity"

// Connections is the Redis Stream the presence service appends every opened
// session to: fields user_id, session_id, client and ts (Unix milliseconds).
const Connections = "connections"

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
// maxLen entries; the stats counters are the long-term record).
func AppendActivity(ctx context.Context, rdb redis.UniversalClient, prefix string, e ActivityEntry, maxLen int64) error {
	return rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: prefix + Activity,
		MaxLen: maxLen,
		Approx: true,
		Values: []any{
			"kind", e.Kind, "user_id", e.UserID, "server_id", e.ServerID,
			"channel_id", e.ChannelID, "message_id", e.MessageID, "ts", e.Time.UnixMilli(),
		},
	}).Err()
}
