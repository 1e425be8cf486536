package redisx_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/redisx"
)

// TestConnectGroupsReadsPerSlot connects to the single test Redis and to
// the test cluster, and reads streams of several hash tags grouped per slot:
// one group on a single server, one a slot on the cluster, where each
// group's XREAD succeeds (an XREAD across slots fails with CROSSSLOT).
func TestConnectGroupsReadsPerSlot(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		cluster   bool
	}{
		{"redis", platformtest.RedisURL(), false},
		{"cluster", platformtest.RedisClusterURL(t), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rdb, err := redisx.Connect(ctx, tc.url, logging.Discard())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rdb.Close() }) // after the keys' cleanups
			if _, ok := rdb.(*redis.ClusterClient); ok != tc.cluster || redisx.IsCluster(tc.url) != tc.cluster {
				t.Fatalf("%s: cluster client %v, want %v", tc.url, ok, tc.cluster)
			}
			if !redisx.Answers(tc.url, 2*time.Second) {
				t.Fatalf("Answers(%s) = false", tc.url)
			}
			prefix := "test:" + platformtest.RandomHex(6) + ":"
			var keys, ids []string
			for _, tag := range []string{"a", "b", "c", "d", "e", "f"} {
				k := prefix + "ev:" + redisx.Tag(tag)
				if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: k, Values: []any{"e", tag}}).Err(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { rdb.Del(context.Background(), k) })
				keys, ids = append(keys, k), append(ids, "0")
			}
			groups := redisx.GroupBySlot(rdb, keys, ids)
			if want := 1; !tc.cluster && len(groups) != want {
				t.Fatalf("%d groups on one server, want 1", len(groups))
			}
			if tc.cluster && len(groups) != len(keys) {
				t.Fatalf("%d groups for %d tags on a cluster", len(groups), len(keys))
			}
			read := 0
			for _, g := range groups {
				res, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: append(g[0], g[1]...), Block: -1}).Result()
				if err != nil {
					t.Fatal(err)
				}
				for _, xs := range res {
					read += len(xs.Messages)
				}
			}
			if read != len(keys) {
				t.Fatalf("read %d entries, want %d", read, len(keys))
			}
			if tc.cluster {
				_, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: append(keys, ids...), Block: -1}).Result()
				if err == nil {
					t.Fatal("an XREAD across slots succeeded on the cluster: the test does not run on one")
				}
			}
		})
	}
}
