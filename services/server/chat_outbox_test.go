package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/grpcapi"
	"github.com/accordchat/accord/services/server/internal/ids"
	iredis "github.com/accordchat/accord/services/server/internal/redis"
)

// crashAfterInsert leaves the state a sender leaves when it dies between the
// insert and the event append: the message stored and in the outbox. It
// writes them as a sender does, under the channel's lock: a sweeper that
// ran between the outbox entry and the insert would otherwise find no
// message, rightly drop the entry as never stored, and leave the message
// unannounced for good (that race, not the product, made the sweeper test
// time out on a busy machine).
func crashAfterInsert(t *testing.T, w *world, serverID, channelID, authorID, requestID string) bson.ObjectID {
	t.Helper()
	lock, m := stallAfterInsert(t, w, serverID, channelID, authorID, requestID)
	// The lock's holder dies: its lock expires (here: is released at once).
	lock.Unlock(m.ID)
	id, err := bson.ObjectIDFromHex(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// stallAfterInsert leaves a sender stalled between the insert and the
// append: the message stored and in the outbox, the channel's lock held.
func stallAfterInsert(t *testing.T, w *world, serverID, channelID, authorID, requestID string) (chat.ChannelLock, chat.Message) {
	t.Helper()
	ctx := context.Background()
	scope := func(context.Context, string) (string, error) { return events.ServerScope(serverID), nil }
	lock, err := iredis.NewLocks(w.env.Redis, w.env.Keys, platformtest.Logger(t), scope).Lock(ctx, channelID)
	if err != nil {
		t.Fatal(err)
	}
	id, err := bson.ObjectIDFromHex(ids.After(lock.LastID()))
	if err != nil {
		t.Fatal(err)
	}
	m := chat.Message{ID: id.Hex(), ServerID: serverID, ChannelID: channelID, AuthorID: authorID, Content: "stranded",
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond), RequestID: requestID}
	if err := iredis.NewOutbox(w.env.Redis, w.env.Keys).Add(ctx, chat.OutboxEntry{ChannelID: channelID, MessageID: id.Hex()}, time.Now()); err != nil {
		t.Fatal(err)
	}
	w.store(m)
	return lock, m
}

// announced counts the message_created events of a message in the server's log.
func announced(t *testing.T, w *world, serverID string, id bson.ObjectID) int {
	t.Helper()
	scope := events.ServerScope(serverID)
	msgs, err := w.env.Redis.XRange(context.Background(), w.log.Key(scope), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if ev, err := events.Decode(scope, m); err == nil && ev.GetMessageCreated().GetId() == id.Hex() {
			n++
		}
	}
	return n
}

func TestOutbox(t *testing.T) {
	t.Run("a retry announces what a dead sender stored", func(t *testing.T) {
		w := newWorld(t)
		c := w.instance()
		alice := w.user("alice")
		sid := w.server(alice)
		cid := w.channel(sid)
		id := crashAfterInsert(t, w, sid, cid, alice, "req-1")
		for range 2 {
			res, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: cid, Content: "stranded", RequestId: "req-1"})
			if err != nil {
				t.Fatal(err)
			}
			if res.GetMessage().GetId() != id.Hex() {
				t.Fatalf("retry returned %s, want the stored %s", res.GetMessage().GetId(), id.Hex())
			}
		}
		if n := announced(t, w, sid, id); n != 1 {
			t.Fatalf("announced %d times, want once", n)
		}
	})
	t.Run("the sweeper announces what nobody retried", func(t *testing.T) {
		w := newWorld(t, func(o *server.Options) {
			o.Chat.OutboxInterval, o.Chat.OutboxGrace = 20*time.Millisecond, 0
		})
		w.instance()
		alice := w.user("alice")
		sid := w.server(alice)
		cid := w.channel(sid)
		id := crashAfterInsert(t, w, sid, cid, alice, "req-2")
		platformtest.Eventually(t, 10*time.Second, func() bool { return announced(t, w, sid, id) == 1 }, "the stranded message to be announced")
		platformtest.Eventually(t, 10*time.Second, func() bool {
			n, _ := w.env.Redis.ZCard(context.Background(), iredis.OutboxKey(w.env.Keys)).Result()
			return n == 0
		}, "the outbox to empty")
		if n := announced(t, w, sid, id); n != 1 {
			t.Fatalf("announced %d times, want once", n)
		}
	})
	t.Run("a sender that died after the append is not announced twice", func(t *testing.T) {
		w := newWorld(t, func(o *server.Options) {
			o.Chat.OutboxInterval, o.Chat.OutboxGrace = 20*time.Millisecond, 0
		})
		alice := w.user("alice")
		sid := w.server(alice)
		cid := w.channel(sid)
		id := crashAfterInsert(t, w, sid, cid, alice, "req-3")
		ev := &eventsv1.Event{Payload: &eventsv1.Event_MessageCreated{MessageCreated: &serverv1.Message{Id: id.Hex(), ChannelId: cid, ServerId: sid}}}
		if _, err := w.log.Append(context.Background(), events.ServerScope(sid), ev); err != nil {
			t.Fatal(err)
		}
		w.instance()
		platformtest.Eventually(t, 10*time.Second, func() bool {
			n, _ := w.env.Redis.ZCard(context.Background(), iredis.OutboxKey(w.env.Keys)).Result()
			return n == 0
		}, "the outbox to empty")
		if n := announced(t, w, sid, id); n != 1 {
			t.Fatalf("announced %d times, want once", n)
		}
	})
	t.Run("a sender that stalled past its lock's lifetime is not announced twice", func(t *testing.T) {
		w := newWorld(t)
		c := w.instance()
		alice := w.user("alice")
		sid := w.server(alice)
		cid := w.channel(sid)
		lock, m := stallAfterInsert(t, w, sid, cid, alice, "req-4")
		id, _ := bson.ObjectIDFromHex(m.ID)
		// The lock expires while its holder stalls; the client's retry
		// finds the message stored and announces it.
		if err := w.env.Redis.Del(context.Background(), iredis.LockKey(w.env.Keys, events.ServerScope(sid), cid)).Err(); err != nil {
			t.Fatal(err)
		}
		res, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: cid, Content: "stranded", RequestId: "req-4"})
		if err != nil {
			t.Fatal(err)
		}
		if res.GetMessage().GetId() != m.ID {
			t.Fatalf("retry returned %s, want the stored %s", res.GetMessage().GetId(), m.ID)
		}
		if n := announced(t, w, sid, id); n != 1 {
			t.Fatalf("announced %d times after the retry, want once", n)
		}
		// The stalled sender wakes and appends under its expired lock.
		ev := grpcapi.Events{Log: w.log, Redis: w.env.Redis, Keys: w.env.Keys}
		err = ev.MessageCreated(context.Background(), chat.View{Message: m}, lock)
		if !errors.Is(err, chat.ErrLockLost) {
			t.Fatalf("append under the expired lock: %v, want ErrLockLost", err)
		}
		if n := announced(t, w, sid, id); n != 1 {
			t.Fatalf("announced %d times, want once", n)
		}
	})
	t.Run("a conflict that stored nothing of the request is retryable", func(t *testing.T) {
		w := newWorld(t)
		c := w.instance()
		alice := w.user("alice")
		sid := w.server(alice)
		cid := w.channel(sid)
		// The id the next send allocates is already taken by another message
		// (the remains of a different request).
		last := "7fffffff0000000000000000"
		if err := w.env.Redis.Set(context.Background(), iredis.LastKey(w.env.Keys, events.ServerScope(sid), cid), last, 0).Err(); err != nil {
			t.Fatal(err)
		}
		next := ids.After(last)
		w.store(chat.Message{ID: next, ServerID: sid, ChannelID: cid, AuthorID: alice, Content: "other",
			CreatedAt: time.Now().UTC().Truncate(time.Millisecond), RequestID: "req-other"})
		_, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: cid, Content: "mine", RequestId: "req-5"})
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("send over a taken id: %v, want UNAVAILABLE (retryable)", err)
		}
		id, _ := bson.ObjectIDFromHex(next)
		if n := announced(t, w, sid, id); n != 0 {
			t.Fatalf("the other message was announced %d times", n)
		}
		// The retry allocates a fresh id and stores the message once.
		res, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: cid, Content: "mine", RequestId: "req-5"})
		if err != nil {
			t.Fatal(err)
		}
		if res.GetMessage().GetId() == next || res.GetMessage().GetContent() != "mine" {
			t.Fatalf("retry stored %s %q", res.GetMessage().GetId(), res.GetMessage().GetContent())
		}
	})
}
