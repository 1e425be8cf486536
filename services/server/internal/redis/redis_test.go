package redis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/redis"
	"github.com/accordchat/accord/services/server/internal/storetest"
)

// The chat ports' contract suites on the real Redis at ACCORD_REDIS_URL
// and on the test Redis Cluster (platformtest.EachRedis), each test under
// its own key prefix.

// scopes puts every channel "cN" in server "sN"'s scope.
func scopes(_ context.Context, channelID string) (string, error) {
	return events.ServerScope("s" + strings.TrimPrefix(channelID, "c")), nil
}

func TestOutbox(t *testing.T) {
	platformtest.EachRedis(t, func(t *testing.T) {
		storetest.TestOutbox(t, func(t *testing.T) chat.Outbox {
			rdb, prefix := platformtest.Redis(t)
			return redis.NewOutbox(rdb, redisx.NewKeyspace(prefix))
		})
	})
}

// TestOutboxDepth counts what the outbox holds, for the outbox-depth gauge.
func TestOutboxDepth(t *testing.T) {
	platformtest.EachRedis(t, func(t *testing.T) {
		rdb, prefix := platformtest.Redis(t)
		o := redis.NewOutbox(rdb, redisx.NewKeyspace(prefix))
		ctx := context.Background()
		depth := func() int64 {
			t.Helper()
			n, err := o.Depth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if got := depth(); got != 0 {
			t.Fatalf("empty outbox depth = %d", got)
		}
		a, b := chat.OutboxEntry{ChannelID: "c1", MessageID: "m1"}, chat.OutboxEntry{ChannelID: "c1", MessageID: "m2"}
		for _, e := range []chat.OutboxEntry{a, b} {
			if err := o.Add(ctx, e, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if got := depth(); got != 2 {
			t.Errorf("depth = %d, want 2", got)
		}
		if err := o.Remove(ctx, a); err != nil {
			t.Fatal(err)
		}
		if got := depth(); got != 1 {
			t.Errorf("depth after a removal = %d, want 1", got)
		}
	})
}

func TestChannelLocks(t *testing.T) {
	platformtest.EachRedis(t, func(t *testing.T) {
		storetest.TestChannelLocks(t, func(t *testing.T) chat.ChannelLocks {
			rdb, prefix := platformtest.Redis(t)
			return redis.NewLocks(rdb, redisx.NewKeyspace(prefix), platformtest.Logger(t), scopes)
		})
	})
}

// TestChannelLocksAcrossInstances runs the lock suite with every Lock call
// on a new Locks value, as instances of the service each have their own:
// only the shared Redis lock excludes them.
func TestChannelLocksAcrossInstances(t *testing.T) {
	platformtest.EachRedis(t, func(t *testing.T) {
		storetest.TestChannelLocks(t, func(t *testing.T) chat.ChannelLocks {
			rdb, prefix := platformtest.Redis(t)
			return instances(func() chat.ChannelLocks {
				return redis.NewLocks(rdb, redisx.NewKeyspace(prefix), platformtest.Logger(t), scopes)
			})
		})
	})
}

type instances func() chat.ChannelLocks

func (f instances) Lock(ctx context.Context, channelID string) (chat.ChannelLock, error) {
	return f().Lock(ctx, channelID)
}

func TestRateLimiter(t *testing.T) {
	platformtest.EachRedis(t, func(t *testing.T) {
		storetest.TestRateLimiter(t, func(t *testing.T) chat.RateLimiter {
			rdb, prefix := platformtest.Redis(t)
			return redis.NewRateLimiter(rdb, redisx.NewKeyspace(prefix))
		})
	})
}

func TestRequestRecords(t *testing.T) {
	platformtest.EachRedis(t, func(t *testing.T) {
		storetest.TestRequestRecords(t, func(t *testing.T) chat.RequestRecords {
			rdb, prefix := platformtest.Redis(t)
			return redis.NewRequestRecords(rdb, redisx.NewKeyspace(prefix))
		})
	})
}

func TestTypingWindows(t *testing.T) {
	platformtest.EachRedis(t, func(t *testing.T) {
		storetest.TestTypingWindows(t, func(t *testing.T) chat.TypingWindows {
			rdb, prefix := platformtest.Redis(t)
			return redis.NewTypingWindows(rdb, redisx.NewKeyspace(prefix))
		})
	})
}

// TestAppendAndUnlock: the fenced append lands and releases the lock while
// the lock is held, and appends nothing once the lock expired and another
// holder took it.
func TestAppendAndUnlock(t *testing.T) {
	platformtest.EachRedis(t, testAppendAndUnlock)
}

func testAppendAndUnlock(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	keys := redisx.NewKeyspace(prefix)
	log := events.NewLog(rdb, keys)
	locks := redis.NewLocks(rdb, keys, platformtest.Logger(t), scopes)
	scope := events.ServerScope("s1")
	ev := func(id string) *eventsv1.Event {
		return &eventsv1.Event{Payload: &eventsv1.Event_MessageCreated{MessageCreated: &serverv1.Message{Id: id}}}
	}
	count := func() int64 {
		n, err := rdb.XLen(ctx, log.Key(scope)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	held, err := locks.Lock(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	e := ev("a1")
	entry, err := log.Prepare(ctx, scope, e)
	if err != nil {
		t.Fatal(err)
	}
	id, err := held.(*redis.ChannelLock).AppendAndUnlock(ctx, "a1", entry)
	if err != nil || id == "" || e.GetCursor() != id {
		t.Fatalf("append under a held lock: id %q cursor %q err %v", id, e.GetCursor(), err)
	}
	if count() != 1 {
		t.Fatalf("log holds %d entries, want 1", count())
	}
	next, err := locks.Lock(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if next.LastID() != "a1" {
		t.Fatalf("last id after the append %q, want a1", next.LastID())
	}

	// next stalls: its lock expires and another instance takes the channel.
	if err := rdb.Del(ctx, redis.LockKey(keys, scope, "c1")).Err(); err != nil {
		t.Fatal(err)
	}
	other, err := redis.NewLocks(rdb, keys, platformtest.Logger(t), scopes).Lock(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	entry, err = log.Prepare(ctx, scope, ev("a2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := next.(*redis.ChannelLock).AppendAndUnlock(ctx, "a2", entry); !errors.Is(err, chat.ErrLockLost) {
		t.Fatalf("append under a lost lock: %v, want ErrLockLost", err)
	}
	if count() != 1 {
		t.Fatalf("a lost lock appended: log holds %d entries, want 1", count())
	}
	// The new holder still holds the channel: a third Lock waits for it.
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if l, err := redis.NewLocks(rdb, keys, platformtest.Logger(t), scopes).Lock(wctx, "c1"); err == nil {
		l.Unlock("")
		t.Fatal("the stalled holder's release freed the new holder's lock")
	}
	other.Unlock("a3")
}
