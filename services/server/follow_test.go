package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/internal/feed"
)

// serviceCtx carries a service token, as a gateway's calls do.
func (w *world) serviceCtx() context.Context {
	tok, _, err := w.env.ServiceSigner.ServiceToken("gateway", 5*time.Minute)
	if err != nil {
		w.t.Fatal(err)
	}
	return auth.WithBearer(context.Background(), tok)
}

// follow collects one FollowScopes stream's responses in the background.
type follow struct {
	st   eventsv1.EventInternalService_FollowScopesClient
	mu   sync.Mutex
	resp []*eventsv1.FollowScopesResponse
	err  error
}

func openFollow(t *testing.T, w *world, c client) *follow {
	t.Helper()
	ctx, cancel := context.WithCancel(w.serviceCtx())
	t.Cleanup(cancel)
	st, err := c.FollowScopes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &follow{st: st}
	go func() {
		for {
			r, err := st.Recv()
			f.mu.Lock()
			if err != nil {
				f.err = err
				f.mu.Unlock()
				return
			}
			f.resp = append(f.resp, r)
			f.mu.Unlock()
		}
	}()
	return f
}

func (f *follow) send(t *testing.T, req *eventsv1.FollowScopesRequest) {
	t.Helper()
	if err := f.st.Send(req); err != nil {
		t.Fatal(err)
	}
}

func (f *follow) snapshot() ([]*eventsv1.FollowScopesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*eventsv1.FollowScopesResponse(nil), f.resp...), f.err
}

// events returns the events received so far, and whether every scope in
// started was acknowledged.
func (f *follow) events(started ...string) ([]*eventsv1.Event, bool) {
	rs, _ := f.snapshot()
	var evs []*eventsv1.Event
	acked := map[string]bool{}
	for _, r := range rs {
		if r.GetEvent() != nil {
			evs = append(evs, r.GetEvent())
		}
		if s := r.GetStarted(); s != nil {
			acked[s.GetScope()] = true
		}
	}
	for _, s := range started {
		if !acked[s] {
			return evs, false
		}
	}
	return evs, true
}

func appendN(t *testing.T, w *world, scope string, n int, tag string) []string {
	t.Helper()
	var ids []string
	for i := range n {
		ev := &eventsv1.Event{Payload: &eventsv1.Event_ChannelDeleted{ChannelDeleted: &eventsv1.ChannelDeleted{ChannelId: fmt.Sprint(tag, i)}}}
		id, err := w.log.Append(context.Background(), scope, ev)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// TestFollowScopes: one stream carries several scopes, each event once and
// in log order; removed scopes stop; scopes added with a position are
// replayed merged in log order across scopes before their live events.
func TestFollowScopes(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	a, b, u := events.ServerScope(platformtest.NewID()), events.ServerScope(platformtest.NewID()), events.UserScope(platformtest.NewID())

	t.Run("live scopes, each event once in order", func(t *testing.T) {
		f := openFollow(t, w, c)
		f.send(t, &eventsv1.FollowScopesRequest{Add: []*eventsv1.Cursor{{Scope: a}, {Scope: u}}})
		platformtest.Eventually(t, 10*time.Second, func() bool { _, ok := f.events(a, u); return ok }, "started")
		// Log order across scopes holds once the reader reads both scopes
		// together: a read that was blocked when a scope was added does not
		// include it. One event of each shows that it does.
		appendN(t, w, a, 1, "warm")
		appendN(t, w, u, 1, "warm")
		platformtest.Eventually(t, 10*time.Second, func() bool { evs, _ := f.events(); return len(evs) == 2 }, "warm-up")
		var want []string
		for i := range 20 {
			scope := a
			if i%3 == 0 {
				scope = u
			}
			want = append(want, appendN(t, w, scope, 1, "live")...)
		}
		platformtest.Eventually(t, 10*time.Second, func() bool { evs, _ := f.events(); return len(evs) >= 2+len(want) }, "the events")
		evs, _ := f.events()
		checkMerged(t, evs[2:], want)

		// Requests apply in order: the second acknowledgement of u shows
		// that the removal was applied.
		f.send(t, &eventsv1.FollowScopesRequest{Remove: []string{a}})
		f.send(t, &eventsv1.FollowScopesRequest{Add: []*eventsv1.Cursor{{Scope: u}}})
		platformtest.Eventually(t, 10*time.Second, func() bool {
			rs, _ := f.snapshot()
			n := 0
			for _, r := range rs {
				if r.GetStarted().GetScope() == u {
					n++
				}
			}
			return n == 2
		}, "the second acknowledgement")
		appendN(t, w, a, 3, "removed")
		marker := appendN(t, w, u, 1, "marker")[0]
		platformtest.Eventually(t, 10*time.Second, func() bool {
			evs, _ := f.events()
			return len(evs) > 0 && evs[len(evs)-1].GetCursor() == marker
		}, "the marker")
		evs, _ = f.events()
		if len(evs) != 2+len(want)+1 {
			t.Fatalf("a removed scope's events arrived: %d events, want %d", len(evs), 2+len(want)+1)
		}
	})

	t.Run("replay merges scopes in log order", func(t *testing.T) {
		var logged []string
		for i := range 30 {
			scope := a
			if i%2 == 1 {
				scope = b
			}
			logged = append(logged, appendN(t, w, scope, 1, "old")...)
		}
		f := openFollow(t, w, c)
		f.send(t, &eventsv1.FollowScopesRequest{Add: []*eventsv1.Cursor{{Scope: b, Position: logged[3]}, {Scope: a, Position: logged[2]}}})
		platformtest.Eventually(t, 10*time.Second, func() bool { _, ok := f.events(a, b); return ok }, "started")
		live := appendN(t, w, b, 2, "new")
		want := append(logged[4:], live...)
		platformtest.Eventually(t, 10*time.Second, func() bool { evs, _ := f.events(); return len(evs) >= len(want) }, "the events")
		evs, _ := f.events()
		checkMerged(t, evs, want)
	})

	t.Run("service tokens only", func(t *testing.T) {
		alice := w.user("Alice")
		st, err := c.FollowScopes(w.streamCtx(alice))
		if err == nil {
			_, err = st.Recv()
		}
		if code := status.Code(err); code != codes.PermissionDenied && code != codes.Unauthenticated {
			t.Fatalf("user token: %v", err)
		}
		if _, err := c.ReadScopes(w.ctx(alice), &eventsv1.ReadScopesRequest{}); status.Code(err) != codes.PermissionDenied && status.Code(err) != codes.Unauthenticated {
			t.Fatalf("user token: %v", err)
		}
	})

	t.Run("bad scopes name the field", func(t *testing.T) {
		f := openFollow(t, w, c)
		f.send(t, &eventsv1.FollowScopesRequest{Add: []*eventsv1.Cursor{{Scope: a}, {Scope: "channel:x"}}})
		platformtest.Eventually(t, 10*time.Second, func() bool { _, err := f.snapshot(); return err != nil }, "the end")
		_, err := f.snapshot()
		wantReason(t, err, codes.InvalidArgument, "add[1].scope")
		_, err = c.ReadScopes(w.serviceCtx(), &eventsv1.ReadScopesRequest{Cursors: []*eventsv1.Cursor{{Scope: "nope"}}})
		wantReason(t, err, codes.InvalidArgument, "cursors[0].scope")
	})
}

// TestReadScopes: pages merge scopes in log order and never put a later
// event of one scope before an earlier one of another; a bad cursor gets a
// resync.
func TestReadScopes(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	a, b := events.ServerScope(platformtest.NewID()), events.ServerScope(platformtest.NewID())
	var logged []string
	for i := range 25 {
		scope := a
		if i%5 == 0 {
			scope = b
		}
		logged = append(logged, appendN(t, w, scope, 1, "x")...)
	}
	cur := []*eventsv1.Cursor{{Scope: a, Position: "0-0"}, {Scope: b, Position: "0-0"}}
	var got []*eventsv1.Event
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("no end of pages")
		}
		res, err := c.ReadScopes(w.serviceCtx(), &eventsv1.ReadScopesRequest{Cursors: cur, PageSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range res.GetEvents() {
			got = append(got, ev)
			for _, c := range cur {
				if c.Scope == ev.GetScope() {
					c.Position = ev.GetCursor()
				}
			}
		}
		if !res.GetMore() {
			break
		}
	}
	checkMerged(t, got, logged)

	res, err := c.ReadScopes(w.serviceCtx(), &eventsv1.ReadScopesRequest{Cursors: []*eventsv1.Cursor{{Scope: a, Position: "garbage"}}})
	if err != nil {
		t.Fatal(err)
	}
	if evs := res.GetEvents(); len(evs) != 1 || evs[0].GetResync().GetReason() != "invalid" {
		t.Fatalf("bad cursor: %v", evs)
	}
}

// checkMerged checks that got holds the events logged at want (in the order
// they were appended, across scopes), each once, in log order. Each stream
// numbers its own entries, so events of different scopes with the same id
// may come in either order.
func checkMerged(t *testing.T, got []*eventsv1.Event, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	counts := map[string]int{}
	for _, id := range want {
		counts[id]++
	}
	// Each stream numbers its own entries, so entries of two scopes in the
	// same millisecond have no order between them: within a scope ids
	// increase, across scopes their milliseconds do not go back.
	prev := map[string]feed.StreamID{}
	var prevMS uint64
	for i, ev := range got {
		id, err := feed.ParseID(ev.GetCursor())
		if err != nil || id.Compare(prev[ev.GetScope()]) <= 0 || id.MS < prevMS {
			t.Fatalf("event %d at %s (%s) is out of log order", i, ev.GetCursor(), ev.GetScope())
		}
		prev[ev.GetScope()], prevMS = id, id.MS
		counts[ev.GetCursor()]--
	}
	for id, n := range counts {
		if n != 0 {
			t.Fatalf("event %s: %d too few", id, n)
		}
	}
}

// TestFollowScopesSessions: a watched session's end is reported under its
// key (revoked while watched, or already revoked, before the request's
// scopes start); an unwatched one is not; a bad token is reported at once.
func TestFollowScopesSessions(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	ended := func(f *follow) map[string]string {
		rs, _ := f.snapshot()
		out := map[string]string{}
		for _, r := range rs {
			if e := r.GetSessionEnded(); e != nil {
				out[e.GetKey()] = e.GetReason()
			}
		}
		return out
	}
	token := func(sid string) string {
		tok, _, err := w.env.Signer.UserToken(platformtest.NewID(), sid, false, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	f := openFollow(t, w, c)
	live, gone, quiet := platformtest.NewID(), platformtest.NewID(), platformtest.NewID()
	if err := w.env.Revocations.Revoke(context.Background(), gone, time.Minute); err != nil {
		t.Fatal(err)
	}
	u := events.UserScope(platformtest.NewID())
	f.send(t, &eventsv1.FollowScopesRequest{
		Watch: []*eventsv1.WatchSession{{Key: "live", AccessToken: token(live)}, {Key: "gone", AccessToken: token(gone)},
			{Key: "quiet", AccessToken: token(quiet)}, {Key: "bad", AccessToken: "not a token"}},
		Add: []*eventsv1.Cursor{{Scope: u}},
	})
	platformtest.Eventually(t, 10*time.Second, func() bool { _, ok := f.events(u); return ok }, "started")
	rs, _ := f.snapshot()
	if e := rs[0].GetSessionEnded(); e == nil {
		t.Fatalf("first response %v, want the end of an already revoked session", rs[0])
	}
	if got := ended(f); got["gone"] != "SESSION_REVOKED" || got["bad"] != "TOKEN_INVALID" || len(got) != 2 {
		t.Fatalf("ended %v, want gone SESSION_REVOKED and bad TOKEN_INVALID", got)
	}
	f.send(t, &eventsv1.FollowScopesRequest{Unwatch: []string{"quiet"}})
	// Let the unwatch be applied: a later request's acknowledgement follows it.
	f.send(t, &eventsv1.FollowScopesRequest{Add: []*eventsv1.Cursor{{Scope: u}}})
	platformtest.Eventually(t, 10*time.Second, func() bool {
		rs, _ := f.snapshot()
		n := 0
		for _, r := range rs {
			if r.GetStarted() != nil {
				n++
			}
		}
		return n == 2
	}, "second acknowledgement")
	for _, sid := range []string{live, quiet} {
		if err := w.env.Revocations.Revoke(context.Background(), sid, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	platformtest.Eventually(t, 5*time.Second, func() bool { return ended(f)["live"] == "SESSION_REVOKED" }, "live session ended")
	if _, ok := ended(f)["quiet"]; ok {
		t.Errorf("an unwatched session was reported")
	}
	if _, err := f.snapshot(); err != nil {
		t.Errorf("stream ended: %v", err)
	}
}
