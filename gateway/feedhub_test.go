package gateway

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
)

func hubMsg(scope, cursor, content string) *hubEvent {
	return newHubEvent(&eventsv1.Event{Scope: scope, Cursor: cursor, Payload: &eventsv1.Event_Typing{Typing: &eventsv1.Typing{UserId: content}}})
}

func requestString(r *eventsv1.FollowScopesRequest) string {
	if r == nil {
		return "none"
	}
	var add []string
	for _, c := range r.GetAdd() {
		add = append(add, c.GetScope()+"@"+c.GetPosition())
	}
	return fmt.Sprint("add", add, " remove", r.GetRemove())
}

// TestFeedHubScopes: the upstream scope set follows the sockets' needs; a
// scope is added live once, acknowledged, removed with its last socket,
// and resumed from its last position on a new stream.
func TestFeedHubScopes(t *testing.T) {
	h := newFeedHub(nil, nil, nil, WSOptions{}, nil)
	a, b := h.newSub("u1", 4, nil), h.newSub("u2", 4, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	done := make(chan []string)
	go func() {
		from, err := h.add(ctx, a, "server:s")
		if err != nil {
			t.Error(err)
		}
		done <- from
	}()
	var req *eventsv1.FollowScopesRequest
	for req == nil {
		select {
		case <-h.kick:
			req = h.changes()
		case <-ctx.Done():
			t.Fatal("no request")
		}
	}
	if got := requestString(req); got != "add[server:s@] remove[]" {
		t.Fatalf("first request %s", got)
	}
	h.started(&eventsv1.ScopeStarted{Scope: "server:s", Position: "5-0"})
	if from := <-done; from[0] != "5-0" {
		t.Fatalf("a starts after %v, want 5-0", from)
	}

	// A second socket of the scope needs no request and starts where the
	// feed is.
	h.dispatch(hubMsg("server:s", "6-0", "x"))
	from, err := h.add(ctx, b, "server:s")
	if err != nil || from[0] != "6-0" {
		t.Fatalf("b starts after %v (%v), want 6-0", from, err)
	}
	if got := requestString(h.changes()); got != "none" {
		t.Fatalf("second socket sent %s", got)
	}
	h.dispatch(hubMsg("server:s", "7-0", "y"))
	if len(a.c) != 2 || len(b.c) != 1 {
		t.Fatalf("queued %d and %d events, want 2 and 1", len(a.c), len(b.c))
	}

	// A new stream resumes the scope from the last position received.
	h.resetUpstream()
	if got := requestString(h.changes()); got != "add[server:s@7-0] remove[]" {
		t.Fatalf("resume request %s", got)
	}
	h.started(&eventsv1.ScopeStarted{Scope: "server:s", Position: "7-0"})

	// The last socket leaving removes the scope upstream.
	h.remove(a, "server:s")
	if got := requestString(h.changes()); got != "none" {
		t.Fatalf("after the first of two left: %s", got)
	}
	h.close(b)
	if got := requestString(h.changes()); got != "add[] remove[server:s]" {
		t.Fatalf("after the last left: %s", got)
	}
	h.dispatch(hubMsg("server:s", "8-0", "z"))
	if len(b.c) != 1 {
		t.Fatal("an event reached a socket that left")
	}
}

// TestFeedHubOverflow: a socket whose queue is full is flagged and skipped,
// never waited for, and queued again once it caught up; other sockets
// receive everything.
func TestFeedHubOverflow(t *testing.T) {
	h := newFeedHub(nil, nil, nil, WSOptions{}, nil)
	slow, fast := h.newSub("u1", 1, nil), h.newSub("u2", 8, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		for range h.kick {
			if r := h.changes(); r != nil {
				for _, c := range r.GetAdd() {
					h.started(&eventsv1.ScopeStarted{Scope: c.GetScope(), Position: "1-0"})
				}
			}
		}
	}()
	if _, err := h.add(ctx, slow, "server:s"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.add(ctx, fast, "server:s"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		h.dispatch(hubMsg("server:s", fmt.Sprint(2+i, "-0"), "m"))
	}
	if len(fast.c) != 3 || len(slow.c) != 1 {
		t.Fatalf("queued %d and %d, want 3 and 1", len(fast.c), len(slow.c))
	}
	select {
	case <-slow.wake:
	default:
		t.Fatal("the slow socket was not told")
	}
	<-slow.c
	h.clearOverflow(slow)
	h.dispatch(hubMsg("server:s", "9-0", "m"))
	if ev := <-slow.c; ev.cursor != "9-0" {
		t.Fatalf("after catching up got %s", ev.cursor)
	}
}

// TestHubEventOwnTyping: one's own typing is not queued back.
func TestHubEventOwnTyping(t *testing.T) {
	h := newFeedHub(nil, nil, nil, WSOptions{}, nil)
	me := h.newSub("u1", 4, nil)
	h.scopes["server:s"] = &hubScope{started: true, pos: "1-0", subs: map[*hubSub]struct{}{me: {}}}
	h.dispatch(newHubEvent(&eventsv1.Event{Scope: "server:s", Payload: &eventsv1.Event_Typing{Typing: &eventsv1.Typing{UserId: "u1"}}}))
	h.dispatch(newHubEvent(&eventsv1.Event{Scope: "server:s", Payload: &eventsv1.Event_Typing{Typing: &eventsv1.Typing{UserId: "u2"}}}))
	if len(me.c) != 1 {
		t.Fatalf("queued %d typing events, want the other user's only", len(me.c))
	}
}

// Watches go upstream in requests the server accepts (1 MiB at most):
// thousands of sockets watched at once, as after a reconnect, must not
// make a request the server rejects, which would break the feed for good.
func TestFeedHubWatchRequestsStayUnderMessageLimit(t *testing.T) {
	h := newFeedHub(nil, nil, nil, WSOptions{}, nil)
	const n = 10000
	token := strings.Repeat("t", 600)
	for i := range n {
		key := strconv.Itoa(i)
		h.watches[key] = &hubWatch{token: token}
		h.dirtyWatch[key] = true
	}
	got := 0
	for req := h.changes(); req != nil; req = h.changes() {
		if size := proto.Size(req); size > 1<<20 {
			t.Fatalf("request of %d bytes (%d watches), want at most 1 MiB", size, len(req.GetWatch()))
		}
		got += len(req.GetWatch())
	}
	if got != n {
		t.Errorf("%d sessions watched, want %d", got, n)
	}
}
