package main

import (
	"context"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/redisx"
)

// The Redis pub/sub baseline: the floor any Redis-based feed pays. N go-redis
// subscribers (one connection each) on one channel of the same Redis the
// services use, and the same messages (count, size, rate, senders) published
// to it with PUBLISH, timed exactly as the sockets are: from just before the
// publish call to the subscriber's receipt of the payload.

// redisSubs are the baseline's subscribers.
type redisSubs struct {
	rdb     redis.UniversalClient
	channel string
	cancel  context.CancelFunc
	subs    []*redisSub
	wg      sync.WaitGroup
}

type redisSub struct {
	ps      *redis.PubSub
	mu      sync.Mutex
	handler func(string)
}

func (s *redisSub) start(ctx context.Context, marker []byte, got func(int)) {
	m := string(marker)
	s.mu.Lock()
	s.handler = func(p string) {
		i := strings.Index(p, m)
		if i < 0 {
			return
		}
		if seq, ok := findSeq([]byte(p[i:min(len(p), i+len(m)+12)]), marker); ok {
			got(seq)
		}
	}
	s.mu.Unlock()
}

// openRedis subscribes n connections to one channel and waits for each
// subscription's confirmation.
func openRedis(ctx context.Context, sys *system, n int) (*redisSubs, error) {
	rdb, err := redisx.Connect(ctx, sys.cfg.RedisURL, logging.Discard())
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	r := &redisSubs{rdb: rdb, channel: sys.cfg.RedisPrefix + "wsload:baseline", cancel: cancel}
	r.subs = make([]*redisSub, n)
	// 50 subscribing at a time: Redis and the dialer take the rest in turn.
	var g errgroup.Group
	g.SetLimit(50)
	for i := range n {
		g.Go(func() error {
			ps := rdb.Subscribe(sctx, r.channel)
			if _, err := ps.Receive(sctx); err != nil { // the confirmation
				_ = ps.Close()
				return err
			}
			r.subs[i] = &redisSub{ps: ps}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		r.close()
		return nil, err
	}
	for _, s := range r.subs {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for {
				m, err := s.ps.ReceiveMessage(sctx)
				if err != nil {
					return
				}
				s.mu.Lock()
				h := s.handler
				s.mu.Unlock()
				if h != nil {
					h(m.Payload)
				}
			}
		}()
	}
	return r, nil
}

func (r *redisSubs) receivers() []receiver {
	out := make([]receiver, len(r.subs))
	for i, s := range r.subs {
		out[i] = s
	}
	return out
}

// publisher sends the phase's messages to the channel, padded to size
// bytes (the size of the sockets' event frames).
func (r *redisSubs) publisher(size int) sendFunc {
	return func(ctx context.Context, k int, content string) error {
		p := content
		if len(p) < size {
			p += " " + strings.Repeat("x", size-len(p)-1)
		}
		return r.rdb.Publish(ctx, r.channel, p).Err()
	}
}

func (r *redisSubs) close() {
	r.cancel()
	for _, s := range r.subs {
		if s != nil {
			_ = s.ps.Close()
		}
	}
	r.wg.Wait()
	_ = r.rdb.Close()
}
