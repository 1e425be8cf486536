package events_test

import (
	"testing"
	"time"

	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/redisx"
)

func TestActivityReadsBackAsWritten(t *testing.T) {
	platformtest.EachRedis(t, testActivityReadsBackAsWritten)
}

func testActivityReadsBackAsWritten(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	keys := redisx.NewKeyspace(prefix)
	ctx := t.Context()
	want := events.ActivityEntry{Kind: events.ActivityMessageDeleted, UserID: "u", ServerID: "s", ChannelID: "c", MessageID: "m",
		Time: time.UnixMilli(1_700_000_000_123).UTC()}
	if err := events.AppendActivity(ctx, rdb, keys, want, 100); err != nil {
		t.Fatal(err)
	}
	msgs, err := rdb.XRange(ctx, prefix+events.Activity, "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%v %v", msgs, err)
	}
	got, err := events.DecodeActivity(msgs[0].Values)
	if err != nil || got != want {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
}

func TestMalformedStreamEntries(t *testing.T) {
	good := map[string]any{"kind": events.ActivityMessageCreated, "user_id": "u", "server_id": "s", "ts": "1700000000000"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for name, values := range map[string]map[string]any{
		"unknown kind": with("kind", "message_pinned"),
		"no user":      with("user_id", nil),
		"no server":    with("server_id", nil),
		"bad time":     with("ts", "soon"),
		"zero time":    with("ts", "0"),
	} {
		if _, err := events.DecodeActivity(values); err == nil {
			t.Errorf("activity with %s: decoded", name)
		}
	}
	if _, err := events.DecodeActivity(good); err != nil {
		t.Errorf("good activity: %v", err)
	}
	if _, err := events.DecodeConnection(map[string]any{"session_id": "x", "ts": "1700000000000"}); err == nil {
		t.Error("connection without user: decoded")
	}
	c, err := events.DecodeConnection(map[string]any{"user_id": "u", "session_id": "x", "client": "web", "ts": "1700000000000"})
	if err != nil || c.UserID != "u" || c.SessionID != "x" || c.Client != "web" || !c.Time.Equal(time.UnixMilli(1_700_000_000_000)) {
		t.Errorf("connection: %+v, %v", c, err)
	}
}
