// Package events writes and reads Accord's event log: one Redis Stream per
// scope ("server:<id>", "user:<id>") holding serialized
// accord.events.v1.Event messages. Writers append after their database write
// commits; the server service's feed reads the streams and fans out.
package events

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"

	"github.com/accordchat/accord/platform/redisx"
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
	keys   redisx.Keyspace
	maxLen int64
}

// NewLog returns a Log whose streams live in keys.
func NewLog(rdb redis.UniversalClient, keys redisx.Keyspace) *Log {
	return &Log{rdb: rdb, keys: keys, maxLen: DefaultMaxLen}
}

// WithMaxLen returns a copy of l keeping about n events per scope.
func (l *Log) WithMaxLen(n int64) *Log {
	c := *l
	c.maxLen = n
	return &c
}

// Key is the Redis key of a scope's stream: "ev:{<scope>}", the scope
// being the stream's hash tag, so that on a Redis Cluster the streams
// spread over the slots and the keys that go with a scope (see
// redisx.Tag) can share its slot.
func (l *Log) Key(scope string) string { return l.keys.Key("ev:", redisx.Tag(scope)) }

// Scope returns the scope of the stream key key (made by Key), or "" when
// key is not one.
func (l *Log) Scope(key string) string {
	rest, ok := strings.CutPrefix(key, l.keys.Key("ev:{"))
	if !ok {
		return ""
	}
	scope, ok := strings.CutSuffix(rest, "}")
	if !ok {
		return ""
	}
	return scope
}

// Append adds ev to the scope's stream and returns its cursor. It sets the
// event's scope, and its create time when unset.
func (l *Log) Append(ctx context.Context, scope string, ev *eventsv1.Event) (string, error) {
	args, err := l.xadd(scope, ev)
	if err != nil {
		return "", err
	}
	addTrace(ctx, args)
	return l.appended(scope, ev, l.rdb.XAdd(ctx, args))
}

// Entry is an append prepared for a caller that runs the XADD itself, in
// a script of its own (for example one that appends only while a lock is
// held): the stream, its approximate bound (0 for none) and the entry's
// field-value pairs. Once appended, Appended records the id on the event.
type Entry struct {
	Stream string
	MaxLen int64
	Values []any
	ev     *eventsv1.Event
}

// Appended records the cursor Redis gave the entry on its event.
func (e Entry) Appended(id string) { e.ev.Cursor = id }

// Prepare readies ev for an append to scope done by the caller, as Append
// would do it (scope, create time, trace context).
func (l *Log) Prepare(ctx context.Context, scope string, ev *eventsv1.Event) (Entry, error) {
	args, err := l.xadd(scope, ev)
	if err != nil {
		return Entry{}, err
	}
	addTrace(ctx, args)
	return Entry{Stream: args.Stream, MaxLen: args.MaxLen, Values: args.Values.([]any), ev: ev}, nil
}

func (l *Log) xadd(scope string, ev *eventsv1.Event) (*redis.XAddArgs, error) {
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

func (l *Log) appended(scope string, ev *eventsv1.Event, cmd *redis.StringCmd) (string, error) {
	id, err := cmd.Result()
	if err != nil {
		return "", fmt.Errorf("append event to %s: %w", scope, err)
	}
	ev.Cursor = id
	return id, nil
}

// AppendAll appends ev to several scopes (for example both users of a
// friendship). Each copy gets its own cursor.
func (l *Log) AppendAll(ctx context.Context, scopes []string, ev *eventsv1.Event) error {
	var errs []error
	for _, s := range scopes {
		c := proto.Clone(ev).(*eventsv1.Event)
		if _, err := l.Append(ctx, s, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Decode turns a stream entry into an event with its scope and cursor.
func Decode(scope string, msg redis.XMessage) (*eventsv1.Event, error) {
	raw, ok := msg.Values[Field].(string)
	if !ok {
		return nil, fmt.Errorf("event %s/%s: no %q field", scope, msg.ID, Field)
	}
	ev := &eventsv1.Event{}
	if err := proto.Unmarshal([]byte(raw), ev); err != nil {
		return nil, fmt.Errorf("event %s/%s: %w", scope, msg.ID, err)
	}
	ev.Scope, ev.Cursor = scope, msg.ID
	if tp, ok := msg.Values[TraceField].(string); ok {
		ev.TraceParent = tp
	}
	return ev, nil
}
