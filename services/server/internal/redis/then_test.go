package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/redis"
)

// TestSendDoneOnRelease: on a single Redis the steps that end a send run
// in the round trip that appends its event and releases the lock, with the
// effects of SendDone; a lost lock runs none of them; on a cluster nothing
// is queued (the caller runs SendDone itself).
func TestSendDoneOnRelease(t *testing.T) {
	platformtest.EachRedis(t, func(t *testing.T) {
		ctx := context.Background()
		rdb, prefix := platformtest.Redis(t)
		keys := redisx.NewKeyspace(prefix)
		r, o, w, a := redis.NewRequestRecords(rdb, keys), redis.NewOutbox(rdb, keys), redis.NewTypingWindows(rdb, keys), redis.NewActivity(rdb, keys, 100)
		d := redis.NewSendDone(r, o, w, a)
		log := events.NewLog(rdb, keys)
		locks := redis.NewLocks(rdb, keys, platformtest.Logger(t), scopes)
		scope := events.ServerScope("s1")
		at := time.UnixMilli(1_700_000_000_000).UTC()
		msg := func(id, author, request string) (chat.Message, chat.OutboxEntry) {
			m := chat.Message{ID: id, ServerID: "s1", ChannelID: "c1", AuthorID: author, RequestID: request, CreatedAt: at}
			e := chat.OutboxEntry{ChannelID: m.ChannelID, MessageID: m.ID}
			if err := o.Add(ctx, e, time.Now()); err != nil {
				t.Fatal(err)
			}
			if opened, _, err := w.Open(ctx, m.ChannelID, author, time.Now().Add(time.Minute), time.Minute); err != nil || !opened {
				t.Fatalf("open typing window of %s: %v %v", author, opened, err)
			}
			return m, e
		}
		entry := func(id string) events.Entry {
			en, err := log.Prepare(ctx, scope, &eventsv1.Event{Payload: &eventsv1.Event_MessageCreated{MessageCreated: &serverv1.Message{Id: id}}})
			if err != nil {
				t.Fatal(err)
			}
			return en
		}
		pending := func(e chat.OutboxEntry) bool {
			ok, err := o.Pending(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		typingOpen := func(author string) bool {
			n, err := rdb.Exists(ctx, keys.Key("typing:", "c1", ":", author)).Result()
			if err != nil {
				t.Fatal(err)
			}
			return n == 1
		}
		activities := func() int {
			n, err := rdb.XLen(ctx, keys.Key(events.Activity)).Result()
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
		m1, e1 := msg("m1", "u1", "r1")
		m2, e2 := msg("m2", "u2", "")
		held, err := locks.Lock(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		q1 := d.SendDoneOnRelease(held, m1, e1, time.Hour, true)
		q2 := d.SendDoneOnRelease(held, m2, e2, time.Hour, false)
		if q1 != q2 {
			t.Fatalf("queued %v and %v on one lock", q1, q2)
		}
		_, single := rdb.(*goredis.Client)
		if q1 != single {
			t.Fatalf("queued on a single Redis %v: got %v", single, q1)
		}
		if _, err := held.(*redis.ChannelLock).AppendAllAndUnlock(ctx, "m2", []events.Entry{entry("m1"), entry("m2")}); err != nil {
			t.Fatal(err)
		}
		if !single {
			// Nothing queued, nothing done.
			if !pending(e1) || !pending(e2) || activities() != 0 {
				t.Fatal("steps ran on a cluster")
			}
			return
		}
		if id, err := r.Recall(ctx, "u1", "r1"); err != nil || id != "m1" {
			t.Errorf("request record: got %q, %v; want m1", id, err)
		}
		if pending(e1) || pending(e2) {
			t.Errorf("outbox: entries pending %v %v after the announcement", pending(e1), pending(e2))
		}
		if typingOpen("u1") || !typingOpen("u2") {
			t.Errorf("typing windows: u1 open %v (want closed), u2 open %v (want open)", typingOpen("u1"), typingOpen("u2"))
		}
		entries, err := rdb.XRange(ctx, keys.Key(events.Activity), "-", "+").Result()
		if err != nil || len(entries) != 2 {
			t.Fatalf("activity stream: %d entries, err %v; want 2", len(entries), err)
		}
		got, err := events.DecodeActivity(entries[0].Values)
		if err != nil {
			t.Fatal(err)
		}
		want := events.ActivityEntry{Kind: "message_created", UserID: "u1", ServerID: "s1", ChannelID: "c1", MessageID: "m1", Time: at}
		if !got.Time.Equal(want.Time) {
			t.Errorf("activity time: got %v, want %v", got.Time, want.Time)
		}
		got.Time = want.Time
		if got != want {
			t.Errorf("activity: got %+v, want %+v", got, want)
		}
		next, err := locks.Lock(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if next.LastID() != "m2" {
			t.Fatalf("last id after the append %q, want m2", next.LastID())
		}

		// A lost lock appends nothing and runs no step.
		m3, e3 := msg("m3", "u3", "r3")
		if !d.SendDoneOnRelease(next, m3, e3, time.Hour, true) {
			t.Fatal("not queued on a single Redis")
		}
		if err := rdb.Del(ctx, redis.LockKey(keys, scope, "c1")).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := next.(*redis.ChannelLock).AppendAllAndUnlock(ctx, "m3", []events.Entry{entry("m3")}); !errors.Is(err, chat.ErrLockLost) {
			t.Fatalf("append under a lost lock: %v, want ErrLockLost", err)
		}
		if !pending(e3) || !typingOpen("u3") || activities() != 2 {
			t.Error("a lost lock ran the steps queued on it")
		}
		if id, err := r.Recall(ctx, "u3", "r3"); err != nil || id != "" {
			t.Errorf("request record under a lost lock: got %q, %v; want none", id, err)
		}
	})
}

// TestLockAdding: on a single Redis the outbox entries go in with the lock
// (and the lock is taken as Lock takes it); on a cluster the lock is taken
// alone and nothing is added.
func TestLockAdding(t *testing.T) {
	platformtest.EachRedis(t, func(t *testing.T) {
		ctx := context.Background()
		rdb, prefix := platformtest.Redis(t)
		keys := redisx.NewKeyspace(prefix)
		o := redis.NewOutbox(rdb, keys)
		locks := redis.NewLocks(rdb, keys, platformtest.Logger(t), scopes)
		es := []chat.OutboxEntry{{ChannelID: "c1", MessageID: "m1"}, {ChannelID: "c1", MessageID: "m2"}}
		held, added, err := locks.LockAdding(ctx, "c1", es, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		_, single := rdb.(*goredis.Client)
		if added != single {
			t.Fatalf("added on a single Redis %v: got %v", single, added)
		}
		for _, e := range es {
			if ok, err := o.Pending(ctx, e); err != nil || ok != single {
				t.Fatalf("entry %v pending %v (err %v), want %v", e, ok, err, single)
			}
		}
		// The lock is held: another instance waits for it.
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if l, err := redis.NewLocks(rdb, keys, platformtest.Logger(t), scopes).Lock(wctx, "c1"); err == nil {
			l.Unlock("")
			t.Fatal("a second holder took the lock")
		}
		held.Unlock("m2")
		next, err := locks.Lock(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		defer next.Unlock("")
		if next.LastID() != "m2" {
			t.Fatalf("last id %q, want m2", next.LastID())
		}
	})
}
