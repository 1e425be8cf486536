package presence

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"time"

	"github.com/accordchat/accord/platform/errs"
)

// Options tune the Service; the caller fills in every field.
type Options struct {
	// HeartbeatInterval is how often clients must send heartbeats.
	HeartbeatInterval time.Duration
	// SweepInterval is how often the sweeper looks for expired sessions.
	SweepInterval time.Duration
	// VisibilityTTL is how long a watcher trusts its visibility answer.
	VisibilityTTL time.Duration
	// Now is the clock.
	Now func() time.Time
}

// Deps are what the Service is built from.
type Deps struct {
	Store      Store
	Feed       Feed
	Visibility Visibility
	Log        *slog.Logger
}

// Service implements presence over its store, feed and visibility rules.
type Service struct {
	store Store
	feed  Feed
	vis   Visibility
	log   *slog.Logger
	opts  Options
}

// NewService returns a Service.
func NewService(d Deps, o Options) *Service {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: d.Store, feed: d.Feed, vis: d.Visibility, log: log, opts: o}
}

// Session is an opened session.
type Session struct {
	ID string
	// HeartbeatInterval is how often the client must send heartbeats.
	HeartbeatInterval time.Duration
	// Expires is when the session ends without a heartbeat.
	Expires time.Time
}

// unavailable logs a store or peer failure and tells the caller to retry.
func (s *Service) unavailable(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.log.WarnContext(ctx, "presence dependency failed", "what", what, "err", err)
	return errs.Unavailable("presence is unavailable; retry")
}

func errSessionNotFound() error {
	return errs.NotFound("no such presence session; open a new one").WithReason("SESSION_NOT_FOUND")
}

// OpenSession starts a session of user uid's connection from client.
func (s *Service) OpenSession(ctx context.Context, uid, client string) (Session, error) {
	if client == "" {
		client = "unknown"
	}
	sid := newSessionID()
	exp, err := s.store.Open(ctx, uid, sid, client, s.opts.Now())
	if err != nil {
		return Session{}, s.unavailable(ctx, "open session", err)
	}
	return Session{ID: sid, HeartbeatInterval: s.opts.HeartbeatInterval, Expires: exp}, nil
}

// Heartbeat keeps session sid of uid alive and returns its new expiry. A
// heartbeat for a session that ended (closed, or expired) is NOT_FOUND, so
// that the client opens a new one. A heartbeat for a session the store
// knows nothing about (it lost its data) registers the session again:
// session ids are unguessable and bound to their user, so this revives
// only the caller's own connection.
func (s *Service) Heartbeat(ctx context.Context, uid, sid string) (time.Time, error) {
	if sid == "" {
		return time.Time{}, errs.Invalid("session_id", "required")
	}
	res, exp, err := s.store.Heartbeat(ctx, uid, sid, s.opts.Now())
	if err != nil {
		return time.Time{}, s.unavailable(ctx, "heartbeat", err)
	}
	switch res {
	case NotFound:
		return time.Time{}, errSessionNotFound()
	case Reregistered:
		s.log.DebugContext(ctx, "unknown presence session registered again", "user", uid)
	}
	return exp, nil
}

// CloseSession ends session sid of uid. Closing an ended session of the
// caller again succeeds, so that retries are safe.
func (s *Service) CloseSession(ctx context.Context, uid, sid string) error {
	if sid == "" {
		return errs.Invalid("session_id", "required")
	}
	ok, err := s.store.Close(ctx, uid, sid, s.opts.Now())
	if err != nil {
		return s.unavailable(ctx, "close session", err)
	}
	if !ok {
		return errSessionNotFound()
	}
	return nil
}

// SetStatus sets the status uid chose; it outlives sessions. It returns
// uid's presence as others see it, so that an invisible user learns what
// they look like.
func (s *Service) SetStatus(ctx context.Context, uid string, status Status) (Presence, error) {
	if !status.Chosen() {
		return Presence{}, errs.Invalid("status", "must be ONLINE, IDLE, DND or INVISIBLE")
	}
	st, err := s.store.SetStatus(ctx, uid, status, s.opts.Now())
	if err != nil {
		return Presence{}, s.unavailable(ctx, "set status", err)
	}
	return View("", st, true), nil
}

// BatchGet returns the presence of users as viewer may see it, in the
// order of ids (repeats included). Users the viewer may not see are
// offline.
func (s *Service) BatchGet(ctx context.Context, viewer string, ids []string) ([]Presence, error) {
	uniq := unique(ids)
	if len(uniq) == 0 {
		return nil, errs.Invalid("user_ids", "name at least one user")
	}
	// Ask who is visible while reading the store: the two take about as long.
	var (
		visible map[string]bool
		visErr  error
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		visible, visErr = s.vis.Visible(ctx, viewer, uniq)
	}()
	states, err := s.store.Get(ctx, uniq, s.opts.Now())
	<-done
	if err != nil {
		return nil, s.unavailable(ctx, "get presence", err)
	}
	if visErr != nil {
		return nil, s.unavailable(ctx, "visibility", visErr)
	}
	byID := make(map[string]Presence, len(uniq))
	for _, st := range states {
		byID[st.UserID] = View(viewer, st, visible[st.UserID])
	}
	out := make([]Presence, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out, nil
}

// sweepBatch bounds the sessions ended per store round trip.
const sweepBatch = 500

// Sweep ends expired sessions every SweepInterval until ctx ends. Errors
// (store down) are logged and retried at the next tick: sweeping is
// idempotent.
func (s *Service) Sweep(ctx context.Context) {
	t := time.NewTicker(s.opts.SweepInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := s.opts.Now()
		for {
			n, err := s.store.Sweep(ctx, now, sweepBatch)
			if err != nil {
				if ctx.Err() == nil && !failing {
					s.log.Warn("presence sweep failed; retrying", "err", err)
				}
				failing = true
				break
			}
			if failing {
				s.log.Info("presence sweep recovered")
				failing = false
			}
			if n < sweepBatch {
				break
			}
		}
	}
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

// newSessionID returns 128 random bits, URL-safe.
func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
