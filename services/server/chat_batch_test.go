package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/server/internal/ids"
	iredis "github.com/accordchat/accord/services/server/internal/redis"
)

// TestSendGroupCommit: many goroutines send to one channel through two
// instances, so each instance gathers them into batches, with retries of
// one request racing inside a batch and coming again after it. History
// holds each request once, in strictly increasing ids, and the feed
// delivers exactly history, in its order, once each.
func TestSendGroupCommit(t *testing.T) {
	w := newWorld(t)
	inst := []client{w.instance(), w.instance()}
	owner := w.user("owner")
	srv := w.server(owner)
	ch := w.channel(srv)
	authors := []string{owner}
	for i := range 3 {
		u := w.user(fmt.Sprint("author", i))
		w.member(srv, u, serverv1.Role_ROLE_MEMBER)
		authors = append(authors, u)
	}
	s := openStream(t, inst[0], w.streamCtx(owner))
	s.awaitPing(t, w, owner, "ready")

	const senders, each = 16, 12
	var mu sync.Mutex
	byRequest := map[string]string{} // author/request id -> message id
	send := func(c client, author, req string) {
		r, err := c.SendMessage(w.ctx(author), &serverv1.SendMessageRequest{ChannelId: ch, Content: req, RequestId: req})
		if err != nil {
			t.Error(err)
			return
		}
		key := author + "/" + req
		mu.Lock()
		defer mu.Unlock()
		if id, ok := byRequest[key]; ok && id != r.GetMessage().GetId() {
			t.Errorf("request %s returned %s and %s", key, id, r.GetMessage().GetId())
		}
		byRequest[key] = r.GetMessage().GetId()
	}
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			author := authors[g%len(authors)]
			for k := range each {
				req := fmt.Sprint("g", g, "-", k)
				c := inst[(g+k)%2]
				if k%4 == 0 {
					// A retry racing the first attempt, through the same
					// instance: both land in one batch or in two.
					var pair sync.WaitGroup
					pair.Go(func() { send(c, author, req) })
					pair.Go(func() { send(c, author, req) })
					pair.Wait()
					continue
				}
				send(c, author, req)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Retries after their batches, through the other instance.
	for g := range senders {
		send(inst[(g+1)%2], authors[g%len(authors)], fmt.Sprint("g", g, "-", 0))
	}
	if len(byRequest) != senders*each {
		t.Fatalf("%d requests answered, want %d", len(byRequest), senders*each)
	}

	ms := history(t, inst[0], w.ctx(owner), ch)
	hist := make([]string, len(ms))
	for i, m := range ms {
		hist[len(ms)-1-i] = m.GetId() // oldest first
	}
	if len(hist) != senders*each {
		t.Fatalf("history holds %d messages, want %d", len(hist), senders*each)
	}
	for i := 1; i < len(hist); i++ {
		if hist[i] <= hist[i-1] {
			t.Fatalf("history ids not strictly increasing at %d: %s then %s", i, hist[i-1], hist[i])
		}
	}
	inHistory := map[string]bool{}
	for _, id := range hist {
		inHistory[id] = true
	}
	for key, id := range byRequest {
		if !inHistory[id] {
			t.Fatalf("request %s returned %s, not in history", key, id)
		}
	}
	platformtest.Eventually(t, 30*time.Second, func() bool { return len(s.created()) >= len(hist) }, "the feed to deliver every message")
	var feed []string
	for _, m := range s.created() {
		feed = append(feed, m.GetId())
	}
	if !slices.Equal(feed, hist) {
		t.Fatalf("feed (%d events) differs from history (%d messages) in content or order", len(feed), len(hist))
	}
}

// failAppends fails every event append under a channel lock (the script
// calls whose third key of three or more is the stream key) while on.
type failAppends struct {
	stream atomic.Value // string
	on     atomic.Bool
	failed atomic.Int64
}

func (f *failAppends) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f *failAppends) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (f *failAppends) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		// The append scripts' third key is the stream (more keys follow
		// when commands run after the release: redis.ChannelLock.Then).
		nkeys, _ := strconv.Atoi(fmt.Sprint(args[min(2, len(args)-1)]))
		if f.on.Load() && (cmd.Name() == "evalsha" || cmd.Name() == "eval") && len(args) > 5 &&
			nkeys >= 3 && fmt.Sprint(args[5]) == f.stream.Load() {
			f.failed.Add(1)
			err := errors.New("injected append failure")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

// TestSendBatchAppendFailure: the appends of concurrent sends to one
// channel fail after their batches were stored. The sends succeed (the
// messages are stored), nothing stored goes unannounced: the outbox's
// sweeper announces each message once, and the outbox empties.
func TestSendBatchAppendFailure(t *testing.T) {
	w := newWorld(t, func(o *server.Options) {
		o.Chat.OutboxInterval, o.Chat.OutboxGrace = 20*time.Millisecond, 0
	})
	opts, err := redis.ParseURL(platformtest.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	w.rdb = redis.NewClient(opts)
	t.Cleanup(func() { _ = w.rdb.Close() })
	hook := &failAppends{}
	w.rdb.AddHook(hook)
	c := w.instance()
	alice := w.user("alice")
	sid := w.server(alice)
	cid := w.channel(sid)
	hook.stream.Store(w.log.Key(events.ServerScope(sid)))
	hook.on.Store(true)

	const senders, each = 8, 6
	var mu sync.Mutex
	var sent []string
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for k := range each {
				r, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: cid, Content: "x", RequestId: fmt.Sprint(g, "-", k)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				sent = append(sent, r.GetMessage().GetId())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	hook.on.Store(false)
	if t.Failed() {
		return
	}
	if hook.failed.Load() == 0 {
		t.Fatal("no append failed")
	}
	platformtest.Eventually(t, 30*time.Second, func() bool {
		n, _ := w.env.Redis.ZCard(context.Background(), iredis.OutboxKey(w.env.Keys)).Result()
		return n == 0
	}, "the outbox to empty")
	for _, id := range sent {
		oid, err := bson.ObjectIDFromHex(id)
		if err != nil {
			t.Fatal(err)
		}
		if n := announced(t, w, sid, oid); n != 1 {
			t.Fatalf("message %s announced %d times, want once", id, n)
		}
	}
	if got := len(history(t, c, w.ctx(alice), cid)); got != senders*each {
		t.Fatalf("history holds %d messages, want %d", got, senders*each)
	}
}

// TestSendAfterALaterLastID: the channel's last id is ahead of this
// instance's clock (another instance with a faster one sent there), so the
// ids allocated before the lock (whose outbox entries went in with it) do
// not stand: the send allocates after the last id, and the outbox keeps
// nothing of the first ids.
func TestSendAfterALaterLastID(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	alice := w.user("alice")
	sid := w.server(alice)
	cid := w.channel(sid)
	later := ids.At(time.Now().Add(time.Hour))
	ctx := context.Background()
	if err := w.env.Redis.Set(ctx, iredis.LastKey(w.env.Keys, events.ServerScope(sid), cid), later, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	for k := range 3 {
		r, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: cid, Content: "x", RequestId: fmt.Sprint("r", k)})
		if err != nil {
			t.Fatal(err)
		}
		if id := r.GetMessage().GetId(); id <= later {
			t.Fatalf("message id %s does not follow the channel's last id %s", id, later)
		}
		later = r.GetMessage().GetId()
	}
	if n, err := w.env.Redis.ZCard(ctx, iredis.OutboxKey(w.env.Keys)).Result(); err != nil || n != 0 {
		t.Fatalf("outbox holds %d entries (err %v), want none", n, err)
	}
	if got := len(history(t, c, w.ctx(alice), cid)); got != 3 {
		t.Fatalf("history holds %d messages, want 3", got)
	}
}
