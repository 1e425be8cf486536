// Package storetest is the contract of presence.Store, written once and
// run against every implementation: a store passes when it behaves as the
// presence rules expect, whatever keeps its data.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/accordchat/accord/services/presence/internal/presence"
)

// NewStore returns an empty store, isolated from every other one, whose
// sessions expire expiry after their last heartbeat.
type NewStore func(t *testing.T, expiry time.Duration) presence.Store

const expiry = time.Minute

// Run runs the contract against the stores newStore makes.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s presence.Store)
	}{
		{"unknown users are offline with status online", testUnknown},
		{"an opened session makes its user online until it expires", testOpen},
		{"heartbeats renew, refuse others' sessions and re-register unknown ones", testHeartbeat},
		{"a user is offline once their last session closes", testClose},
		{"a chosen status outlives sessions", testStatus},
		{"a sweep ends expired sessions once", testSweep},
		{"readers and heartbeats agree on the instant a session expires", testExpiryInstant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t, expiry)) })
	}
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// start is a time to call the store with: now, to the millisecond the
// store keeps.
func start() time.Time { return time.Now().Truncate(time.Millisecond) }

func get(t *testing.T, s presence.Store, uid string, now time.Time) presence.State {
	t.Helper()
	got, err := s.Get(context.Background(), []string{uid}, now)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if len(got) != 1 || got[0].UserID != uid {
		t.Fatalf("Get(%s): got %+v", uid, got)
	}
	return got[0]
}

func open(t *testing.T, s presence.Store, uid string, now time.Time) string {
	t.Helper()
	sid := newID()
	exp, err := s.Open(context.Background(), uid, sid, "web", now)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !exp.Equal(now.Add(expiry)) {
		t.Fatalf("Open: expiry %v, want %v", exp, now.Add(expiry))
	}
	return sid
}

func heartbeat(t *testing.T, s presence.Store, uid, sid string, now time.Time) presence.HeartbeatResult {
	t.Helper()
	r, exp, err := s.Heartbeat(context.Background(), uid, sid, now)
	if err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	if r != presence.NotFound && !exp.Equal(now.Add(expiry)) {
		t.Fatalf("Heartbeat: expiry %v, want %v", exp, now.Add(expiry))
	}
	return r
}

func closeSession(t *testing.T, s presence.Store, uid, sid string, now time.Time) bool {
	t.Helper()
	ok, err := s.Close(context.Background(), uid, sid, now)
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	return ok
}

func testUnknown(t *testing.T, s presence.Store) {
	a, b := newID(), newID()
	got, err := s.Get(context.Background(), []string{a, b}, start())
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{a, b} {
		if want := (presence.State{UserID: id, Status: presence.StatusOnline}); got[i] != want {
			t.Fatalf("user %d: got %+v, want %+v", i, got[i], want)
		}
	}
	if got, err := s.Get(context.Background(), nil, start()); err != nil || len(got) != 0 {
		t.Fatalf("Get of no users: %v, %v", got, err)
	}
}

func testOpen(t *testing.T, s presence.Store) {
	a := newID()
	t0 := start()
	open(t, s, a, t0)
	st := get(t, s, a, t0)
	if !st.Online || st.Status != presence.StatusOnline || !st.SelfTime.Equal(t0) || !st.OthersTime.Equal(t0) || st.Version < 1 {
		t.Fatalf("after open: %+v", st)
	}
	// A second session changes nothing anyone sees.
	open(t, s, a, t0.Add(time.Second))
	if again := get(t, s, a, t0.Add(time.Second)); again.Version != st.Version || !again.Online {
		t.Fatalf("after a second open: %+v, was %+v", again, st)
	}
	// Readers see the expiry of every session before any sweep.
	if st := get(t, s, a, t0.Add(time.Second+expiry+time.Millisecond)); st.Online {
		t.Fatalf("after every session expired: %+v", st)
	}
}

func testHeartbeat(t *testing.T, s presence.Store) {
	a, b := newID(), newID()
	t0 := start()
	sid := open(t, s, a, t0)
	if r := heartbeat(t, s, a, sid, t0.Add(expiry/2)); r != presence.Renewed {
		t.Fatalf("own session: got %v, want Renewed", r)
	}
	// Renewed: alive past the first expiry.
	if st := get(t, s, a, t0.Add(expiry+time.Second)); !st.Online {
		t.Fatalf("after a heartbeat: %+v", st)
	}
	if r := heartbeat(t, s, b, sid, t0); r != presence.NotFound {
		t.Fatalf("another user's session: got %v, want NotFound", r)
	}
	// A session nobody knows is registered again, and makes b online.
	if r := heartbeat(t, s, b, newID(), t0); r != presence.Reregistered {
		t.Fatalf("unknown session: got %v, want Reregistered", r)
	}
	if st := get(t, s, b, t0); !st.Online {
		t.Fatalf("after re-registering: %+v", st)
	}
	// A heartbeat after the expiry ends the session.
	late := t0.Add(expiry/2 + expiry + time.Millisecond)
	if r := heartbeat(t, s, a, sid, late); r != presence.NotFound {
		t.Fatalf("expired session: got %v, want NotFound", r)
	}
	if r := heartbeat(t, s, a, sid, late); r != presence.NotFound {
		t.Fatalf("ended session: got %v, want NotFound", r)
	}
}

func testClose(t *testing.T, s presence.Store) {
	a, b := newID(), newID()
	t0 := start()
	s1, s2 := open(t, s, a, t0), open(t, s, a, t0)
	v0 := get(t, s, a, t0).Version
	if closeSession(t, s, b, s1, t0) {
		t.Fatal("closed another user's session")
	}
	if !closeSession(t, s, a, s1, t0.Add(time.Second)) {
		t.Fatal("close of own session refused")
	}
	if st := get(t, s, a, t0.Add(time.Second)); !st.Online {
		t.Fatalf("with one session left: %+v", st)
	}
	if !closeSession(t, s, a, s2, t0.Add(2*time.Second)) {
		t.Fatal("close of own session refused")
	}
	st := get(t, s, a, t0.Add(2*time.Second))
	if st.Online || st.Version <= v0 || !st.SelfTime.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("after the last close: %+v (version was %d)", st, v0)
	}
	// Retries succeed; a closed session cannot be revived.
	if !closeSession(t, s, a, s2, t0.Add(3*time.Second)) {
		t.Fatal("closing again refused")
	}
	if r := heartbeat(t, s, a, s2, t0.Add(3*time.Second)); r != presence.NotFound {
		t.Fatalf("heartbeat of a closed session: got %v, want NotFound", r)
	}
	if closeSession(t, s, a, newID(), t0) {
		t.Fatal("closed an unknown session")
	}
}

func testStatus(t *testing.T, s presence.Store) {
	a := newID()
	t0 := start()
	st, err := s.SetStatus(context.Background(), a, presence.StatusInvisible, t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.UserID != a || st.Online || st.Status != presence.StatusInvisible {
		t.Fatalf("SetStatus while offline: %+v", st)
	}
	sid := open(t, s, a, t0.Add(time.Second))
	got := get(t, s, a, t0.Add(time.Second))
	if !got.Online || got.Status != presence.StatusInvisible {
		t.Fatalf("online and invisible: %+v", got)
	}
	// Others see nothing change while a is invisible.
	if !got.OthersTime.IsZero() {
		t.Fatalf("others saw a change of an invisible user: %+v", got)
	}
	closeSession(t, s, a, sid, t0.Add(2*time.Second))
	st, err = s.SetStatus(context.Background(), a, presence.StatusDND, t0.Add(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != presence.StatusDND || get(t, s, a, t0.Add(3*time.Second)).Status != presence.StatusDND {
		t.Fatalf("status after sessions: %+v", st)
	}
}

func testSweep(t *testing.T, s presence.Store) {
	ctx := context.Background()
	a, b := newID(), newID()
	t0 := start()
	sa := open(t, s, a, t0)
	open(t, s, b, t0.Add(expiry/2))
	if n, err := s.Sweep(ctx, t0.Add(expiry/2), 100); err != nil || n != 0 {
		t.Fatalf("sweep before any expiry: %d, %v", n, err)
	}
	at := t0.Add(expiry + time.Millisecond)
	if n, err := s.Sweep(ctx, at, 100); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v; want 1 session", n, err)
	}
	st := get(t, s, a, at)
	if st.Online || !st.SelfTime.Equal(at) {
		t.Fatalf("after the sweep: %+v", st)
	}
	if !get(t, s, b, at).Online {
		t.Fatal("the sweep ended a live session")
	}
	if n, err := s.Sweep(ctx, at, 100); err != nil || n != 0 {
		t.Fatalf("second sweep: %d, %v; want nothing", n, err)
	}
	if r := heartbeat(t, s, a, sa, at); r != presence.NotFound {
		t.Fatalf("heartbeat of a swept session: got %v, want NotFound", r)
	}
}

// testExpiryInstant: callers pass times finer than the millisecond the
// store keeps, which counts in whole milliseconds. A reader that sees a
// session's user offline and a heartbeat at the same instant must agree
// that the session ended; else a user is shown offline while a heartbeat
// keeps their session alive.
func testExpiryInstant(t *testing.T, s presence.Store) {
	for _, tc := range []struct {
		name   string
		after  time.Duration // past the expiry
		online bool
	}{
		{"at the expiry", 0, true},
		{"within its millisecond", 500 * time.Microsecond, true},
		{"a millisecond past it", time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newID()
			t0 := start()
			sid := open(t, s, a, t0)
			at := t0.Add(expiry + tc.after)
			if st := get(t, s, a, at); st.Online != tc.online {
				t.Fatalf("Get: online = %v, want %v", st.Online, tc.online)
			}
			want := presence.NotFound
			if tc.online {
				want = presence.Renewed
			}
			if r := heartbeat(t, s, a, sid, at); r != want {
				t.Fatalf("Heartbeat: got %v, want %v", r, want)
			}
		})
	}
}
