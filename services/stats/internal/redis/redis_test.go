package redis_test

import (
	"testing"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/stats/internal/redis"
	"github.com/accordchat/accord/services/stats/internal/reports"
	"github.com/accordchat/accord/services/stats/internal/storetest"
)

func TestCountersContract(t *testing.T) { platformtest.EachRedis(t, testCountersContract) }

func testCountersContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) reports.Counters {
		rdb, prefix := platformtest.Redis(t)
		return redis.New(rdb, redisx.NewKeyspace(prefix))
	})
}
