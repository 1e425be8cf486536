package redis_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/search/internal/index"
	"github.com/accordchat/accord/services/search/internal/redis"
	"github.com/accordchat/accord/services/search/internal/search"
)

// countingIndex counts the batches applied to an index.
type countingIndex struct {
	search.Index
	batches atomic.Int32
}

func (c *countingIndex) Apply(ctx context.Context, changes []search.Change, position string) error {
	c.batches.Add(1)
	return c.Index.Apply(ctx, changes, position)
}

// After a small batch the consumer waits Linger, so entries that arrive
// meanwhile are applied together, in one batch.
func TestLingerGathersATrickleIntoOneBatch(t *testing.T) {
	f := newFixture(t)
	mem, err := index.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	x := &countingIndex{Index: mem}
	c := redis.NewConsumer(f.rdb, f.log, x, logging.Discard(), "search-test")
	c.Block, c.Linger = 10*time.Millisecond, 3*time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	applied := func(n int) bool {
		got := find(t, x, "alpha")
		return len(got) == n
	}
	f.append(t, created("m1", "alpha"))
	platformtest.Eventually(t, 10*time.Second, func() bool { return applied(1) })
	f.append(t, created("m2", "alpha"), created("m3", "alpha"), created("m4", "alpha"))
	platformtest.Eventually(t, 10*time.Second, func() bool { return applied(4) })
	if got := x.batches.Load(); got != 2 {
		t.Errorf("got %d batches, want 2 (the first entry, then the three that came during the linger)", got)
	}
}

// The wait after a batch grows with the batch, by Linger per 25 entries,
// up to MaxLinger; none after an empty or a full batch.
func TestLingerGrowsWithTheBatch(t *testing.T) {
	c := &redis.Consumer{Batch: 500, Linger: 250 * time.Millisecond, MaxLinger: time.Second}
	for _, tc := range []struct {
		n    int64
		want time.Duration
	}{
		{0, 0}, {1, 250 * time.Millisecond}, {25, 250 * time.Millisecond}, {26, 500 * time.Millisecond},
		{75, 750 * time.Millisecond}, {76, time.Second}, {499, time.Second}, {500, 0},
	} {
		if got := redis.LingerAfter(c, tc.n); got != tc.want {
			t.Errorf("after %d entries: waits %v, want %v", tc.n, got, tc.want)
		}
	}
	c.MaxLinger = 0 // no more than Linger
	if got := redis.LingerAfter(c, 400); got != 250*time.Millisecond {
		t.Errorf("with MaxLinger 0: waits %v, want 250ms", got)
	}
	c.Linger = 0
	if got := redis.LingerAfter(c, 10); got != 0 {
		t.Errorf("with Linger 0: waits %v, want none", got)
	}
}
