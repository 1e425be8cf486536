package redis_test

import (
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
