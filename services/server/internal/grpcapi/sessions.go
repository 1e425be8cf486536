package grpcapi

import (
	"context"
	"errors"
	"sync"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
)

// A FollowScopes stream carries the events of many users' sockets, so it
// cannot end with one session the way StreamEvents does (the interceptor
// binds a user's stream to its session). Instead the gateway watches each
// socket's session on the stream, and is told when one ends: revoked
// (logout, refresh-token reuse) or its token expired.

// SessionWatch is what FollowScopes needs to watch sessions.
type SessionWatch struct {
	Verifier *auth.Verifier
	Binder   auth.SessionBinder
}

// sessionWatches are the watched sessions of one FollowScopes stream.
type sessionWatches struct {
	ctx   context.Context
	sw    SessionWatch
	ended func(*eventsv1.SessionEnded) error

	mu      sync.Mutex
	watches map[string]*sessionWatchEntry
	closed  bool
}

type sessionWatchEntry struct {
	release func()
	stop    func() bool
}

func newSessionWatches(ctx context.Context, sw SessionWatch, ended func(*eventsv1.SessionEnded) error) *sessionWatches {
	return &sessionWatches{ctx: ctx, sw: sw, ended: ended, watches: map[string]*sessionWatchEntry{}}
}

// unwatch stops watching key.
func (w *sessionWatches) unwatch(key string) {
	w.mu.Lock()
	e := w.watches[key]
	delete(w.watches, key)
	w.mu.Unlock()
	if e != nil {
		e.stop()
		e.release()
	}
}

// watch watches the session of token under key. A session that has ended
// already is reported before watch returns, so before anything the caller
// sends afterwards. Only a failure to check sessions is returned.
func (w *sessionWatches) watch(key, token string) error {
	w.unwatch(key)
	if w.sw.Verifier == nil || w.sw.Binder == nil {
		return errs.Unavailable("session watch unavailable")
	}
	p, err := w.sw.Verifier.Verify(token)
	if err == nil && (p.IsService() || p.SessionID == "") {
		err = errs.Unauthenticated("not a user session token").WithReason("TOKEN_INVALID")
	}
	if err != nil {
		return w.report(key, err)
	}
	bctx, release, err := w.sw.Binder.Bind(w.ctx, p)
	if err != nil {
		return err
	}
	if bctx.Err() != nil { // revoked already
		release()
		return w.report(key, context.Cause(bctx))
	}
	e := &sessionWatchEntry{release: release}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		release()
		return nil
	}
	w.watches[key] = e
	// Under mu: the function, which takes mu, sees e in the map.
	e.stop = context.AfterFunc(bctx, func() {
		cause := context.Cause(bctx)
		w.mu.Lock()
		current := w.watches[key] == e
		if current {
			delete(w.watches, key)
		}
		w.mu.Unlock()
		release()
		// Otherwise the stream ended.
		if current && (errors.Is(cause, auth.ErrSessionRevoked) || errors.Is(cause, auth.ErrTokenExpired)) {
			_ = w.report(key, cause)
		}
	})
	return nil
}

// report sends the end of key's session for err, an UNAUTHENTICATED error.
func (w *sessionWatches) report(key string, err error) error {
	reason, msg := "UNAUTHENTICATED", "session ended"
	if e, ok := errs.As(err); ok {
		reason, msg = e.Reason, e.Message
	}
	return w.ended(&eventsv1.SessionEnded{Key: key, Reason: reason, Message: msg})
}

// close stops every watch.
func (w *sessionWatches) close() {
	w.mu.Lock()
	all := w.watches
	w.watches = map[string]*sessionWatchEntry{}
	w.closed = true
	w.mu.Unlock()
	for _, e := range all {
		e.stop()
		e.release()
	}
}
