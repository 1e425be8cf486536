package auth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/accordchat/accord/platform/errs"
)

// ErrSessionRevoked and ErrTokenExpired are the causes with which a bound
// context ends (see Revocations.Bind); both are UNAUTHENTICATED errors.
var (
	ErrSessionRevoked = errs.Unauthenticated("session ended; sign in again").WithReason("SESSION_REVOKED")
	ErrTokenExpired   = errs.Unauthenticated("access token expired").WithReason("TOKEN_EXPIRED")
)

// SessionBinder ends long calls when their session ends.
type SessionBinder interface {
	// Bind returns a context derived from ctx that is cancelled, with cause
	// ErrSessionRevoked or ErrTokenExpired, when p's session is revoked or
	// its token expires; release must be called when the call ends.
	Bind(ctx context.Context, p Principal) (bound context.Context, release func(), err error)
}

// channel is the pub/sub channel on which revoked session ids are announced.
func (r *Revocations) channel() string { return r.keys.Key("revocations") }

// binding is one bound call.
type binding struct {
	cancel context.CancelCauseFunc
}

// watcher keeps the bound calls of one process, by session id, and the one
// Redis subscription that ends them. It subscribes while at least one call
// is bound.
type watcher struct {
	mu       sync.Mutex
	sessions map[string]map[*binding]struct{}
	n        int
	ps       *redis.PubSub
	stop     context.CancelFunc
	done     chan struct{}
}

// Bind implements SessionBinder. The announcement on the pub/sub channel
// ends the calls of a session on every process at once; the revocation set
// stays the source of truth for calls bound while the announcement was on
// its way, and after the subscription is re-established.
func (r *Revocations) Bind(ctx context.Context, p Principal) (context.Context, func(), error) {
	bctx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	if !p.ExpiresAt.IsZero() {
		timer = time.AfterFunc(time.Until(p.ExpiresAt), func() { cancel(ErrTokenExpired) })
	}
	b := &binding{cancel: cancel}
	if err := r.add(ctx, p.SessionID, b); err != nil {
		if timer != nil {
			timer.Stop()
		}
		cancel(nil)
		return nil, nil, err
	}
	release := func() {
		if timer != nil {
			timer.Stop()
		}
		r.remove(p.SessionID, b)
		cancel(nil)
	}
	revoked, err := r.revoked(ctx, p.SessionID)
	if err != nil {
		release()
		return nil, nil, errs.Unavailable("session check unavailable")
	}
	if revoked {
		cancel(ErrSessionRevoked)
	}
	return bctx, release, nil
}

// add registers b under sid and makes sure the subscription is confirmed.
func (r *Revocations) add(ctx context.Context, sid string, b *binding) error {
	w := &r.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ps == nil {
		sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		ps := r.rdb.Subscribe(sctx, r.channel())
		// Wait for the confirmation: announcements made before it are
		// covered by the check of the revocation set that follows.
		if _, err := ps.Receive(ctx); err != nil {
			_ = ps.Close()
			stop()
			return errs.Unavailable("session check unavailable")
		}
		w.ps, w.stop, w.done = ps, stop, make(chan struct{})
		w.sessions = map[string]map[*binding]struct{}{}
		go r.listen(sctx, ps, w.done)
	}
	set := w.sessions[sid]
	if set == nil {
		set = map[*binding]struct{}{}
		w.sessions[sid] = set
	}
	set[b] = struct{}{}
	w.n++
	return nil
}

// remove forgets b; the last one closes the subscription.
func (r *Revocations) remove(sid string, b *binding) {
	w := &r.w
	w.mu.Lock()
	defer w.mu.Unlock()
	set := w.sessions[sid]
	if _, ok := set[b]; !ok {
		return
	}
	delete(set, b)
	if len(set) == 0 {
		delete(w.sessions, sid)
	}
	w.n--
	if w.n == 0 {
		_ = w.ps.Close()
		w.stop()
		w.ps, w.stop, w.sessions = nil, nil, nil
	}
}

// listen ends the bound calls of every announced session. After a
// reconnection (a new subscription confirmation) it checks every bound
// session against the revocation set, since announcements may have been
// missed meanwhile.
func (r *Revocations) listen(ctx context.Context, ps *redis.PubSub, done chan struct{}) {
	defer close(done)
	for m := range ps.ChannelWithSubscriptions() {
		switch m := m.(type) {
		case *redis.Message:
			r.end(ps, m.Payload)
		case *redis.Subscription:
			// add consumed the first confirmation: this is a new one.
			r.recheck(ctx, ps)
		}
	}
}

// end cancels the calls of session sid.
func (r *Revocations) end(ps *redis.PubSub, sid string) {
	w := &r.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ps != ps {
		return
	}
	for b := range w.sessions[sid] {
		b.cancel(ErrSessionRevoked)
	}
}

// recheck ends the calls of every bound session found in the revocation set.
func (r *Revocations) recheck(ctx context.Context, ps *redis.PubSub) {
	r.w.mu.Lock()
	var sids []string
	if r.w.ps == ps {
		for sid := range r.w.sessions {
			sids = append(sids, sid)
		}
	}
	r.w.mu.Unlock()
	for _, sid := range sids {
		revoked, err := r.revoked(ctx, sid)
		if err != nil && !errors.Is(err, context.Canceled) {
			continue
		}
		if revoked {
			r.end(ps, sid)
		}
	}
}
