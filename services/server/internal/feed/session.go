package feed

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
)

// Membership answers which servers a user belongs to.
type Membership interface {
	ServerIDs(ctx context.Context, userID string) ([]string, error)
	Role(ctx context.Context, serverID, userID string) (serverv1.Role, error)
}

// joinReplay is how far before a server_joined event a newly joined
// server's log is replayed: events committed between the membership write
// and the server_joined append are older than the latter. The user is a
// member by then and may read them in history anyway.
const joinReplayMS = 2000

// replayPage bounds one XRANGE call of a replay.
const replayPage = 500

// Serve runs one StreamEvents session for userID until ctx ends, send
// fails, or the hub ends it (ErrTooSlow). Scopes listed in cursors are
// replayed from after their cursor before live events follow; the rest
// start live. Live subscription comes first and replay second, and every
// event is dropped whose id is not past the last one sent for its scope:
// that makes the switch from replay to live free of gaps and duplicates.
// subscribed, if not nil, is called once every scope of the user is
// subscribed, before the replay: from then on every event logged reaches
// send (the gateway sends its socket's ready then).
func (h *Hub) Serve(ctx context.Context, m Membership, userID string, cursors []*eventsv1.Cursor, send func(*Event) error, subscribed func() error) error {
	sub := h.NewSub(userID)
	defer sub.Close()
	ss := &session{h: h, sub: sub, send: send, active: map[string]bool{}, last: map[string]StreamID{}}

	// The user scope first: a server joined or left while the list below is
	// read shows up there afterwards.
	userScope := events.UserScope(userID)
	if err := ss.add(ctx, userScope); err != nil {
		return err
	}
	ids, err := m.ServerIDs(ctx, userID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := ss.add(ctx, events.ServerScope(id)); err != nil {
			return err
		}
	}
	if subscribed != nil {
		if err := subscribed(); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, c := range cursors {
		if !ss.active[c.GetScope()] || seen[c.GetScope()] {
			continue // not the caller's scope (or repeated): ignored, reveals nothing
		}
		seen[c.GetScope()] = true
		if err := ss.resume(ctx, c.GetScope(), c.GetPosition()); err != nil {
			return err
		}
	}

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.Done():
			return sub.Err()
		case ev := <-sub.C():
			if err := ss.deliver(ev); err != nil {
				return err
			}
			if ev.GetScope() != userScope {
				if ev.GetServerDeleted() != nil {
					ss.remove(ev.GetScope())
				}
				continue
			}
			switch p := ev.Payload.(type) {
			case *eventsv1.Event_ServerJoined:
				scope := events.ServerScope(p.ServerJoined.GetId())
				if ss.active[scope] {
					continue
				}
				// Trust the database, not the event: a join quickly undone
				// must not open the server's feed.
				if _, err := m.Role(ctx, p.ServerJoined.GetId(), userID); err != nil {
					continue
				}
				if err := ss.add(ctx, scope); err != nil {
					return err
				}
				from := StreamID{}
				if id, err := ParseID(ev.GetCursor()); err == nil && id.MS > joinReplayMS {
					from = StreamID{MS: id.MS - joinReplayMS}
				}
				if err := ss.replay(ctx, scope, from); err != nil {
					return err
				}
			case *eventsv1.Event_ServerLeft:
				ss.remove(events.ServerScope(p.ServerLeft.GetServerId()))
			}
		}
	}
}

type session struct {
	h      *Hub
	sub    *Sub
	send   func(*Event) error
	active map[string]bool
	last   map[string]StreamID // last cursor sent per scope
}

func (ss *session) add(ctx context.Context, scope string) error {
	if err := ss.sub.Add(ctx, scope); err != nil {
		return err
	}
	ss.active[scope] = true
	return nil
}

func (ss *session) remove(scope string) {
	ss.sub.Remove(scope)
	delete(ss.active, scope)
	delete(ss.last, scope)
}

// deliver sends ev unless its scope is no longer held or it was sent already.
func (ss *session) deliver(ev *Event) error {
	if !ss.active[ev.GetScope()] {
		return nil
	}
	if ev.GetCursor() != "" {
		id, err := ParseID(ev.GetCursor())
		if err != nil {
			return nil
		}
		if last, ok := ss.last[ev.GetScope()]; ok && id.Compare(last) <= 0 {
			return nil
		}
		ss.last[ev.GetScope()] = id
	}
	return ss.send(ev)
}

// resume replays a scope from after the client's cursor, or sends a resync
// event when the log no longer holds everything after it.
func (ss *session) resume(ctx context.Context, scope, position string) error {
	key := ss.h.log.Key(scope)
	info, err := ss.h.rdb.XInfoStream(ctx, key).Result()
	if err != nil && !isNoSuchKey(err) {
		return err
	}
	from, perr := ParseID(position)
	reason := ""
	switch {
	case perr != nil:
		reason = "invalid"
	case err == nil && lost(info, from):
		reason = "retention"
	}
	if reason == "" {
		return ss.replay(ctx, scope, from)
	}
	last := "0-0"
	if err == nil && info.LastGeneratedID != "" {
		last = info.LastGeneratedID
	}
	ev := &eventsv1.Event{Scope: scope, Cursor: last, Payload: &eventsv1.Event_Resync{Resync: &eventsv1.Resync{Reason: reason}}}
	return ss.deliver(NewEvent(ev))
}

// replay sends the scope's entries after from, in pages.
func (ss *session) replay(ctx context.Context, scope string, from StreamID) error {
	key := ss.h.log.Key(scope)
	if last, ok := ss.last[scope]; !ok || last.Compare(from) < 0 {
		// Nothing at or before from may be sent from the queue either.
		ss.last[scope] = from
	}
	start := "(" + from.String()
	for {
		msgs, err := ss.h.rdb.XRangeN(ctx, key, start, "+", replayPage).Result()
		if err != nil && err != redis.Nil {
			return err
		}
		for _, m := range msgs {
			ev, err := events.Decode(scope, m)
			if err != nil {
				ss.h.logger.Error("undecodable event skipped", "err", err, "scope", scope, "id", m.ID)
				continue
			}
			if err := ss.deliver(NewEvent(ev)); err != nil {
				return err
			}
		}
		if len(msgs) < replayPage {
			return nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// lost reports whether entries after from may have been trimmed away. Once
// the stream was trimmed, a cursor before its first entry is taken as a gap
// (the one case it is not, a cursor exactly at the last trimmed entry, costs
// a needless resync); an entry deleted outright counts the same way.
func lost(info *redis.XInfoStream, from StreamID) bool {
	if maxDel, err := ParseID(info.MaxDeletedEntryID); err == nil && from.Compare(maxDel) < 0 {
		return true
	}
	if info.EntriesAdded <= info.Length {
		return false // never trimmed
	}
	first, err := ParseID(info.FirstEntry.ID)
	return err == nil && from.Compare(first) < 0
}

func isNoSuchKey(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "no such key")
}
