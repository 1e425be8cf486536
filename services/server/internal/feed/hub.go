// Package feed is the live event feed: one Hub per service instance reads
// the scopes its local subscribers need from the event log (one XREAD loop
// and one pub/sub subscription for typing, never a connection per
// subscriber) and fans events out to bounded per-subscriber queues. A
// subscriber whose queue is full is ended, never waited for.
package feed

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/grpcx"
	"github.com/accordchat/accord/platform/redisx"
)

// ErrTooSlow ends a subscriber whose queue overflowed.
var ErrTooSlow = errs.ResourceExhausted(0, "too slow; resume with your cursors").WithReason("SUBSCRIBER_TOO_SLOW")

// ErrShuttingDown ends every subscriber when the hub stops.
var ErrShuttingDown = errs.Unavailable("server shutting down; resume with your cursors").WithReason("FEED_SHUTTING_DOWN")

// Options tune a Hub.
type Options struct {
	// Block is how long one XREAD waits; newly added scopes join the read
	// after at most this long (their events are not lost meanwhile: each
	// scope starts from an explicit position).
	Block time.Duration
	// QueueLen bounds each subscriber's queue.
	QueueLen int
	// Count bounds the entries one XREAD returns per stream.
	Count int64
	// Poll is how long the reader waits between reads on a Redis Cluster
	// when nothing arrived and the scopes span several hash slots: one
	// XREAD names the keys of one slot only, so there the reader polls each
	// slot's streams (pipelined per node) instead of blocking. 0 is 10ms.
	Poll time.Duration
	// Lag, when set, is told for every entry the reader hands out how long
	// after its append that was (the entry id's clock is Redis's): how far
	// this instance's feed is behind the log.
	Lag func(time.Duration)
	// FollowQueueLen bounds the queue of a FollowScopes stream, which
	// carries the scopes of every socket of one gateway. 0 is 64 times
	// QueueLen.
	FollowQueueLen int
}

// DefaultOptions are the production tuning.
func DefaultOptions() Options {
	return Options{Block: 100 * time.Millisecond, QueueLen: 1024, Count: 500}
}

// Hub reads the event log for this instance's subscribers.
type Hub struct {
	rdb    redis.UniversalClient
	log    *events.Log
	typing string
	logger *slog.Logger
	opts   Options

	mu      sync.Mutex
	scopes  map[string]*scopeState
	wake    chan struct{}
	stopped bool // Run returned: nothing more is read
}

type scopeState struct {
	pos  string // last entry id dispatched
	subs map[*Sub]struct{}
}

// NewHub returns a Hub over the event log l. Stream keys are l.Key(scope);
// typing arrives on the pub/sub channel typingChannel.
func NewHub(rdb redis.UniversalClient, l *events.Log, typingChannel string, logger *slog.Logger, opts Options) *Hub {
	return &Hub{
		rdb: rdb, log: l, typing: typingChannel, logger: logger, opts: opts,
		scopes: map[string]*scopeState{}, wake: make(chan struct{}, 1),
	}
}

// Event is an event as subscribers receive it. The hub decodes each log
// entry once and hands the same Event to every subscriber, which encode it
// for the wire once between them (Response).
type Event struct {
	*eventsv1.Event

	once sync.Once
	resp *grpcx.Encoded
	err  error
}

// NewEvent wraps ev.
func NewEvent(ev *eventsv1.Event) *Event { return &Event{Event: ev} }

// Response is the event as a StreamEventsResponse, marshaled on first use.
func (e *Event) Response() (*grpcx.Encoded, error) {
	e.once.Do(func() {
		e.resp, e.err = grpcx.Encode(&eventsv1.StreamEventsResponse{Event: e.Event})
	})
	return e.resp, e.err
}

// Sub is one subscriber: a bounded queue of events of the scopes it holds.
type Sub struct {
	// UserID is the subscribed user; their own typing is not sent back.
	UserID string
	hub    *Hub
	c      chan *Event
	done   chan struct{}
	err    error
	scopes map[string]struct{} // guarded by hub.mu
	closed bool                // guarded by hub.mu
}

// NewSub registers a subscriber with no scopes yet.
func (h *Hub) NewSub(userID string) *Sub {
	return h.newSub(userID, h.opts.QueueLen)
}

func (h *Hub) newSub(userID string, queueLen int) *Sub {
	return &Sub{UserID: userID, hub: h, c: make(chan *Event, queueLen), done: make(chan struct{}), scopes: map[string]struct{}{}}
}

// C is the subscriber's queue.
func (s *Sub) C() <-chan *Event { return s.c }

// Done is closed when the hub ended the subscriber; Err tells why.
func (s *Sub) Done() <-chan struct{} { return s.done }

// Err is why the hub ended the subscriber.
func (s *Sub) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// LastID returns the id of the newest entry of a scope's stream, "0-0" when
// the stream is empty or missing.
func (h *Hub) LastID(ctx context.Context, scope string) (string, error) {
	msgs, err := h.rdb.XRevRangeN(ctx, h.log.Key(scope), "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// Add subscribes s to scope. From the moment Add returns, every event
// appended to the scope afterwards reaches s (and possibly some earlier
// ones, which the caller drops by cursor).
func (s *Sub) Add(ctx context.Context, scope string) error {
	_, err := s.AddAt(ctx, scope)
	return err
}

// AddAt is Add that also returns the position s starts after: every event
// of the scope with a greater id reaches s, none at or before it does.
func (s *Sub) AddAt(ctx context.Context, scope string) (string, error) {
	for {
		pos, again, err := s.addAt(ctx, scope)
		if !again {
			return pos, err
		}
	}
}

// addAt is one attempt of AddAt; again tells that the scope, tracked when
// looked at, was dropped before it could be joined: its position must then
// be looked up (an empty one would stop the reader).
func (s *Sub) addAt(ctx context.Context, scope string) (_ string, again bool, _ error) {
	h := s.hub
	h.mu.Lock()
	_, tracked := h.scopes[scope]
	h.mu.Unlock()
	var last string
	if !tracked {
		var err error
		if last, err = h.LastID(ctx, scope); err != nil {
			return "", false, err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped && !s.closed {
		// A stream that reaches a stopping instance would wait forever:
		// it is sent to resume elsewhere.
		h.endLocked(s, ErrShuttingDown)
	}
	if s.closed {
		return "", false, s.err
	}
	st, ok := h.scopes[scope]
	if !ok && tracked {
		return "", true, nil
	}
	if !ok {
		// Untracked until now: reading starts after the entry that was last
		// when we looked, so whatever was appended since is still delivered.
		st = &scopeState{pos: last, subs: map[*Sub]struct{}{}}
		h.scopes[scope] = st
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	st.subs[s] = struct{}{}
	s.scopes[scope] = struct{}{}
	return st.pos, false, nil
}

// Remove unsubscribes s from scope; nothing more of it is queued.
func (s *Sub) Remove(scope string) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s, scope)
}

func (h *Hub) removeLocked(s *Sub, scope string) {
	delete(s.scopes, scope)
	if st, ok := h.scopes[scope]; ok {
		delete(st.subs, s)
		if len(st.subs) == 0 {
			delete(h.scopes, scope)
		}
	}
}

// Close unsubscribes s from everything.
func (s *Sub) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endLocked(s, nil)
}

func (h *Hub) endLocked(s *Sub, err error) {
	if s.closed {
		return
	}
	for scope := range s.scopes {
		h.removeLocked(s, scope)
	}
	s.closed, s.err = true, err
	close(s.done)
}

// deliverLocked queues ev for s or, when its queue is full, ends s: one
// slow client must not hold up the reader and everyone behind it.
func (h *Hub) deliverLocked(s *Sub, ev *Event) {
	select {
	case s.c <- ev:
	default:
		h.endLocked(s, ErrTooSlow)
	}
}

// Subscribers returns how many scopes and subscriptions the hub holds.
func (h *Hub) Subscribers() (scopes, subs int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[*Sub]struct{}{}
	for _, st := range h.scopes {
		for s := range st.subs {
			seen[s] = struct{}{}
		}
	}
	return len(h.scopes), len(seen)
}

// Run reads until ctx ends: the stream loop and the typing subscription.
func (h *Hub) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.runTyping(ctx)
	}()
	h.runStreams(ctx)
	wg.Wait()
	// Without a reader nothing more would arrive: end every stream so that
	// clients resume elsewhere instead of waiting on a silent feed, and so
	// that a graceful stop is not held up by open streams.
	h.mu.Lock()
	h.stopped = true
	var all []*Sub
	for _, st := range h.scopes {
		for s := range st.subs {
			all = append(all, s)
		}
	}
	for _, s := range all {
		h.endLocked(s, ErrShuttingDown)
	}
	h.mu.Unlock()
	return ctx.Err()
}

func (h *Hub) runStreams(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		h.mu.Lock()
		keys := make([]string, 0, 2*len(h.scopes))
		ids := make([]string, 0, len(h.scopes))
		for scope, st := range h.scopes {
			keys = append(keys, h.log.Key(scope))
			ids = append(ids, st.pos)
		}
		h.mu.Unlock()
		if len(keys) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-h.wake:
			}
			continue
		}
		groups := redisx.GroupBySlot(h.rdb, keys, ids)
		var res []redis.XStream
		var err error
		if len(groups) == 1 {
			res, err = h.rdb.XRead(ctx, &redis.XReadArgs{Streams: append(keys, ids...), Count: h.opts.Count, Block: h.opts.Block}).Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
		} else {
			res, err = h.poll(ctx, groups)
			if err == nil && len(res) == 0 {
				h.idle(ctx)
				continue
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Redis is down or restarting: keep the positions and retry, so
			// the read continues where it stopped once Redis is back.
			h.logger.Warn("event log read failed; retrying", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		h.dispatch(res)
	}
}

// poll reads the streams of several hash slots once without blocking, one
// XREAD a slot, pipelined (go-redis sends one pipeline a cluster node).
func (h *Hub) poll(ctx context.Context, groups [][2][]string) ([]redis.XStream, error) {
	cmds := make([]*redis.XStreamSliceCmd, len(groups))
	_, err := h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, g := range groups {
			cmds[i] = p.XRead(ctx, &redis.XReadArgs{Streams: append(g[0], g[1]...), Count: h.opts.Count, Block: -1})
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var res []redis.XStream
	for _, c := range cmds {
		xs, err := c.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		res = append(res, xs...)
	}
	return res, nil
}

// idle waits before the next poll: Options.Poll, or less when a scope is
// added or ctx ends.
func (h *Hub) idle(ctx context.Context) {
	d := h.opts.Poll
	if d <= 0 {
		d = 10 * time.Millisecond
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-h.wake:
	case <-t.C:
	}
}

type entry struct {
	id  StreamID
	ev  *Event
	raw string
}

// dispatch hands a batch to subscribers. Entries of all streams are sorted
// by id first: ids come from the one Redis clock, so a user-scope change
// (server_left) and a server's events keep their real order.
func (h *Hub) dispatch(res []redis.XStream) {
	var batch []entry
	for _, xs := range res {
		scope := h.log.Scope(xs.Stream)
		for _, m := range xs.Messages {
			id, err := ParseID(m.ID)
			if err != nil {
				continue
			}
			ev, err := events.Decode(scope, m)
			if err != nil {
				h.logger.Error("undecodable event skipped", "err", err, "scope", scope, "id", m.ID)
				ev = &eventsv1.Event{Scope: scope} // no payload: advances the position only
			}
			batch = append(batch, entry{id: id, ev: NewEvent(ev), raw: m.ID})
		}
	}
	slices.SortStableFunc(batch, logOrder)
	if h.opts.Lag != nil {
		now := time.Now()
		for _, e := range batch {
			h.opts.Lag(max(now.Sub(time.UnixMilli(int64(e.id.MS))), 0))
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range batch {
		st, ok := h.scopes[e.ev.Scope]
		if !ok {
			continue
		}
		pos, _ := ParseID(st.pos)
		if e.id.Compare(pos) <= 0 {
			continue // read with a position from before the scope was re-added
		}
		st.pos = e.raw
		if e.ev.Payload == nil {
			continue
		}
		for s := range st.subs {
			h.deliverLocked(s, e.ev)
		}
	}
}

func (h *Hub) runTyping(ctx context.Context) {
	ps := h.rdb.Subscribe(ctx, h.typing)
	defer func() { _ = ps.Close() }()
	// go-redis resubscribes after reconnecting; typing missed meanwhile is
	// simply not shown, as it is ephemeral.
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			ev := &eventsv1.Event{}
			if err := proto.Unmarshal([]byte(m.Payload), ev); err != nil || ev.GetTyping() == nil {
				continue
			}
			ev.Cursor = ""
			shared := NewEvent(ev)
			h.mu.Lock()
			if st, ok := h.scopes[ev.Scope]; ok {
				for s := range st.subs {
					if s.UserID != ev.GetTyping().GetUserId() {
						h.deliverLocked(s, shared)
					}
				}
			}
			h.mu.Unlock()
		}
	}
}

// StreamID is a parsed Redis stream entry id.
type StreamID struct{ MS, Seq uint64 }

// ParseID parses "<ms>-<seq>".
func ParseID(s string) (StreamID, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return StreamID{}, errors.New("bad stream id")
	}
	ms, err := strconv.ParseUint(a, 10, 64)
	if err != nil {
		return StreamID{}, err
	}
	seq, err := strconv.ParseUint(b, 10, 64)
	if err != nil {
		return StreamID{}, err
	}
	return StreamID{ms, seq}, nil
}

// Compare orders ids: -1, 0 or +1.
func (a StreamID) Compare(b StreamID) int {
	switch {
	case a.MS < b.MS:
		return -1
	case a.MS > b.MS:
		return 1
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// String formats the id as Redis does.
func (a StreamID) String() string {
	return strconv.FormatUint(a.MS, 10) + "-" + strconv.FormatUint(a.Seq, 10)
}
