package server_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/ids"
	imongo "github.com/accordchat/accord/services/server/internal/mongo"
)

// BenchmarkSend compares SendMessage through gRPC (membership check, rate
// limit off, channel lock, insert, event and activity appends) with a raw
// InsertOne of the same document shape into the same store. Parallel senders
// spread over 8 channels, then all on one.
func BenchmarkSend(b *testing.B) {
	w := newWorld(b)
	c := w.instance()
	alice := w.user("Alice")
	srv := w.server(alice)
	chans := make([]string, 8)
	for i := range chans {
		chans[i] = w.channel(srv)
	}
	b.Run("raw_insert", func(b *testing.B) {
		if !w.db.onMongo() {
			// The store's own insert, one statement per message.
			var n atomic.Int64
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := n.Add(1)
					m := chat.Message{ID: ids.New(), ServerID: srv, ChannelID: "raw" + chans[k%8], AuthorID: alice, Content: "hello there", CreatedAt: time.Now()}
					if err := w.db.Messages.CreateMessage(context.Background(), m); err != nil {
						b.Error(err)
					}
				}
			})
			return
		}
		coll := w.env.DB.Collection("raw_messages")
		if err := mongox.EnsureIndexes(context.Background(), w.env.DB, []mongox.Index{{Collection: "raw_messages", Model: mongo.IndexModel{Keys: bson.D{{Key: "channel_id", Value: 1}, {Key: "_id", Value: 1}}}}}); err != nil {
			b.Fatal(err)
		}
		var n atomic.Int64
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := n.Add(1)
				_, err := coll.InsertOne(context.Background(), messageDoc{
					ID: bson.NewObjectID(), ServerID: srv, ChannelID: chans[k%8], AuthorID: alice,
					Content: "hello there", CreatedAt: time.Now()})
				if err != nil {
					b.Error(err)
				}
			}
		})
	})
	b.Run("send_message", func(b *testing.B) {
		ctx := w.ctx(alice)
		var n atomic.Int64
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := n.Add(1)
				if _, err := c.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: chans[k%8], Content: "hello there"}); err != nil {
					b.Error(err)
				}
			}
		})
	})
	// Sends to one channel share its lock in batches (group commit): this
	// is the most one busy channel takes.
	b.Run("send_one_channel", func(b *testing.B) {
		ctx := w.ctx(alice)
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: chans[0], Content: "hello there"}); err != nil {
					b.Error(err)
				}
			}
		})
	})
}

// BenchmarkHistoryPage measures the newest page and a page deep in the
// past of a channel with 1k messages and of one with 100k: with paging by
// (channel_id, _id) both cost the same.
func BenchmarkHistoryPage(b *testing.B) {
	w := newWorld(b)
	c := w.instance()
	alice := w.user("Alice")
	srv := w.server(alice)
	for _, size := range []int{1_000, 100_000} {
		ch := w.channel(srv)
		// Another channel's messages interleave, as in a real database.
		noise := w.channel(srv)
		ids := fill(b, w, srv, ch, noise, alice, size)
		ctx := w.ctx(alice)
		b.Run(fmt.Sprintf("%d/newest", size), func(b *testing.B) {
			for b.Loop() {
				r, err := c.ListMessages(ctx, &serverv1.ListMessagesRequest{ChannelId: ch})
				if err != nil || len(r.GetMessages()) != 50 {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%d/middle", size), func(b *testing.B) {
			before := ids[len(ids)/2]
			for b.Loop() {
				r, err := c.ListMessages(ctx, &serverv1.ListMessagesRequest{ChannelId: ch, Before: before})
				if err != nil || len(r.GetMessages()) != 50 {
					b.Fatal(err)
				}
			}
		})
	}
}

// fill writes size messages to ch (and size/10 to noise) in bulk.
func fill(b *testing.B, w *world, srv, ch, noise, author string, size int) []string {
	b.Helper()
	if !w.db.onMongo() {
		var out []string
		for i := range size {
			m := chat.Message{ID: bson.NewObjectID().Hex(), ServerID: srv, ChannelID: ch, AuthorID: author, Content: fmt.Sprint("message ", i), CreatedAt: time.Now()}
			out = append(out, m.ID)
			w.store(m)
			if i%10 == 0 {
				w.store(chat.Message{ID: bson.NewObjectID().Hex(), ServerID: srv, ChannelID: noise, AuthorID: author, Content: "noise", CreatedAt: time.Now()})
			}
		}
		return out
	}
	coll := w.env.DB.Collection(imongo.MessagesCollection)
	ids := make([]string, 0, size)
	batch := make([]any, 0, 1000)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := coll.InsertMany(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range size {
		d := messageDoc{ID: bson.NewObjectID(), ServerID: srv, ChannelID: ch, AuthorID: author, Content: fmt.Sprint("message ", i), CreatedAt: time.Now()}
		ids = append(ids, d.ID.Hex())
		batch = append(batch, d)
		if i%10 == 0 {
			batch = append(batch, messageDoc{ID: bson.NewObjectID(), ServerID: srv, ChannelID: noise, AuthorID: author, Content: "noise", CreatedAt: time.Now()})
		}
		if len(batch) >= 1000 {
			flush()
		}
	}
	flush()
	return ids
}

// BenchmarkFanout sends messages to one server whose N members each hold a
// stream, and reports deliveries per second, send-to-receive latency
// percentiles and lost deliveries (must be 0).
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint("streams=", n), func(b *testing.B) { fanout(b, n) })
	}
}

func fanout(b *testing.B, n int) {
	w := newWorld(b, func(o *server.Options) {
		fo := *o.Feed
		fo.QueueLen = 4096
		o.Feed = &fo
	})
	c := w.instance()
	owner := w.user("Owner")
	srv := w.server(owner)
	ch := w.channel(srv)
	var lat []time.Duration
	var mu sync.Mutex
	var received atomic.Int64
	users := make([]string, n)
	ready := make(chan struct{}, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var streamErr atomic.Pointer[error]
	setup := time.Now()
	for i := range users {
		users[i] = w.user(fmt.Sprint("u", i))
		w.member(srv, users[i], serverv1.Role_ROLE_MEMBER)
	}
	got := 0
	// Typing from the owner proves a stream subscribed.
	awaitReady := func(upto int) {
		for got < upto {
			if e := streamErr.Load(); e != nil {
				b.Fatalf("a stream ended after %d were live: %v", got, *e)
			}
			if _, err := c.SendTyping(w.ctx(owner), &serverv1.SendTypingRequest{ChannelId: ch}); err != nil {
				b.Fatal(err)
			}
			// Drain every ready stream before typing again.
			for drained := false; !drained && got < upto; {
				select {
				case <-ready:
					got++
				case <-time.After(50 * time.Millisecond):
					drained = true
				}
			}
		}
	}
	// Streams connect in waves of 100: a thousand at once is a reconnect
	// storm, which the embedded test database answers too slowly.
	for i := range users {
		st, err := c.StreamEvents(auth.WithBearer(ctx, w.tokens[users[i]]), &eventsv1.StreamEventsRequest{})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for {
				r, err := st.Recv()
				if err != nil {
					if ctx.Err() == nil {
						streamErr.CompareAndSwap(nil, &err)
					}
					return
				}
				if first {
					first = false
					ready <- struct{}{}
				}
				if m := r.GetEvent().GetMessageCreated(); m != nil {
					d := time.Since(m.GetCreateTime().AsTime())
					received.Add(1)
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}
		}()
		if (i+1)%100 == 0 || i == n-1 {
			awaitReady(i + 1)
		}
	}
	b.Logf("n=%d: all live after %v", n, time.Since(setup))
	b.ResetTimer()
	start := time.Now()
	sent := 0
	for b.Loop() {
		if _, err := c.SendMessage(w.ctx(owner), &serverv1.SendMessageRequest{ChannelId: ch, Content: "fan out"}); err != nil {
			b.Fatal(err)
		}
		sent++
	}
	want := int64(sent * n)
	deadline := time.Now().Add(60 * time.Second)
	for received.Load() < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	b.ReportMetric(float64(received.Load())/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(want-received.Load()), "lost")
}
