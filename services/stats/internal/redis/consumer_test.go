package redis_test

import (
	"context"
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
