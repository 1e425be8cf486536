package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/redis"
)

// TestSendDone: the one-round-trip end of a send records the request id,
// removes the outbox entry, closes the author's typing window and records
// the activity, as the separate calls do.
func TestSendDone(t *testing.T) {
	platformtest.EachRedis(t, func(t *testing.T) {
		ctx := context.Background()
		rdb, prefix := platformtest.Redis(t)
		keys := redisx.NewKeyspace(prefix)
		r, o, w, a := redis.NewRequestRecords(rdb, keys), redis.NewOutbox(rdb, keys), redis.NewTypingWindows(rdb, keys), redis.NewActivity(rdb, keys, 100)
		d := redis.NewSendDone(r, o, w, a)
		m := chat.Message{ID: "m1", ServerID: "s1", ChannelID: "c1", AuthorID: "u1", RequestID: "r1", CreatedAt: time.UnixMilli(1_700_000_000_000).UTC()}
		e := chat.OutboxEntry{ChannelID: m.ChannelID, MessageID: m.ID}
		other := chat.OutboxEntry{ChannelID: m.ChannelID, MessageID: "m2"}
		for _, x := range []chat.OutboxEntry{e, other} {
			if err := o.Add(ctx, x, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []string{m.AuthorID, "u2"} {
			if opened, _, err := w.Open(ctx, m.ChannelID, u, time.Now().Add(time.Minute), time.Minute); err != nil || !opened {
				t.Fatalf("open typing window of %s: %v %v", u, opened, err)
			}
		}

		if errs := d.SendDone(ctx, m, e, time.Hour, true); errs != (chat.SendDoneErrors{}) {
			t.Fatalf("SendDone: %+v", errs)
		}
		if id, err := r.Recall(ctx, "u1", "r1"); err != nil || id != "m1" {
			t.Errorf("request record: got %q, %v; want m1", id, err)
		}
		pending := func(x chat.OutboxEntry) bool {
			ok, err := o.Pending(ctx, x)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if pending(e) || !pending(other) {
			t.Errorf("outbox: sent entry pending %v, other pending %v; want false, true", pending(e), pending(other))
		}
		reopen := func(u string) bool {
			opened, _, err := w.Open(ctx, m.ChannelID, u, time.Now().Add(time.Minute), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return opened
		}
		if !reopen(m.AuthorID) || reopen("u2") {
			t.Error("want the author's typing window closed and the other user's still open")
		}
		entries, err := rdb.XRange(ctx, keys.Key(events.Activity), "-", "+").Result()
		if err != nil || len(entries) != 1 {
			t.Fatalf("activity stream: %v entries, err %v; want 1", len(entries), err)
		}
		got, err := events.DecodeActivity(entries[0].Values)
		if err != nil {
			t.Fatal(err)
		}
		want := events.ActivityEntry{Kind: "message_created", UserID: "u1", ServerID: "s1", ChannelID: "c1", MessageID: "m1", Time: m.CreatedAt}
		if !got.Time.Equal(want.Time) {
			t.Errorf("activity time: got %v, want %v", got.Time, want.Time)
		}
		got.Time = want.Time
		if got != want {
			t.Errorf("activity: got %+v, want %+v", got, want)
		}

		// Without closeTyping the window stays; without a request id
		// nothing is recorded.
		if errs := d.SendDone(ctx, chat.Message{ID: "m2", ServerID: "s1", ChannelID: "c1", AuthorID: "u2", CreatedAt: m.CreatedAt}, other, time.Hour, false); errs != (chat.SendDoneErrors{}) {
			t.Fatalf("SendDone: %+v", errs)
		}
		if id, err := r.Recall(ctx, "u2", ""); err != nil || id != "" {
			t.Errorf("request record without a request id: got %q, %v", id, err)
		}
		if pending(other) || reopen("u2") {
			t.Error("want the second entry gone and u2's window still open")
		}
	})
}
