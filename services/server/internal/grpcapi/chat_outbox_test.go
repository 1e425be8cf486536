package grpcapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/internal/access"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/grpcapi"
)

// crashAfterInsert leaves the state a sender leaves when it dies between the
// insert and the event append: the message stored and in the outbox.
func crashAfterInsert(t *testing.T, w *world, serverID, channelID, authorID, requestID string) bson.ObjectID {
	t.Helper()
	ctx := context.Background()
	id := bson.NewObjectID()
	doc := chat.MessageDoc{ID: id, ServerID: serverID, ChannelID: channelID, AuthorID: authorID, Content: "stranded",
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond), RequestID: requestID, RequestKey: authorID + "/" + requestID}
	if err := w.env.Redis.ZAdd(ctx, w.env.Prefix+"chat:outbox", redis.Z{Score: float64(time.Now().UnixMilli()), Member: channelID + "/" + id.Hex()}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.env.DB.Collection(access.Messages).InsertOne(ctx, doc); err != nil {
		t.Fatal(err)
	}
	return id
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
		w := newWorld(t, func(o *grpcapi.ChatOptions) {
			o.Chat.OutboxInterval, o.Chat.OutboxGrace = 20*time.Millisecond, 0
		})
		w.instance()
		alice := w.user("alice")
		sid := w.server(alice)
		cid := w.channel(sid)
		id := crashAfterInsert(t, w, sid, cid, alice, "req-2")
		platformtest.Eventually(t, 10*time.Second, func() bool { return announced(t, w, sid, id) == 1 }, "the stranded message to be announced")
		platformtest.Eventually(t, 10*time.Second, func() bool {
			n, _ := w.env.Redis.ZCard(context.Background(), w.env.Prefix+"chat:outbox").Result()
			return n == 0
		}, "the outbox to empty")
		if n := announced(t, w, sid, id); n != 1 {
			t.Fatalf("announced %d times, want once", n)
		}
	})
	t.Run("a sender that died after the append is not announced twice", func(t *testing.T) {
		w := newWorld(t, func(o *grpcapi.ChatOptions) {
			o.Chat.OutboxInterval, o.Chat.OutboxGrace = 20*time.Millisecond, 0
		})
		alice := w.user("alice")
		sid := w.server(alice)
		cid := w.channel(sid)
		id := crashAfterInsert(t, w, sid, cid, alice, "req-3")
		ev := &serverv1.Event{Payload: &serverv1.Event_MessageCreated{MessageCreated: &serverv1.Message{Id: id.Hex(), ChannelId: cid, ServerId: sid}}}
		if _, err := w.log.Append(context.Background(), events.ServerScope(sid), ev); err != nil {
			t.Fatal(err)
		}
		w.instance()
		platformtest.Eventually(t, 10*time.Second, func() bool {
			n, _ := w.env.Redis.ZCard(context.Background(), w.env.Prefix+"chat:outbox").Result()
			return n == 0
		}, "the outbox to empty")
		if n := announced(t, w, sid, id); n != 1 {
			t.Fatalf("announced %d times, want once", n)
		}
	})
}
