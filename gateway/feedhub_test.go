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
	"github.com/accordchat/accord/platform/platformtest"
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

// TestFeedHubStaleStartedIgnored: a scope dropped while its add was
// unanswered, removed upstream and needed again waits for the answer to
// its new add. The answer to the first add must not start it: the server
// stopped following the scope on the removal and follows it again from the
// second add's position only, so sockets told to start on the first answer
// (their ready sent) would lose what was logged in between, every socket of
// the scope on the gateway alike (the rolling-restart loss of issue #21).
func TestFeedHubStaleStartedIgnored(t *testing.T) {
	// dropAndAgain has a socket add the scope, leave before the answer
	// comes (the removal goes upstream) and another socket need it again.
	dropAndAgain := func(ctx context.Context, t *testing.T, h *feedHub) (done chan []string) {
		a, b := h.newSub("u1", 8, nil), h.newSub("u2", 8, nil)
		go func() { _, _ = h.add(ctx, a, "server:s") }()
		platformtest.Eventually(t, 10*time.Second, func() bool { return requestString(takeChanges(h)) != "none" }, "a's add")
		h.close(a)
		if got := requestString(h.changes()); got != "add[] remove[server:s]" {
			t.Fatalf("after a left: %s", got)
		}
		done = make(chan []string, 1)
		go func() {
			from, err := h.add(ctx, b, "server:s")
			if err != nil {
				t.Error(err)
			}
			done <- from
		}()
		platformtest.Eventually(t, 10*time.Second, func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.scopes["server:s"] != nil
		}, "b registered")
		return done
	}
	t.Run("second add sent before the first answer", func(t *testing.T) {
		h := newFeedHub(nil, nil, nil, WSOptions{}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := dropAndAgain(ctx, t, h)
		if got := requestString(takeChanges(h)); got != "add[server:s@] remove[]" {
			t.Fatalf("b's request: %s", got)
		}
		// The server answers the first add, follows the scope until it
		// applies the removal, then starts it again live at 9-0: 7-0 and
		// 8-0 are never sent.
		h.started(&eventsv1.ScopeStarted{Scope: "server:s", Position: "5-0"})
		if startedNow(h, "server:s") {
			t.Fatal("the answer to an add made before the scope's removal started it again")
		}
		h.dispatch(hubMsg("server:s", "6-0", "x"))
		h.started(&eventsv1.ScopeStarted{Scope: "server:s", Position: "9-0"})
		if from := <-done; from[0] != "9-0" {
			t.Fatalf("b starts after %v, want 9-0 (the second add's position)", from)
		}
	})
	t.Run("first answer before the second add", func(t *testing.T) {
		h := newFeedHub(nil, nil, nil, WSOptions{}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := dropAndAgain(ctx, t, h)
		h.started(&eventsv1.ScopeStarted{Scope: "server:s", Position: "5-0"})
		if startedNow(h, "server:s") {
			t.Fatal("the answer to an add made before the scope's removal started it again")
		}
		if got := requestString(takeChanges(h)); got != "add[server:s@] remove[]" {
			t.Fatalf("b's request: %s", got)
		}
		h.started(&eventsv1.ScopeStarted{Scope: "server:s", Position: "9-0"})
		if from := <-done; from[0] != "9-0" {
			t.Fatalf("b starts after %v, want 9-0", from)
		}
	})
}

// takeChanges takes the pending request, if any.
func takeChanges(h *feedHub) *eventsv1.FollowScopesRequest {
	select {
	case <-h.kick:
	default:
	}
	return h.changes()
}

func startedNow(h *feedHub, scope string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	sc := h.scopes[scope]
	return sc != nil && sc.started
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
