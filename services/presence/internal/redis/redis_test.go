package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/presence/internal/presence"
	"github.com/accordchat/accord/services/presence/internal/redis"
	"github.com/accordchat/accord/services/presence/internal/storetest"
)

func TestStoreContract(t *testing.T) { platformtest.EachRedis(t, testStoreContract) }

func testStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, expiry time.Duration) presence.Store {
		rdb, prefix := platformtest.Redis(t)
		return redis.New(rdb, redis.Config{
			Keys: redisx.NewKeyspace(prefix), Expiry: expiry, Tombstone: 15 * time.Minute, StatusTTL: time.Hour,
			ConnectionsMaxLen: 1000, DayTTL: time.Hour,
		})
	})
}

// TestSessionsCount counts the open sessions over every user, for the
// presence-sessions gauge: expired and closed ones are not counted.
func TestSessionsCount(t *testing.T) {
	platformtest.EachRedis(t, func(t *testing.T) {
		rdb, prefix := platformtest.Redis(t)
		st := redis.New(rdb, redis.Config{
			Keys: redisx.NewKeyspace(prefix), Expiry: time.Minute, Tombstone: 15 * time.Minute, StatusTTL: time.Hour,
			ConnectionsMaxLen: 1000, DayTTL: time.Hour,
		})
		ctx := context.Background()
		now := time.Now()
		count := func(at time.Time) int64 {
			t.Helper()
			n, err := st.Sessions(ctx, at)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, s := range [][2]string{{"u1", "s1"}, {"u1", "s2"}, {"u2", "s3"}} {
			if _, err := st.Open(ctx, s[0], s[1], "web", now); err != nil {
				t.Fatal(err)
			}
		}
		if got := count(now); got != 3 {
			t.Errorf("sessions = %d, want 3", got)
		}
		if _, err := st.Close(ctx, "u1", "s2", now); err != nil {
			t.Fatal(err)
		}
		if got := count(now); got != 2 {
			t.Errorf("sessions after a close = %d, want 2", got)
		}
		if got := count(now.Add(2 * time.Minute)); got != 0 {
			t.Errorf("sessions past their expiry = %d, want 0", got)
		}
	})
}
