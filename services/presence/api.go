package presence

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/presence/internal/store"
)

// unavailable logs a Redis or peer failure and tells the caller to retry.
func (svc *Service) unavailable(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	svc.log.WarnContext(ctx, "presence dependency failed", "what", what, "err", err)
	return errs.Unavailable("presence is unavailable; retry")
}

func errSessionNotFound() error {
	return errs.NotFound("no such presence session; open a new one").WithReason("SESSION_NOT_FOUND")
}

// OpenSession starts a session for the caller's connection.
func (svc *Service) OpenSession(ctx context.Context, req *presencev1.OpenSessionRequest) (*presencev1.OpenSessionResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	client := req.GetClient()
	if client == "" {
		client = "unknown"
	}
	sid := newSessionID()
	exp, err := svc.store.Open(ctx, p.UserID, sid, client, svc.opts.Now())
	if err != nil {
		return nil, svc.unavailable(ctx, "open session", err)
	}
	return &presencev1.OpenSessionResponse{
		SessionId:         sid,
		HeartbeatInterval: durationpb.New(svc.opts.HeartbeatInterval),
		ExpireTime:        timestamppb.New(exp),
	}, nil
}

// Heartbeat keeps a session of the caller alive.
func (svc *Service) Heartbeat(ctx context.Context, req *presencev1.HeartbeatRequest) (*presencev1.HeartbeatResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetSessionId() == "" {
		return nil, errs.Invalid("session_id", "required")
	}
	res, exp, err := svc.store.Heartbeat(ctx, p.UserID, req.GetSessionId(), svc.opts.Now())
	if err != nil {
		return nil, svc.unavailable(ctx, "heartbeat", err)
	}
	switch res {
	case store.NotFound:
		return nil, errSessionNotFound()
	case store.Reregistered:
		svc.log.DebugContext(ctx, "unknown presence session registered again", "user", p.UserID)
	}
	return &presencev1.HeartbeatResponse{ExpireTime: timestamppb.New(exp)}, nil
}

// CloseSession ends a session of the caller. Closing an ended session of
// the caller again succeeds, so that retries are safe.
func (svc *Service) CloseSession(ctx context.Context, req *presencev1.CloseSessionRequest) (*presencev1.CloseSessionResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetSessionId() == "" {
		return nil, errs.Invalid("session_id", "required")
	}
	ok, err := svc.store.Close(ctx, p.UserID, req.GetSessionId(), svc.opts.Now())
	if err != nil {
		return nil, svc.unavailable(ctx, "close session", err)
	}
	if !ok {
		return nil, errSessionNotFound()
	}
	return &presencev1.CloseSessionResponse{}, nil
}

// SetStatus sets the status the caller chose; it outlives sessions.
func (svc *Service) SetStatus(ctx context.Context, req *presencev1.SetStatusRequest) (*presencev1.SetStatusResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	switch req.GetStatus() {
	case presencev1.Status_STATUS_ONLINE, presencev1.Status_STATUS_IDLE, presencev1.Status_STATUS_DND, presencev1.Status_STATUS_INVISIBLE:
	default:
		return nil, errs.Invalid("status", "must be ONLINE, IDLE, DND or INVISIBLE")
	}
	st, err := svc.store.SetStatus(ctx, p.UserID, int32(req.GetStatus()), svc.opts.Now())
	if err != nil {
		return nil, svc.unavailable(ctx, "set status", err)
	}
	// As others see it: the response tells an invisible user what they look like.
	return &presencev1.SetStatusResponse{Presence: view("", st, true)}, nil
}

// BatchGetPresence returns the presence of up to 1,000 users, in request
// order, in one Redis round trip. Users the caller may not see are offline.
func (svc *Service) BatchGetPresence(ctx context.Context, req *presencev1.BatchGetPresenceRequest) (*presencev1.BatchGetPresenceResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	ids := unique(req.GetUserIds())
	if len(ids) == 0 {
		return nil, errs.Invalid("user_ids", "name at least one user")
	}
	// Ask who is visible while reading Redis: the two take about as long.
	var (
		visible map[string]bool
		visErr  error
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		visible, visErr = svc.vis.Visible(ctx, p.UserID, ids)
	}()
	states, err := svc.store.Get(ctx, ids, svc.opts.Now())
	<-done
	if err != nil {
		return nil, svc.unavailable(ctx, "get presence", err)
	}
	if visErr != nil {
		return nil, svc.unavailable(ctx, "visibility", visErr)
	}
	byID := make(map[string]*presencev1.Presence, len(ids))
	for _, st := range states {
		byID[st.UserID] = view(p.UserID, st, visible[st.UserID])
	}
	out := make([]*presencev1.Presence, len(req.GetUserIds()))
	for i, id := range req.GetUserIds() {
		out[i] = byID[id]
	}
	return &presencev1.BatchGetPresenceResponse{Presences: out}, nil
}

// view is st as viewer may see it. Others see an invisible user offline,
// with the time of the last change they could see; users hidden from the
// viewer are offline with no time at all.
func view(viewer string, st store.State, visible bool) *presencev1.Presence {
	p := &presencev1.Presence{UserId: st.UserID, Status: presencev1.Status_STATUS_OFFLINE}
	if !visible {
		return p
	}
	t := st.OthersTime
	if st.UserID == viewer {
		t = st.SelfTime
		if st.Online {
			p.Status = presencev1.Status(st.Status)
		}
	} else if st.Online && st.Status != store.StatusInvisible {
		p.Status = presencev1.Status(st.Status)
	}
	if !t.IsZero() {
		p.UpdateTime = timestamppb.New(t)
	}
	return p
}

// unique returns ids without repeats, in first-seen order.
func unique(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}

// watchReadyTimeout bounds how long a watch waits for the instance's first
// subscription (at startup, or while Redis is down).
const watchReadyTimeout = 5 * time.Second

// maxBatch bounds the queued changes taken into one stream message.
const maxBatch = 256

// WatchPresence streams a snapshot of the users' presence, then each change
// the caller may see.
func (svc *Service) WatchPresence(req *presencev1.WatchPresenceRequest, stream presencev1.PresenceService_WatchPresenceServer) error {
	ctx := stream.Context()
	p, err := auth.User(ctx)
	if err != nil {
		return err
	}
	ids := unique(req.GetUserIds())
	select {
	case <-svc.hub.Ready():
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(watchReadyTimeout):
		return errs.Unavailable("presence changes are not available yet; retry")
	}
	// Register before reading the snapshot, so no change falls in between;
	// a change older than the snapshot is recognised by its version.
	w := svc.hub.Watch(ids)
	defer w.Stop()

	ws := &watchState{viewer: p.UserID, known: map[string]store.State{}, sent: map[string]presencev1.Status{}}
	if ws.visible, err = svc.vis.Visible(ctx, p.UserID, ids); err != nil {
		return svc.unavailable(ctx, "visibility", err)
	}
	states, err := svc.store.Get(ctx, ids, svc.opts.Now())
	if err != nil {
		return svc.unavailable(ctx, "get presence", err)
	}
	snap := make([]*presencev1.Presence, 0, len(ids))
	for _, st := range states {
		ws.known[st.UserID] = st
		v := view(p.UserID, st, ws.visible[st.UserID])
		ws.sent[st.UserID] = v.Status
		snap = append(snap, v)
	}
	if err := stream.Send(&presencev1.WatchPresenceResponse{Snapshot: true, Presences: snap}); err != nil {
		return err
	}

	refresh := time.NewTicker(svc.opts.VisibilityTTL)
	defer refresh.Stop()
	for {
		var out []*presencev1.Presence
		select {
		case <-ctx.Done():
			return nil
		case <-w.Dropped():
			svc.log.InfoContext(ctx, "presence watcher dropped: too slow", "user", p.UserID, "users", len(ids))
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
			states, err := svc.store.Get(ctx, ids, svc.opts.Now())
			if err != nil {
				return svc.unavailable(ctx, "get presence", err)
			}
			for _, st := range states {
				out = ws.apply(out, st, true)
			}
		case <-refresh.C:
			vis, err := svc.vis.Visible(ctx, p.UserID, ids)
			if err != nil {
				// Keep the last answer; the next tick asks again.
				svc.log.WarnContext(ctx, "presence visibility refresh failed", "err", err)
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
			states, err := svc.store.Get(ctx, changed, svc.opts.Now())
			if err != nil {
				return svc.unavailable(ctx, "get presence", err)
			}
			for _, st := range states {
				out = ws.apply(out, st, true)
			}
		}
		if len(out) == 0 {
			continue
		}
		if err := stream.Send(&presencev1.WatchPresenceResponse{Presences: out}); err != nil {
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
	known   map[string]store.State
	sent    map[string]presencev1.Status
}

// apply takes in a state of a watched user and appends to out what the
// viewer should be told. Unless force, states older than the known one are
// ignored (a change published before the snapshot was read).
func (ws *watchState) apply(out []*presencev1.Presence, st store.State, force bool) []*presencev1.Presence {
	if old, ok := ws.known[st.UserID]; ok && !force && !st.Newer(old) {
		return out
	}
	ws.known[st.UserID] = st
	v := view(ws.viewer, st, ws.visible[st.UserID])
	if ws.sent[st.UserID] == v.Status {
		return out
	}
	ws.sent[st.UserID] = v.Status
	return append(out, v)
}
