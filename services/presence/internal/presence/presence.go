// Package presence holds the presence service's rules: sessions kept alive
// by heartbeats, the status users choose, who may see whom, and how a
// user's state looks to a given viewer. It owns the interfaces of the
// store it keeps state in, of the feed of changes, and of the peer
// services it asks about relationships; it does no I/O of its own.
package presence

import (
	"context"
	"time"
)

// Status is a user's presence status. The numbers are those of
// accord.presence.v1.Status, and the store keeps them as they are.
type Status int32

// Statuses.
const (
	StatusOffline   Status = 1
	StatusOnline    Status = 2
	StatusIdle      Status = 3
	StatusDND       Status = 4
	StatusInvisible Status = 5
)

// Chosen reports whether s is a status a user may choose.
func (s Status) Chosen() bool { return s >= StatusOnline && s <= StatusInvisible }

// State is one user's presence as stored: what the user chose and whether a
// session lives. Views for a given viewer are computed from it.
type State struct {
	UserID string
	// Online tells whether a session lives.
	Online bool
	// Status is the chosen status (StatusOnline .. StatusInvisible).
	Status Status
	// SelfTime is when the state last changed as the user sees it;
	// OthersTime is when it last changed as others see it (zero: never).
	SelfTime, OthersTime time.Time
	// Version grows with every announced change of the user (it restarts
	// when the store loses its data; SelfTime then orders the states).
	Version int64
}

// Newer reports whether s is a later state of the same user than o.
func (s State) Newer(o State) bool {
	return s.Version > o.Version || s.SelfTime.After(o.SelfTime)
}

// Presence is a user's state as one viewer may see it.
type Presence struct {
	UserID string
	Status Status
	// UpdateTime is when it last changed as the viewer could see; zero
	// when unknown or hidden.
	UpdateTime time.Time
}

// View is st as viewer may see it. Others see an invisible user offline,
// with the time of the last change they could see; users hidden from the
// viewer are offline with no time at all.
func View(viewer string, st State, visible bool) Presence {
	p := Presence{UserID: st.UserID, Status: StatusOffline}
	if !visible {
		return p
	}
	t := st.OthersTime
	if st.UserID == viewer {
		t = st.SelfTime
		if st.Online {
			p.Status = st.Status
		}
	} else if st.Online && st.Status != StatusInvisible {
		p.Status = st.Status
	}
	p.UpdateTime = t
	return p
}

// HeartbeatResult tells what a heartbeat did.
type HeartbeatResult int

// Heartbeat results.
const (
	// NotFound: the session is not the caller's, or it ended (closed or expired).
	NotFound HeartbeatResult = -1
	// Renewed: the session lives on.
	Renewed HeartbeatResult = 0
	// Reregistered: nothing was known of the session (the store lost its
	// data, or its tombstone is gone): it was registered again.
	Reregistered HeartbeatResult = 1
)

// Store keeps sessions and states, logs opened sessions, and announces
// every change a viewer could notice to the Feed. Every method takes the
// time of the call; sessions expire a fixed time after their last
// heartbeat, and ended sessions are remembered for a while (tombstones).
type Store interface {
	// Open starts session sid of user uid, logs and counts it, announces
	// the user online if they were not, and returns the session's expiry.
	Open(ctx context.Context, uid, sid, client string, now time.Time) (time.Time, error)
	// Heartbeat keeps session sid of uid alive and returns its new expiry.
	Heartbeat(ctx context.Context, uid, sid string, now time.Time) (HeartbeatResult, time.Time, error)
	// Close ends session sid of uid. It reports false when the session is
	// not the caller's (or unknown); closing an ended session again succeeds.
	Close(ctx context.Context, uid, sid string, now time.Time) (bool, error)
	// SetStatus sets the status uid chose and returns their state.
	SetStatus(ctx context.Context, uid string, status Status, now time.Time) (State, error)
	// Get returns the states of uids, in order; a user the store knows
	// nothing of is offline with status online. A user whose every
	// session expired by now is offline even before a sweep announced it.
	Get(ctx context.Context, uids []string, now time.Time) ([]State, error)
	// Sweep ends the sessions whose expiry passed by now, at most batch of
	// them, and tells how many it looked at. Sweepers of several instances
	// may run at once: each session is ended (and announced) once.
	Sweep(ctx context.Context, now time.Time, batch int64) (int, error)
}

// Feed delivers the changes the store announces to this instance's
// watchers.
type Feed interface {
	// Ready is closed once changes are first being received.
	Ready() <-chan struct{}
	// Watch registers a watcher of users. Call Stop when done.
	Watch(users []string) Watch
}

// Watch receives the changes of a set of users.
type Watch interface {
	// Changes delivers the watched users' changes, in announcement order.
	Changes() <-chan State
	// Resync signals that changes may have been lost: the watcher should
	// read its users' state again.
	Resync() <-chan struct{}
	// Dropped is closed when the watcher fell behind and was dropped.
	Dropped() <-chan struct{}
	// Stop unregisters the watcher.
	Stop()
}
