package events_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/redisx"
)

func TestAppendAndDecode(t *testing.T) { platformtest.EachRedis(t, testAppendAndDecode) }

func testAppendAndDecode(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	ctx := t.Context()
	log := events.NewLog(rdb, redisx.NewKeyspace(prefix)).WithMaxLen(100)
	scopes := []string{events.UserScope("a"), events.UserScope("b")}
	ev := &eventsv1.Event{Payload: &eventsv1.Event_RelationshipRemoved{RelationshipRemoved: &eventsv1.RelationshipRemoved{UserId: "b"}}}
	if err := log.AppendAll(ctx, scopes, ev); err != nil {
		t.Fatal(err)
	}
	for _, scope := range scopes {
		msgs, err := rdb.XRange(ctx, log.Key(scope), "-", "+").Result()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%s: %v %v", scope, msgs, err)
		}
		got, err := events.Decode(scope, msgs[0])
		if err != nil {
			t.Fatal(err)
		}
		if got.GetScope() != scope || got.GetCursor() != msgs[0].ID || got.GetRelationshipRemoved().GetUserId() != "b" || got.GetCreateTime() == nil {
			t.Fatalf("decoded %v", got)
		}
	}
	if _, err := events.Decode("user:a", redis.XMessage{ID: "1-1", Values: map[string]any{}}); err == nil {
		t.Fatal("entry without event decoded")
	}
}

func TestParseScope(t *testing.T) {
	for _, tt := range []struct {
		scope, kind, id string
		ok              bool
	}{
		{"server:abc", "server", "abc", true},
		{"user:u1", "user", "u1", true},
		{"user:", "", "", false},
		{"room:x", "", "", false},
		{"nocolon", "", "", false},
	} {
		kind, id, err := events.ParseScope(tt.scope)
		if (err == nil) != tt.ok || kind != tt.kind || id != tt.id {
			t.Errorf("ParseScope(%q) = %q %q %v", tt.scope, kind, id, err)
		}
	}
}
