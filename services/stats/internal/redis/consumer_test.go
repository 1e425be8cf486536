package redis_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/stats/internal/redis"
	"github.com/accordchat/accord/services/stats/internal/reports"
)

func TestRedeliveryCountsOnce(t *testing.T) { platformtest.EachRedis(t, testRedeliveryCountsOnce) }

func testRedeliveryCountsOnce(t *testing.T) {
	env := platformtest.New(t)
	store := redis.New(env.Redis, env.Keys)
	now := reports.DayStart(time.Now()).Add(12 * time.Hour)
	ctx := context.Background()
	c := redis.NewConsumer(store, env.Log, "crashed")
	if err := c.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	user, server := platformtest.NewID(), platformtest.NewID()
	for range 3 {
		if err := events.AppendActivity(ctx, env.Redis, env.Keys, events.ActivityEntry{
			Kind: redis.KindMessageCreated, UserID: user, ServerID: server, MessageID: platformtest.NewID(), Time: now,
		}, 1000); err != nil {
			t.Fatal(err)
		}
	}
	// A consumer reads the entries and dies before counting them.
	res, err := env.Redis.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group: redis.Group, Consumer: "crashed", Streams: []string{env.Prefix + events.Activity, ">"}, Count: 10,
	}).Result()
	if err != nil || len(res[0].Messages) != 3 {
		t.Fatalf("read: %v %v", res, err)
	}
	var batch []redis.StreamEntry
	for _, m := range res[0].Messages {
		e, err := redis.ParseActivity(m.Values)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, redis.StreamEntry{Stream: env.Prefix + events.Activity, ID: m.ID, Entry: &e})
	}
	// Another consumer claims them once they have been idle long enough.
	next := redis.NewConsumer(store, env.Log, "next")
	next.ClaimIdle, next.Block, next.Now = time.Millisecond, 10*time.Millisecond, func() time.Time { return now }
	time.Sleep(5 * time.Millisecond) // let the entries become idle; bounded, not a wait for a result
	if err := next.Step(ctx); err != nil {
		t.Fatal(err)
	}
	// The crashed consumer's late attempt, and a plain repeat, count nothing.
	for range 2 {
		n, err := store.ApplyStream(ctx, redis.Group, batch, now)
		if err != nil || n != 0 {
			t.Fatalf("repeat counted %d (%v), want 0", n, err)
		}
	}
	top, err := store.TopUsers(ctx, reports.Messages, reports.All, "", now, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 1 || top[0].Count != 3 {
		t.Fatalf("got %v, want %s with 3", top, user)
	}
}

// TestBatchCountsEachEntryOnce applies, in one call, entries sharing their
// keys (one user's messages in one hour), an entry twice, a creation and
// its deletion, a malformed entry and a connection, into materialized
// windows read before; then the same batch again.
func TestBatchCountsEachEntryOnce(t *testing.T) {
	platformtest.EachRedis(t, testBatchCountsEachEntryOnce)
}

func testBatchCountsEachEntryOnce(t *testing.T) {
	env := platformtest.New(t)
	store := redis.New(env.Redis, env.Keys)
	now := reports.DayStart(time.Now()).Add(12 * time.Hour)
	ctx := context.Background()
	c := redis.NewConsumer(store, env.Log, "c")
	if err := c.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	activity, connections := env.Keys.Key(events.Activity), env.Keys.Key(events.Connections)
	alice, bob, server := platformtest.NewID(), platformtest.NewID(), platformtest.NewID()
	appendActivity := func(kind, user string) {
		t.Helper()
		if err := events.AppendActivity(ctx, env.Redis, env.Keys, events.ActivityEntry{
			Kind: kind, UserID: user, ServerID: server, MessageID: platformtest.NewID(), Time: now,
		}, 1000); err != nil {
			t.Fatal(err)
		}
	}
	// read takes the new entries of both streams, as the consumer would.
	read := func() []redis.StreamEntry {
		t.Helper()
		res, err := env.Redis.XReadGroup(ctx, &goredis.XReadGroupArgs{
			Group: redis.Group, Consumer: "c", Streams: []string{activity, connections, ">", ">"}, Count: 100,
		}).Result()
		if err != nil {
			t.Fatal(err)
		}
		var batch []redis.StreamEntry
		for _, st := range res {
			for _, m := range st.Messages {
				parse := redis.ParseActivity
				if st.Stream == connections {
					parse = redis.ParseConnection
				}
				se := redis.StreamEntry{Stream: st.Stream, ID: m.ID}
				if e, err := parse(m.Values); err == nil {
					se.Entry = &e
				}
				batch = append(batch, se)
			}
		}
		return batch
	}
	top := func(w reports.Window) map[string]int64 {
		t.Helper()
		got, err := store.TopUsers(ctx, reports.Messages, w, "", now, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, c := range got {
			out[c.ID] = c.Count
		}
		return out
	}

	// One message of alice's, with the windows read (materialized) after.
	appendActivity(redis.KindMessageCreated, alice)
	if n, err := store.ApplyStream(ctx, redis.Group, read(), now); err != nil || n != 1 {
		t.Fatalf("first batch counted %d (%v), want 1", n, err)
	}
	for _, w := range []reports.Window{reports.Day, reports.Week, reports.Month} {
		if got := top(w); got[alice] != 1 || len(got) != 1 {
			t.Fatalf("%v before the batch: %v", w, got)
		}
	}

	for range 3 {
		appendActivity(redis.KindMessageCreated, alice)
	}
	appendActivity(redis.KindMessageCreated, bob)
	appendActivity(redis.KindMessageDeleted, bob)
	appendActivity(redis.KindMessageDeleted, alice)
	if err := env.Redis.XAdd(ctx, &goredis.XAddArgs{Stream: activity, Values: []any{"kind", "nonsense"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := env.Redis.XAdd(ctx, &goredis.XAddArgs{Stream: connections, Values: []any{
		"user_id", alice, "session_id", "s", "client", "web", "ts", now.UnixMilli(),
	}}).Err(); err != nil {
		t.Fatal(err)
	}
	batch := read()
	if len(batch) != 8 || batch[6].Entry != nil {
		t.Fatalf("read %d entries (%+v), want 8 with the seventh malformed", len(batch), batch)
	}
	batch = append(batch, batch[0]) // delivered twice
	if n, err := store.ApplyStream(ctx, redis.Group, batch, now); err != nil || n != 7 {
		t.Fatalf("batch counted %d (%v), want 7", n, err)
	}
	if n, err := store.ApplyStream(ctx, redis.Group, batch, now); err != nil || n != 0 {
		t.Fatalf("repeat counted %d (%v), want 0", n, err)
	}
	pending, err := env.Redis.XPending(ctx, activity, redis.Group).Result()
	if err != nil || pending.Count != 0 {
		t.Fatalf("pending %+v (%v), want none", pending, err)
	}

	// alice: 1 + 3 - 1; bob's message and its deletion leave no member.
	for _, w := range []reports.Window{reports.Day, reports.Week, reports.Month, reports.All} {
		if got := top(w); got[alice] != 3 || len(got) != 1 {
			t.Fatalf("%v: %v, want %s with 3 only", w, got, alice)
		}
	}
	servers, err := store.TopServers(ctx, reports.All, now, 0, 10)
	if err != nil || len(servers) != 1 || servers[0].Count != 3 {
		t.Fatalf("servers %v (%v), want %s with 3", servers, err, server)
	}
	conns, err := store.TopUsers(ctx, reports.Connections, reports.All, "", now, 0, 10)
	if err != nil || len(conns) != 1 || conns[0].ID != alice || conns[0].Count != 1 {
		t.Fatalf("connections %v (%v), want %s with 1", conns, err, alice)
	}
	series, err := store.Series(ctx, reports.SeriesQuery{Metric: reports.Messages, Window: reports.Day, Hourly: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, p := range series {
		sum += p.Count
	}
	if sum != 3 {
		t.Fatalf("hourly series sums to %d, want 3: %v", sum, series)
	}
	// The hour's key expires when its retention ends, not never.
	hourKey := env.Keys.Key("stats:", events.StatsTag, ":v") + "0:mu:h:" + reports.HourID(now)
	ttl, err := env.Redis.TTL(ctx, hourKey).Result()
	if err != nil || ttl <= 0 {
		t.Fatalf("ttl of %s: %v (%v), want one", hourKey, ttl, err)
	}
}

// batchLog records the sizes of the batches a consumer logs applying.
type batchLog struct {
	mu    sync.Mutex
	sizes []int64
}

func (b *batchLog) Enabled(context.Context, slog.Level) bool { return true }
func (b *batchLog) WithAttrs([]slog.Attr) slog.Handler       { return b }
func (b *batchLog) WithGroup(string) slog.Handler            { return b }
func (b *batchLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "counted stream entries" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "entries" {
			b.mu.Lock()
			b.sizes = append(b.sizes, a.Value.Int64())
			b.mu.Unlock()
		}
		return true
	})
	return nil
}

func (b *batchLog) get() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sizes)
}

// After a small batch the consumer waits Linger, so entries that arrive
// meanwhile are counted together, in one batch.
func TestLingerGathersATrickleIntoOneBatch(t *testing.T) {
	env := platformtest.New(t)
	store := redis.New(env.Redis, env.Keys)
	now := reports.DayStart(time.Now()).Add(12 * time.Hour)
	log := &batchLog{}
	c := redis.NewConsumer(store, slog.New(log), "c")
	c.Block, c.Linger, c.Now = 10*time.Millisecond, 3*time.Second, func() time.Time { return now }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	user := platformtest.NewID()
	send := func(n int) {
		t.Helper()
		for range n {
			if err := events.AppendActivity(ctx, env.Redis, env.Keys, events.ActivityEntry{
				Kind: redis.KindMessageCreated, UserID: user, ServerID: platformtest.NewID(), MessageID: platformtest.NewID(), Time: now,
			}, 1000); err != nil {
				t.Fatal(err)
			}
		}
	}
	counted := func(n int64) func() bool {
		return func() bool {
			top, err := store.TopUsers(ctx, reports.Messages, reports.All, "", now, 0, 1)
			return err == nil && len(top) == 1 && top[0].Count == n
		}
	}
	// The stream and group exist once Run has set them up.
	platformtest.Eventually(t, 10*time.Second, func() bool {
		return env.Redis.XInfoGroups(ctx, env.Keys.Key(events.Activity)).Err() == nil
	})
	send(1)
	platformtest.Eventually(t, 10*time.Second, counted(1))
	send(3)
	platformtest.Eventually(t, 10*time.Second, counted(4))
	// The batch is logged after its script returns.
	platformtest.Eventually(t, 10*time.Second, func() bool { return len(log.get()) >= 2 })
	if got := log.get(); !slices.Equal(got, []int64{1, 3}) {
		t.Errorf("batches of %v entries, want [1 3] (the first entry, then the three that came during the linger)", got)
	}
}
