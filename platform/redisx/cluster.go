package redisx

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Redis Cluster spreads keys over 16384 slots by a CRC16 of the key, or of
// its hash tag: the part between the first "{" and the next "}" when not
// empty. A command, a transaction or a script touches the keys of one slot
// only, so keys used together carry the same tag: Tag builds it. Accord's
// scheme (docs/production.md): an event stream is tagged by its scope
// ("ev:{server:<id>}"), so the channel lock and last-id keys of a channel
// carry its server's scope too (the send path appends and unlocks in one
// script); presence and the stats streams and counters share the tag
// {stats} (presence's open script appends to the connections stream the
// stats service counts); the login-failure counters share {login}.

// Slots is the number of hash slots of a Redis Cluster.
const Slots = 16384

// Tag returns s as a hash tag: "{" + s + "}".
func Tag(s string) string { return "{" + s + "}" }

// Slot returns the cluster hash slot of key.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % Slots)
}

// crc16 is CRC-16/XMODEM, the checksum Redis Cluster hashes keys with.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// GroupBySlot splits keys (with a value each, same length) into groups of
// one slot each, in the order their slots first appear. On one server
// (rdb not a *redis.ClusterClient) it returns a single group.
func GroupBySlot(rdb redis.UniversalClient, keys, vals []string) (groups [][2][]string) {
	if _, ok := rdb.(*redis.ClusterClient); !ok || len(keys) == 0 {
		return [][2][]string{{keys, vals}}
	}
	at := map[int]int{}
	for i, k := range keys {
		s := Slot(k)
		g, ok := at[s]
		if !ok {
			g = len(groups)
			at[s] = g
			groups = append(groups, [2][]string{})
		}
		groups[g][0] = append(groups[g][0], k)
		groups[g][1] = append(groups[g][1], vals[i])
	}
	return groups
}

// ForEachNode calls fn with the client of every server that holds keys:
// rdb itself on one server, each master of a cluster (concurrently).
func ForEachNode(ctx context.Context, rdb redis.UniversalClient, fn func(ctx context.Context, c redis.Cmdable) error) error {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return fn(ctx, c) })
	}
	return fn(ctx, rdb)
}

// NodeFor returns the client of the server holding key: rdb itself on one
// server, the master of key's slot on a cluster. Commands that name no key
// but concern the keys of one hash tag (SCAN of the tag's keys) go there.
func NodeFor(ctx context.Context, rdb redis.UniversalClient, key string) (redis.Cmdable, error) {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.MasterForKey(ctx, key)
	}
	return rdb, nil
}
