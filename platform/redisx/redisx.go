// Package redisx connects to Redis with go-redis v9.
package redisx

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Connect opens a client for url and waits for a ping, retrying with backoff
// until ctx ends. go-redis reconnects on its own after that.
func Connect(ctx context.Context, url string, log *slog.Logger) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	opts.MaxRetries = 3
	opts.DialTimeout = 2 * time.Second
	rdb := redis.NewClient(opts)
	backoff := 200 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = rdb.Ping(pctx).Err()
		cancel()
		if err == nil {
			return rdb, nil
		}
		log.Warn("redis not ready; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			_ = rdb.Close()
			return nil, fmt.Errorf("redis: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// Answers reports whether a Redis server answers at url within timeout.
func Answers(url string, timeout time.Duration) bool {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return false
	}
	opts.DialTimeout = timeout
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return rdb.Ping(ctx).Err() == nil
}
