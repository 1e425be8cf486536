package redis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/user/internal/redis"
)

func TestLimiter(t *testing.T) { platformtest.EachRedis(t, testLimiter) }

func testLimiter(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	ctx := context.Background()
	l := redis.NewLimiter(rdb, redisx.NewKeyspace(prefix), redis.LimiterOptions{PerLogin: 2, PerAddr: 3, Window: time.Minute})
	// A released (successful) attempt does not count.
	for range 5 {
		if ok, _, err := l.Acquire(ctx, "x", "1.1.1.1"); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if err := l.Release(ctx, "x", "1.1.1.1"); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if ok, _, err := l.Acquire(ctx, "x", "1.1.1.1"); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	ok, retry, err := l.Acquire(ctx, "x", "1.1.1.1")
	if ok || err != nil || retry <= 0 || retry > time.Minute {
		t.Fatalf("third failure: ok=%v retry=%v err=%v", ok, retry, err)
	}
	// The address has one attempt left, for another login.
	if ok, _, _ := l.Acquire(ctx, "y", "1.1.1.1"); !ok {
		t.Fatal("address refused early")
	}
	if ok, _, _ := l.Acquire(ctx, "z", "1.1.1.1"); ok {
		t.Fatal("address not limited")
	}
	// Every key is under the prefix and expires.
	keys := platformtest.Keys(t, rdb, prefix+"*")
	if len(keys) != 3 {
		t.Fatalf("keys = %v", keys)
	}
	for _, k := range keys {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Fatalf("%s has no expiry", k)
		}
	}
	// Release of a key that is gone does not leave a negative counter.
	if err := l.Release(ctx, "gone", "2.2.2.2"); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, prefix+"login:{login}:fail:login:gone").Val(); n != 0 {
		t.Fatal("release created a key")
	}
}

func TestLocksExclusive(t *testing.T) { platformtest.EachRedis(t, testLocksExclusive) }

func testLocksExclusive(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	ctx := context.Background()
	locks := redis.NewLocks(rdb, redisx.NewKeyspace(prefix))
	var mu sync.Mutex
	inside, maxInside := 0, 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			unlock, err := locks.Lock(ctx, "pair:a:b")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			maxInside = max(maxInside, inside)
			mu.Unlock()
			rdb.Ping(ctx) // hold the lock across a round trip
			mu.Lock()
			inside--
			mu.Unlock()
			unlock()
		})
	}
	wg.Wait()
	if maxInside != 1 {
		t.Fatalf("%d holders at once", maxInside)
	}
	cctx, cancel := context.WithCancel(ctx)
	unlock, err := locks.Lock(ctx, "held")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := locks.Lock(cctx, "held"); err == nil {
		t.Fatal("lock taken twice")
	}
	unlock()
}
