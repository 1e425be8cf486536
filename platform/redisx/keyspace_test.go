package redisx_test

import (
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/platform/redisx"
)

func TestKeyspaceKey(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		parts  []string
		want   string
	}{
		{"", []string{"ev:", "server:1"}, "ev:server:1"},
		{"t1:", []string{"ev:", "server:1"}, "t1:ev:server:1"},
		{"t1:", nil, "t1:"},
	} {
		k := redisx.NewKeyspace(tc.prefix)
		if got := k.Key(tc.parts...); got != tc.want {
			t.Errorf("NewKeyspace(%q).Key(%q) = %q, want %q", tc.prefix, tc.parts, got, tc.want)
		}
		if k.Prefix() != tc.prefix {
			t.Errorf("Prefix() = %q, want %q", k.Prefix(), tc.prefix)
		}
	}
}

func TestNewClientTakesOneServerOrACluster(t *testing.T) {
	for _, tc := range []struct {
		url     string
		cluster bool
		addrs   []string
	}{
		{"redis://127.0.0.1:6379/0", false, []string{"127.0.0.1:6379"}},
		{"redis+cluster://h1:7001,h2:7002,h3:7003", true, []string{"h1:7001", "h2:7002", "h3:7003"}},
		{"redis+cluster://u:p@h1:7001,h2:7002/?dial_timeout=3s", true, []string{"h1:7001", "h2:7002"}},
		{"h1:7001,h2:7002", true, []string{"h1:7001", "h2:7002"}},
		{"redis://h1:7001, redis://h2:7002", true, []string{"h1:7001", "h2:7002"}},
	} {
		rdb, err := redisx.NewClient(tc.url)
		if err != nil {
			t.Fatalf("NewClient(%q): %v", tc.url, err)
		}
		switch c := rdb.(type) {
		case *redis.ClusterClient:
			if !tc.cluster || !slices.Equal(c.Options().Addrs, tc.addrs) {
				t.Errorf("NewClient(%q) = cluster of %v, want cluster %v of %v", tc.url, c.Options().Addrs, tc.cluster, tc.addrs)
			}
		case *redis.Client:
			if tc.cluster || c.Options().Addr != tc.addrs[0] {
				t.Errorf("NewClient(%q) = client of %s, want cluster %v of %v", tc.url, c.Options().Addr, tc.cluster, tc.addrs)
			}
		}
		_ = rdb.Close()
		if redisx.IsCluster(tc.url) != tc.cluster {
			t.Errorf("IsCluster(%q) = %v", tc.url, !tc.cluster)
		}
	}
	for _, bad := range []string{"redis+cluster://h1:1/3", "redis://h1:1/2,redis://h2:2/2", "redis+cluster://", "http://x"} {
		if _, err := redisx.NewClient(bad); err == nil {
			t.Errorf("NewClient(%q) accepted", bad)
		}
	}
}

// TestSlot checks the slots against CLUSTER KEYSLOT's, as documented by
// Redis, and that a hash tag decides the slot.
func TestSlot(t *testing.T) {
	for key, want := range map[string]int{"foo": 12182, "bar": 5061, "{user1000}.following": 3443, "{user1000}.followers": 3443, "foo{}{bar}": 8363, "{}": 15257} {
		if got := redisx.Slot(key); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
	if redisx.Slot("ev:{server:1}") != redisx.Slot("chlock:{server:1}:c9") {
		t.Error("keys of one tag in different slots")
	}
}
