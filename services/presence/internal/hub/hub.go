// Package hub fans presence changes out to the watchers of one instance. The
// instance holds one Redis pub/sub subscription; every change is handed to
// the watchers of that user through bounded queues, and a watcher whose
// queue is full is dropped rather than allowed to slow the others.
package hub

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/services/presence/internal/presence"
	presenceredis "github.com/accordchat/accord/services/presence/internal/redis"
)

// Hub is one instance's subscription to the changes channel. It
// implements presence.Feed.
type Hub struct {
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger
	queue   int

	mu       sync.RWMutex
	watchers map[string]map[*Watcher]struct{}
	all      map[*Watcher]struct{}

	ready     chan struct{}
	readyOnce sync.Once
}

var _ presence.Feed = (*Hub)(nil)

// New returns a hub for channel with watcher queues of queue changes.
func New(rdb redis.UniversalClient, channel string, queue int, log *slog.Logger) *Hub {
	return &Hub{
		rdb: rdb, channel: channel, log: log, queue: queue,
		watchers: map[string]map[*Watcher]struct{}{},
		all:      map[*Watcher]struct{}{},
		ready:    make(chan struct{}),
	}
}

// Ready is closed once the subscription is first confirmed.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Run listens until ctx ends. go-redis reconnects and resubscribes on its
// own after a connection loss; each (re)subscription tells every watcher to
// resynchronise, since changes published meanwhile were lost.
func (h *Hub) Run(ctx context.Context) error {
	ps := h.rdb.Subscribe(ctx, h.channel)
	defer ps.Close()
	ch := ps.ChannelWithSubscriptions(
		redis.WithChannelSize(4096),
		redis.WithChannelHealthCheckInterval(time.Second),
		redis.WithChannelSendTimeout(time.Second),
	)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-ch:
			if !ok {
				return nil
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind != "subscribe" {
					continue
				}
				first := false
				h.readyOnce.Do(func() { close(h.ready); first = true })
				if !first {
					h.log.Info("presence subscription restored; resynchronising watchers")
					h.resyncAll()
				}
			case *redis.Message:
				st, err := presenceredis.ParseChange(m.Payload)
				if err != nil {
					h.log.Warn("ignoring bad presence change", "err", err)
					continue
				}
				h.deliver(st)
			}
		}
	}
}

func (h *Hub) deliver(st presence.State) {
	var slow []*Watcher
	h.mu.RLock()
	for w := range h.watchers[st.UserID] {
		select {
		case w.changes <- st:
		default:
			slow = append(slow, w)
		}
	}
	h.mu.RUnlock()
	for _, w := range slow {
		w.drop()
	}
}

func (h *Hub) resyncAll() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for w := range h.all {
		select {
		case w.resync <- struct{}{}:
		default:
		}
	}
}

// Watch registers a watcher of users (a *Watcher). Call Stop when done.
func (h *Hub) Watch(users []string) presence.Watch {
	w := &Watcher{
		hub: h, users: users,
		changes: make(chan presence.State, h.queue),
		resync:  make(chan struct{}, 1),
		dropped: make(chan struct{}),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range users {
		set := h.watchers[u]
		if set == nil {
			set = map[*Watcher]struct{}{}
			h.watchers[u] = set
		}
		set[w] = struct{}{}
	}
	h.all[w] = struct{}{}
	return w
}

// Watchers tells how many watchers are registered.
func (h *Hub) Watchers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.all)
}

func (h *Hub) remove(w *Watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.all[w]; !ok {
		return
	}
	delete(h.all, w)
	for _, u := range w.users {
		if set := h.watchers[u]; set != nil {
			delete(set, w)
			if len(set) == 0 {
				delete(h.watchers, u)
			}
		}
	}
}

// Watcher receives the changes of a set of users.
type Watcher struct {
	hub     *Hub
	users   []string
	changes chan presence.State
	resync  chan struct{}
	dropped chan struct{}
	once    sync.Once
}

// Changes delivers the watched users' changes, in publication order.
func (w *Watcher) Changes() <-chan presence.State { return w.changes }

// Resync signals that changes may have been lost (the subscription was
// re-established): the watcher should re-read its users' state.
func (w *Watcher) Resync() <-chan struct{} { return w.resync }

// Dropped is closed when the watcher fell behind and was dropped.
func (w *Watcher) Dropped() <-chan struct{} { return w.dropped }

func (w *Watcher) drop() {
	w.once.Do(func() { close(w.dropped) })
	w.hub.remove(w)
}

// Stop unregisters the watcher.
func (w *Watcher) Stop() { w.hub.remove(w) }
