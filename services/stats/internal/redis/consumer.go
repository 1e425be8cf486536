package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/services/stats/internal/reports"

	"github.com/accordchat/accord/platform/events"
)

// Group is the consumer group the stats service reads both streams with.
const Group = "stats"

// Consumer feeds the counters from the activity and connections streams
// through a consumer group, so that several stats replicas share the work
// and an entry left pending by a crashed replica is claimed by another.
type Consumer struct {
	store *Store
	rdb   redis.UniversalClient
	log   *slog.Logger
	// Name identifies this consumer in the group.
	Name string
	// ClaimIdle is how long an entry stays pending before another
	// consumer claims it.
	ClaimIdle time.Duration
	// Block is how long one read waits for new entries.
	Block time.Duration
	// Batch is how many entries one read returns at most.
	Batch int64
	// Linger is how long Run waits after a batch smaller than Batch
	// before it reads again, so that under a steady trickle of messages
	// the counters take them in batches: one script call applies a batch,
	// and entries sharing keys (the same day, hour, user, server) cost
	// one write per key and member, where one call per entry or two was
	// most of the Redis CPU a sent message cost. It is the most an entry
	// waits beyond its arrival to be counted; 0 reads again at once.
	Linger time.Duration
	// Now tells the time (hourly buckets older than the retention are
	// skipped).
	Now func() time.Time

	lastClaim time.Time
	read      int // entries the last Step read
}

// NewConsumer returns a consumer named name over the store's streams.
func NewConsumer(store *Store, log *slog.Logger, name string) *Consumer {
	return &Consumer{
		store: store, rdb: store.rdb, log: log, Name: name,
		ClaimIdle: 30 * time.Second, Block: 2 * time.Second, Batch: 500, Linger: 250 * time.Millisecond, Now: time.Now,
	}
}

func (c *Consumer) streams() (activity, connections string) {
	return c.store.keys.Key(events.Activity), c.store.keys.Key(events.Connections)
}

// Setup creates the consumer group on both streams (and the streams) if
// needed. A new group starts from the beginning of what the streams hold.
func (c *Consumer) Setup(ctx context.Context) error {
	a, cn := c.streams()
	for _, s := range []string{a, cn} {
		err := c.rdb.XGroupCreateMkStream(ctx, s, Group, "0").Err()
		if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("create consumer group on %s: %w", s, err)
		}
	}
	return nil
}

// Run consumes until ctx ends. Errors are logged and retried with backoff:
// unread entries wait in the streams.
func (c *Consumer) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	ready := false
	for {
		var err error
		if !ready {
			// Again after any failure: the streams may have been deleted.
			err = c.Setup(ctx)
			ready = err == nil
		}
		if err == nil {
			err = c.Step(ctx)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			backoff = 100 * time.Millisecond
			if c.Linger > 0 && c.read > 0 && int64(c.read) < c.Batch {
				t := time.NewTimer(c.Linger)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
			continue
		}
		ready = false
		c.log.Warn("stats consumer failed; retrying", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// Step claims entries left pending too long by other consumers (at most
// every ClaimIdle/2), then reads and counts one batch of new entries
// (waiting up to Block for them).
func (c *Consumer) Step(ctx context.Context) error {
	a, cn := c.streams()
	var batch []StreamEntry
	c.read = 0
	claim := time.Since(c.lastClaim) >= c.ClaimIdle/2
	if claim {
		c.lastClaim = time.Now()
	}
	for _, s := range []string{a, cn} {
		if !claim {
			break
		}
		msgs, _, err := c.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: s, Group: Group, Consumer: c.Name, MinIdle: c.ClaimIdle, Start: "0-0", Count: c.Batch,
		}).Result()
		if err != nil {
			return fmt.Errorf("claim pending entries of %s: %w", s, err)
		}
		batch = append(batch, c.parse(s, msgs)...)
	}
	if len(batch) > 0 {
		return c.apply(ctx, batch)
	}
	res, err := c.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: Group, Consumer: c.Name, Streams: []string{a, cn, ">", ">"}, Count: c.Batch, Block: c.Block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read streams: %w", err)
	}
	for _, st := range res {
		batch = append(batch, c.parse(st.Stream, st.Messages)...)
	}
	return c.apply(ctx, batch)
}

func (c *Consumer) parse(stream string, msgs []redis.XMessage) []StreamEntry {
	a, _ := c.streams()
	out := make([]StreamEntry, 0, len(msgs))
	for _, m := range msgs {
		var e reports.Entry
		var err error
		if stream == a {
			e, err = ParseActivity(m.Values)
		} else {
			e, err = ParseConnection(m.Values)
		}
		se := StreamEntry{Stream: stream, ID: m.ID}
		if err != nil {
			// A malformed entry would otherwise be redelivered forever.
			c.log.Warn("skipping malformed stream entry", "stream", stream, "id", m.ID, "err", err)
		} else {
			se.Entry = &e
		}
		out = append(out, se)
	}
	return out
}

func (c *Consumer) apply(ctx context.Context, batch []StreamEntry) error {
	c.read = len(batch)
	if len(batch) == 0 {
		return nil
	}
	n, err := c.store.ApplyStream(ctx, Group, batch, c.Now())
	if err != nil {
		return err
	}
	c.log.Debug("counted stream entries", "entries", len(batch), "counted", n)
	return nil
}
