package presence

import (
	"context"
	"errors"
	"time"

	"github.com/accordchat/accord/platform/errs"
)

// watchReadyTimeout bounds how long a watch waits for the instance's first
// subscription to changes (at startup, or while the store is down).
const watchReadyTimeout = 5 * time.Second

// maxBatch bounds the queued changes taken into one message.
const maxBatch = 256

// Sender sends one message of a watch: the snapshot first, then batches of
// changes.
type Sender func(snapshot bool, presences []Presence) error

// Watch sends viewer a snapshot of the presence of users ids, then each
// change viewer may see, until ctx ends (nil) or send fails (its error).
// A watcher that falls behind ends with RESOURCE_EXHAUSTED.
func (s *Service) Watch(ctx context.Context, viewer string, ids []string, send Sender) error {
	ids = unique(ids)
	select {
	case <-s.feed.Ready():
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(watchReadyTimeout):
		return errs.Unavailable("presence changes are not available yet; retry")
	}
	// Register before reading the snapshot, so no change falls in between;
	// a change older than the snapshot is recognised by its version.
	w := s.feed.Watch(ids)
	defer w.Stop()

	ws := &watchState{viewer: viewer, known: map[string]State{}, sent: map[string]Status{}}
	var err error
	if ws.visible, err = s.vis.Visible(ctx, viewer, ids); err != nil {
		return s.unavailable(ctx, "visibility", err)
	}
	states, err := s.store.Get(ctx, ids, s.opts.Now())
	if err != nil {
		return s.unavailable(ctx, "get presence", err)
	}
	snap := make([]Presence, 0, len(ids))
	for _, st := range states {
		ws.known[st.UserID] = st
		v := View(viewer, st, ws.visible[st.UserID])
		ws.sent[st.UserID] = v.Status
		snap = append(snap, v)
	}
	if err := send(true, snap); err != nil {
		return err
	}

	refresh := time.NewTicker(s.opts.VisibilityTTL)
	defer refresh.Stop()
	for {
		var out []Presence
		select {
		case <-ctx.Done():
			return nil
		case <-w.Dropped():
			s.log.InfoContext(ctx, "presence watcher dropped: too slow", "user", viewer, "users", len(ids))
			return errs.ResourceExhausted(0, "presence watcher fell behind; watch again").WithReason("WATCHER_TOO_SLOW")
		case st := <-w.Changes():
			out = ws.apply(out, st, false)
			// Take what else is queued, so a burst goes out in few messages.
			for n := 1; n < maxBatch; n++ {
				select {
				case st = <-w.Changes():
					out = ws.apply(out, st, false)
					continue
				default:
				}
				break
			}
		case <-w.Resync():
			// Changes were lost while the subscription was down: read
			// everything again and send what differs.
			states, err := s.store.Get(ctx, ids, s.opts.Now())
			if err != nil {
				return s.unavailable(ctx, "get presence", err)
			}
			for _, st := range states {
				out = ws.apply(out, st, true)
			}
		case <-refresh.C:
			vis, err := s.vis.Visible(ctx, viewer, ids)
			if err != nil {
				// Keep the last answer; the next tick asks again.
				s.log.WarnContext(ctx, "presence visibility refresh failed", "err", err)
				continue
			}
			var changed []string
			for _, id := range ids {
				if vis[id] != ws.visible[id] {
					changed = append(changed, id)
				}
			}
			ws.visible = vis
			if len(changed) == 0 {
				continue
			}
			states, err := s.store.Get(ctx, changed, s.opts.Now())
			if err != nil {
				return s.unavailable(ctx, "get presence", err)
			}
			for _, st := range states {
				out = ws.apply(out, st, true)
			}
		}
		if len(out) == 0 {
			continue
		}
		if err := send(false, out); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
	}
}

// watchState is what one watch knows and has sent.
type watchState struct {
	viewer  string
	visible map[string]bool
	known   map[string]State
	sent    map[string]Status
}

// apply takes in a state of a watched user and appends to out what the
// viewer should be told. Unless force, states older than the known one are
// ignored (a change published before the snapshot was read).
func (ws *watchState) apply(out []Presence, st State, force bool) []Presence {
	if old, ok := ws.known[st.UserID]; ok && !force && !st.Newer(old) {
		return out
	}
	ws.known[st.UserID] = st
	v := View(ws.viewer, st, ws.visible[st.UserID])
	if ws.sent[st.UserID] == v.Status {
		return out
	}
	ws.sent[st.UserID] = v.Status
	return append(out, v)
}
