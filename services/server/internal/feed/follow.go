package feed

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	"github.com/accordchat/accord/platform/events"
)

// FollowRequest changes the scopes of a Follow stream. A non-nil Err ends
// the stream with that error (the caller's request was invalid, or its
// side of the stream failed).
type FollowRequest struct {
	// Add lists scopes to follow; a cursor with a position is replayed
	// from after it, one without starts live.
	Add []*eventsv1.Cursor
	// Remove lists scopes to stop following.
	Remove []string
	Err    error
}

// Follow serves one FollowScopes stream, the feed of a whole gateway: the
// union of the scopes its sockets need, each event once. It runs until ctx
// ends, send or started fails, reqs delivers an error, or the hub ends the
// stream (ErrTooSlow, ErrShuttingDown). Who may see which scope is the
// caller's business; Follow does not check membership.
//
// Events are sent in the hub's order (log order, also across scopes read
// in one batch). A request's scopes with positions are first replayed
// merged in log order, with the same rule as Serve: live subscription
// first, replay second, and every event dropped whose id is not past the
// last one sent for its scope. started acknowledges every added scope with
// the position its events are sent after.
func (h *Hub) Follow(ctx context.Context, reqs <-chan FollowRequest, send func(*Event) error, started func(scope, position string) error) error {
	n := h.opts.FollowQueueLen
	if n <= 0 {
		n = 64 * h.opts.QueueLen
	}
	sub := h.newSub("", n)
	defer sub.Close()
	f := &follower{h: h, sub: sub, send: send, started: started, active: map[string]bool{}, last: map[string]StreamID{}}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.Done():
			return sub.Err()
		case r := <-reqs:
			if r.Err != nil {
				return r.Err
			}
			if err := f.apply(ctx, r); err != nil {
				return err
			}
		case ev := <-sub.C():
			if err := f.deliver(ev); err != nil {
				return err
			}
		}
	}
}

type follower struct {
	h       *Hub
	sub     *Sub
	send    func(*Event) error
	started func(scope, position string) error
	active  map[string]bool
	last    map[string]StreamID // last position sent (or skipped) per scope
}

func (f *follower) apply(ctx context.Context, r FollowRequest) error {
	for _, scope := range r.Remove {
		f.sub.Remove(scope)
		delete(f.active, scope)
		delete(f.last, scope)
	}
	var replay []*eventsv1.Cursor
	var live []string
	for _, c := range r.Add {
		scope := c.GetScope()
		if f.active[scope] {
			live = append(live, scope) // acknowledged again, left as it is
			continue
		}
		pos, err := f.sub.AddAt(ctx, scope)
		if err != nil {
			return err
		}
		f.active[scope] = true
		if c.GetPosition() == "" {
			// Nothing at or before pos is in the queue; events after it are.
			f.last[scope], _ = ParseID(pos)
			live = append(live, scope)
			continue
		}
		replay = append(replay, &eventsv1.Cursor{Scope: scope, Position: c.GetPosition()})
		if from, err := ParseID(c.GetPosition()); err == nil {
			// Nothing at or before from may be sent from the queue either.
			f.last[scope] = from
		}
	}
	for len(replay) > 0 {
		evs, more, err := f.h.Read(ctx, replay, replayPage)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := f.deliver(ev); err != nil {
				return err
			}
			for _, c := range replay {
				if c.Scope == ev.GetScope() {
					c.Position = ev.GetCursor()
				}
			}
		}
		if !more {
			break
		}
	}
	for _, c := range replay {
		live = append(live, c.Scope)
	}
	for _, scope := range live {
		if !f.active[scope] {
			continue
		}
		last := f.last[scope] // zero after an invalid position that found no stream
		if err := f.started(scope, last.String()); err != nil {
			return err
		}
	}
	return nil
}

// deliver sends ev unless its scope is not followed or it was sent already.
// An event without payload (an entry that could not be decoded) only moves
// the position.
func (f *follower) deliver(ev *Event) error {
	if !f.active[ev.GetScope()] {
		return nil
	}
	if ev.GetCursor() != "" {
		id, err := ParseID(ev.GetCursor())
		if err != nil {
			return nil
		}
		if last, ok := f.last[ev.GetScope()]; ok && id.Compare(last) <= 0 {
			return nil
		}
		f.last[ev.GetScope()] = id
	}
	if ev.Payload == nil {
		return nil
	}
	return f.send(ev)
}

// Read returns the events logged after the cursors, merged in log order:
// at most limit events of each scope, cut where the first scope that had
// more stops, so that no scope's later event precedes another's earlier
// one; more tells whether events were left out. A cursor that is invalid,
// or older than what the log still holds, yields a resync event of its
// scope (at the front) whose cursor is the scope's newest position. An
// entry that cannot be decoded is returned as an event without payload,
// which only moves the scope's cursor.
func (h *Hub) Read(ctx context.Context, cursors []*eventsv1.Cursor, limit int) ([]*Event, bool, error) {
	var resyncs []*Event
	var batch []entry
	var cutoff *StreamID
	for _, c := range cursors {
		scope := c.GetScope()
		key := h.log.Key(scope)
		info, err := h.rdb.XInfoStream(ctx, key).Result()
		if err != nil && !isNoSuchKey(err) {
			return nil, false, err
		}
		from, perr := ParseID(c.GetPosition())
		reason := ""
		switch {
		case perr != nil:
			reason = "invalid"
		case err == nil && lost(info, from):
			reason = "retention"
		}
		if reason != "" {
			last := "0-0"
			if err == nil && info.LastGeneratedID != "" {
				last = info.LastGeneratedID
			}
			resyncs = append(resyncs, NewEvent(&eventsv1.Event{Scope: scope, Cursor: last, Payload: &eventsv1.Event_Resync{Resync: &eventsv1.Resync{Reason: reason}}}))
			continue
		}
		if err != nil {
			continue // no stream: nothing logged yet
		}
		msgs, err := h.rdb.XRangeN(ctx, key, "("+from.String(), "+", int64(limit)).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, false, err
		}
		for _, m := range msgs {
			id, err := ParseID(m.ID)
			if err != nil {
				continue
			}
			ev, err := events.Decode(scope, m)
			if err != nil {
				h.logger.Error("undecodable event skipped", "err", err, "scope", scope, "id", m.ID)
				ev = &eventsv1.Event{Scope: scope, Cursor: m.ID}
			}
			batch = append(batch, entry{id: id, ev: NewEvent(ev), raw: m.ID})
		}
		if len(msgs) == limit {
			last, err := ParseID(msgs[len(msgs)-1].ID)
			if err == nil && (cutoff == nil || last.Compare(*cutoff) < 0) {
				cutoff = &last
			}
		}
	}
	slices.SortStableFunc(batch, logOrder)
	out := resyncs
	for _, e := range batch {
		if cutoff != nil && e.id.Compare(*cutoff) > 0 {
			break
		}
		out = append(out, e.ev)
	}
	return out, cutoff != nil, nil
}

// logOrder orders entries of several scopes by id. Each stream numbers its
// own entries, so two scopes can hold the same id (entries of the same
// millisecond); among those, user scopes come first: a membership change
// (server_left) then takes effect before a server event of the same
// millisecond, which errs on the side of not delivering it.
func logOrder(a, b entry) int {
	if c := a.id.Compare(b.id); c != 0 {
		return c
	}
	au, bu := strings.HasPrefix(a.ev.GetScope(), "user:"), strings.HasPrefix(b.ev.GetScope(), "user:")
	switch {
	case au && !bu:
		return -1
	case bu && !au:
		return 1
	}
	return strings.Compare(a.ev.GetScope(), b.ev.GetScope())
}
