package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/server/internal/feed"
)

// TestFeedTwoInstances: 20 users in 3 servers hold streams on two instances
// while 2,000 messages are sent concurrently through both. Every stream gets
// exactly its servers' messages, once each, in each channel's history order.
func TestFeedTwoInstances(t *testing.T) {
	w := newWorld(t)
	inst := []client{w.instance(), w.instance()}
	const nUsers, nServers, nMessages = 20, 3, 2000
	users := make([]string, nUsers)
	for i := range users {
		users[i] = w.user(fmt.Sprint("user", i))
	}
	servers := make([]string, nServers)
	members := make([][]string, nServers)
	channels := make([][]string, nServers)
	inServer := make([]map[string]bool, nUsers)
	for i := range inServer {
		inServer[i] = map[string]bool{}
	}
	for s := range servers {
		servers[s] = w.server(users[s])
		members[s] = []string{users[s]}
		inServer[s][servers[s]] = true
		channels[s] = []string{w.channel(servers[s]), w.channel(servers[s])}
	}
	// Each user is in one, two or all three servers.
	for i := nServers; i < nUsers; i++ {
		for s := range servers {
			if (i+s)%3 != 0 || i%5 == 0 {
				w.member(servers[s], users[i], serverv1.Role_ROLE_MEMBER)
				members[s] = append(members[s], users[i])
				inServer[i][servers[s]] = true
			}
		}
	}
	streams := make([]*stream, nUsers)
	for i, u := range users {
		streams[i] = openStream(t, inst[i%2], w.streamCtx(u))
	}
	for i, s := range streams {
		s.awaitPing(t, w, users[i], "ready")
	}

	var sent sync.Map // message id -> server id
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				s := k % nServers
				author := members[s][rand.IntN(len(members[s]))]
				r, err := inst[k%2].SendMessage(w.ctx(author), &serverv1.SendMessageRequest{
					ChannelId: channels[s][(k/nServers)%2], Content: fmt.Sprint("m", k)})
				if err != nil {
					t.Error(err)
					continue
				}
				sent.Store(r.GetMessage().GetId(), servers[s])
			}
		}()
	}
	start := time.Now()
	for k := range nMessages {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	t.Logf("%d messages sent in %v", nMessages, time.Since(start))
	if t.Failed() {
		return
	}

	want := make([]int, nUsers)
	sent.Range(func(_, srv any) bool {
		for i := range users {
			if inServer[i][srv.(string)] {
				want[i]++
			}
		}
		return true
	})
	for i, s := range streams {
		platformtest.Eventually(t, 60*time.Second, func() bool {
			if err := s.ended(); err != nil {
				t.Fatalf("stream %d ended: %v", i, err)
			}
			return len(s.created()) >= want[i]
		}, "user", fmt.Sprint(i), "to receive", fmt.Sprint(want[i]))
	}

	t.Logf("delivered after %v", time.Since(start))
	// History per channel, oldest first.
	hist := map[string][]string{}
	for s := range servers {
		for _, ch := range channels[s] {
			ms := history(t, inst[0], w.ctx(users[s]), ch)
			ids := make([]string, len(ms))
			for j, m := range ms {
				ids[len(ms)-1-j] = m.GetId()
			}
			hist[ch] = ids
		}
	}
	t.Logf("history read after %v", time.Since(start))
	total := 0
	for _, ids := range hist {
		total += len(ids)
	}
	if total != nMessages {
		t.Fatalf("history holds %d messages, want %d", total, nMessages)
	}
	for i, s := range streams {
		got := map[string][]string{}
		seen := map[string]bool{}
		for _, m := range s.created() {
			if seen[m.GetId()] {
				t.Fatalf("user %d got %s twice", i, m.GetId())
			}
			seen[m.GetId()] = true
			if !inServer[i][m.GetServerId()] {
				t.Fatalf("user %d got a message of server %s", i, m.GetServerId())
			}
			got[m.GetChannelId()] = append(got[m.GetChannelId()], m.GetId())
		}
		for s := range servers {
			for _, ch := range channels[s] {
				var wantIDs []string
				if inServer[i][servers[s]] {
					wantIDs = hist[ch]
				}
				if !slices.Equal(got[ch], wantIDs) {
					t.Fatalf("user %d channel %s: delivered %d events, history %d, or order differs", i, ch, len(got[ch]), len(wantIDs))
				}
			}
		}
		if err := s.ended(); err != nil {
			t.Fatalf("stream %d ended: %v", i, err)
		}
	}
}

// TestFeedResume cuts a stream at a random point while messages flow and
// resumes with the last cursors: the union equals history, with no gap and
// no duplicate.
func TestFeedResume(t *testing.T) {
	w := newWorld(t)
	a, b := w.instance(), w.instance()
	alice, bob := w.user("Alice"), w.user("Bob")
	srv := w.server(alice)
	w.member(srv, bob, serverv1.Role_ROLE_MEMBER)
	ch := w.channel(srv)
	quiet := w.server(bob) // a scope without new events

	s1 := openStream(t, a, w.streamCtx(bob))
	s1.awaitPing(t, w, bob, "one")

	const n = 300
	cut := 20 + rand.IntN(200)
	var wg sync.WaitGroup
	var count atomic.Int32
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := g; k < n; k += 4 {
				c := a
				if k%2 == 1 {
					c = b
				}
				if _, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: fmt.Sprint(k)}); err != nil {
					t.Error(err)
				}
				count.Add(1)
			}
		}()
	}
	platformtest.Eventually(t, 30*time.Second, func() bool { return len(s1.created()) >= cut }, "the cut point")
	cur := s1.stop()
	cur[events.ServerScope(quiet)] = "0-0"
	first := s1.created()
	wg.Wait()

	s2 := openStream(t, b, w.streamCtx(bob), cursors(cur)...)
	platformtest.Eventually(t, 30*time.Second, func() bool { return len(first)+len(s2.created()) >= n }, "the rest")
	var got []string
	for _, m := range append(first, s2.created()...) {
		got = append(got, m.GetId())
	}
	hist := history(t, a, w.ctx(bob), ch)
	want := make([]string, len(hist))
	for i, m := range hist {
		want[len(hist)-1-i] = m.GetId()
	}
	if !slices.Equal(got, want) {
		t.Fatalf("cut after %d: union of %d+%d events differs from history of %d", len(first), len(first), len(s2.created()), len(want))
	}
	for _, e := range s2.snapshot() {
		if e.GetResync() != nil || e.GetRelationshipRemoved() != nil {
			t.Fatalf("unexpected after resume: %v", e)
		}
	}
}

// TestFeedHeaderAfterSubscribe: StreamEvents sends its header once the
// caller's scopes are subscribed, before any event: an event logged as soon
// as the header arrived reaches the stream (the gateway sends its socket's
// ready then).
func TestFeedHeaderAfterSubscribe(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	alice := w.user("Alice")
	srv := w.server(alice)
	ctx, cancel := context.WithTimeout(w.streamCtx(alice), 30*time.Second)
	defer cancel()
	st, err := c.StreamEvents(ctx, &eventsv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if md, err := st.Header(); md == nil || err != nil {
		t.Fatalf("no header before any event (%v): the stream never tells it is subscribed", err)
	}
	ev := &eventsv1.Event{Payload: &eventsv1.Event_ChannelDeleted{ChannelDeleted: &eventsv1.ChannelDeleted{ServerId: srv, ChannelId: "right-after"}}}
	if _, err := w.log.Append(context.Background(), events.ServerScope(srv), ev); err != nil {
		t.Fatal(err)
	}
	for {
		r, err := st.Recv()
		if err != nil {
			t.Fatalf("the event logged right after the header did not come: %v", err)
		}
		if r.GetEvent().GetChannelDeleted().GetChannelId() == "right-after" {
			return
		}
	}
}

// TestFeedResync: a cursor older than the log's retention gets a resync
// event carrying the newest cursor, then live events.
func TestFeedResync(t *testing.T) {
	w := newWorld(t, func(o *server.Options) { o.Events = o.Events.WithMaxLen(10) })
	c := w.instance()
	alice := w.user("Alice")
	srv := w.server(alice)
	ch := w.channel(srv)
	scope := events.ServerScope(srv)
	var old string
	// Approximate trimming drops whole stream nodes (100 entries), so write
	// a few hundred.
	for i := range 400 {
		ev := &eventsv1.Event{Payload: &eventsv1.Event_ChannelDeleted{ChannelDeleted: &eventsv1.ChannelDeleted{ServerId: srv, ChannelId: fmt.Sprint(i)}}}
		id, err := w.log.Append(context.Background(), scope, ev)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			old = id
		}
	}
	for _, tc := range []struct{ cursor, reason string }{{old, "retention"}, {"garbage", "invalid"}} {
		last, err := w.env.Redis.XRevRangeN(context.Background(), w.log.Key(scope), "+", "-", 1).Result()
		if err != nil || len(last) != 1 {
			t.Fatal(err)
		}
		s := openStream(t, c, w.streamCtx(alice), &eventsv1.Cursor{Scope: scope, Position: tc.cursor})
		platformtest.Eventually(t, 10*time.Second, func() bool { return len(s.snapshot()) > 0 }, "resync")
		e := s.snapshot()[0]
		if e.GetResync().GetReason() != tc.reason || e.GetScope() != scope || e.GetCursor() != last[0].ID {
			t.Fatalf("first event = %v, want resync %q at %s", e, tc.reason, last[0].ID)
		}
		m, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: "after"})
		if err != nil {
			t.Fatal(err)
		}
		platformtest.Eventually(t, 10*time.Second, func() bool { return len(s.created()) == 1 && s.created()[0].GetId() == m.GetMessage().GetId() }, "the live message")
		if n := len(s.snapshot()); n != 2 {
			t.Fatalf("got %d events, want resync + message", n)
		}
		s.stop()
	}
}

// TestFeedMembershipChanges: a kicked member's live stream stops receiving
// the server's events; a joining member's starts without reconnecting.
func TestFeedMembershipChanges(t *testing.T) {
	w := newWorld(t)
	a, b := w.instance(), w.instance()
	alice, bob := w.user("Alice"), w.user("Bob")
	srv, other, later := w.server(alice), w.server(alice), w.server(alice)
	w.member(srv, bob, serverv1.Role_ROLE_MEMBER)
	w.member(other, bob, serverv1.Role_ROLE_MEMBER)
	ch, otherCh, laterCh := w.channel(srv), w.channel(other), w.channel(later)
	s := openStream(t, b, w.streamCtx(bob))
	s.awaitPing(t, w, bob, "ready")

	if _, err := a.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: "before kick"}); err != nil {
		t.Fatal(err)
	}
	w.kick(srv, bob)
	for i := range 5 {
		if _, err := a.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: fmt.Sprint("after kick ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Joining: a message sent right after the join reaches bob even though
	// his stream learns of the join later.
	w.join(later, bob)
	if _, err := a.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: laterCh, Content: "welcome"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: otherCh, Content: "marker"}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 10*time.Second, func() bool {
		var gotWelcome, gotMarker bool
		for _, m := range s.created() {
			gotWelcome = gotWelcome || m.GetContent() == "welcome"
			gotMarker = gotMarker || m.GetContent() == "marker"
		}
		return gotWelcome && gotMarker
	}, "welcome and marker")
	left := false
	for _, e := range s.snapshot() {
		if e.GetServerLeft().GetServerId() == srv {
			left = true
		}
		if m := e.GetMessageCreated(); m != nil && m.GetServerId() == srv && (left || m.GetContent() != "before kick") {
			t.Fatalf("bob got %q after the kick", m.GetContent())
		}
	}
	if !left {
		t.Fatal("no server_left")
	}
	if _, err := b.SendMessage(w.ctx(bob), &serverv1.SendMessageRequest{ChannelId: ch, Content: "still here?"}); status.Code(err) != codes.NotFound {
		t.Fatalf("kicked member sends: %v", err)
	}
}

// TestFeedSlowSubscriber: a stream that does not read is ended with
// RESOURCE_EXHAUSTED while another stream keeps receiving everything.
func TestFeedSlowSubscriber(t *testing.T) {
	w := newWorld(t, func(o *server.Options) {
		fo := *o.Feed
		fo.QueueLen = 256
		o.Feed = &fo
	})
	c, api := w.instanceAPI()
	alice, bob := w.user("Alice"), w.user("Bob")
	srv := w.server(alice)
	w.member(srv, bob, serverv1.Role_ROLE_MEMBER)
	scope := events.ServerScope(srv)

	fast := openStream(t, c, w.streamCtx(alice))
	ctx, cancel := context.WithCancel(w.ctx(bob))
	defer cancel()
	slow, err := c.StreamEvents(ctx, &eventsv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pinged := make(chan struct{})
	go func() {
		for {
			w.ping(bob, "ready")
			select {
			case <-pinged:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	r, err := slow.Recv()
	close(pinged)
	if err != nil || r.GetEvent().GetRelationshipRemoved() == nil {
		t.Fatalf("first event: %v, %v", r, err)
	}
	fast.awaitPing(t, w, alice, "ready")
	// Bob stops reading; events pile up until the hub gives up on him.
	sent := 0
	big := string(make([]byte, 2000))
	platformtest.Eventually(t, 30*time.Second, func() bool {
		for range 20 {
			ev := &eventsv1.Event{Payload: &eventsv1.Event_ChannelDeleted{ChannelDeleted: &eventsv1.ChannelDeleted{ServerId: srv, ChannelId: big}}}
			if _, err := w.log.Append(context.Background(), scope, ev); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		return api.FeedSubscribers() < 2
	}, "the slow stream to be dropped")
	for {
		_, err := slow.Recv()
		if err == nil {
			continue
		}
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("slow stream ended with %v, want RESOURCE_EXHAUSTED", err)
		}
		break
	}
	platformtest.Eventually(t, 30*time.Second, func() bool {
		n := 0
		for _, e := range fast.snapshot() {
			if e.GetChannelDeleted() != nil {
				n++
			}
		}
		return n == sent
	}, "the fast stream to get all", fmt.Sprint(sent))
	if fast.err != nil {
		t.Fatal(fast.err)
	}
	_ = feed.ErrTooSlow
}

// TestFeedSurvivesRedisReconnect kills the instance's Redis connections
// (as a Redis restart would) while a stream is open: the reader reconnects
// and continues from its last ids, so nothing is lost or repeated.
func TestFeedSurvivesRedisReconnect(t *testing.T) {
	w := newWorld(t)
	name := "accord-test-" + platformtest.RandomHex(4)
	opts, err := redis.ParseURL(platformtest.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	opts.ClientName = name
	w.rdb = redis.NewClient(opts)
	t.Cleanup(func() { _ = w.rdb.Close() })
	c := w.instance()
	alice, bob := w.user("Alice"), w.user("Bob")
	srv := w.server(alice)
	w.member(srv, bob, serverv1.Role_ROLE_MEMBER)
	ch := w.channel(srv)
	s := openStream(t, c, w.streamCtx(bob))
	s.awaitPing(t, w, bob, "ready")

	send := func(k int) {
		t.Helper()
		// A send may meet a killed connection; the client retries on a new one.
		platformtest.Eventually(t, 10*time.Second, func() bool {
			_, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: fmt.Sprint(k), RequestId: fmt.Sprint("k", k)})
			return err == nil
		}, "send", fmt.Sprint(k))
	}
	for k := range 5 {
		send(k)
	}
	killed := killClients(t, w.env.Redis, name)
	if killed == 0 {
		t.Fatal("no connection to kill")
	}
	for k := 5; k < 10; k++ {
		send(k)
	}
	killClients(t, w.env.Redis, name)
	for k := 10; k < 15; k++ {
		send(k)
	}
	platformtest.Eventually(t, 20*time.Second, func() bool { return len(s.created()) >= 15 }, "all 15 messages")
	for i, m := range s.created() {
		if m.GetContent() != fmt.Sprint(i) {
			t.Fatalf("event %d is %q", i, m.GetContent())
		}
	}
	if len(s.created()) != 15 {
		t.Fatalf("got %d events, want 15", len(s.created()))
	}
}

// killClients closes every Redis connection named name.
func killClients(t *testing.T, rdb redis.UniversalClient, name string) int {
	t.Helper()
	list, err := rdb.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name="+name+" ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if id, ok := strings.CutPrefix(f, "id="); ok {
				if err := rdb.Do(context.Background(), "CLIENT", "KILL", "ID", id).Err(); err == nil {
					n++
				}
			}
		}
	}
	return n
}

// TestFeedEndsStreamsWhenStopping stops an instance's feed reader, as a
// shutdown does: its open streams end with UNAVAILABLE, and a stream opened
// afterwards (a client that raced the shutdown) is refused the same way
// instead of waiting on a feed that will never deliver, so that clients
// resume on another instance.
func TestFeedEndsStreamsWhenStopping(t *testing.T) {
	w := newWorld(t)
	c, _, stop := w.instanceStoppable()
	alice := w.user("Alice")
	w.server(alice)
	open := openStream(t, c, w.streamCtx(alice))
	open.awaitPing(t, w, alice, "live")
	stop()
	platformtest.Eventually(t, 10*time.Second, func() bool { return open.ended() != nil }, "the open stream to end")
	if err := open.ended(); status.Code(err) != codes.Unavailable {
		t.Fatalf("open stream ended with %v, want UNAVAILABLE", err)
	}
	late := openStream(t, c, w.streamCtx(alice))
	platformtest.Eventually(t, 10*time.Second, func() bool { return late.ended() != nil }, "the late stream to be refused")
	if err := late.ended(); status.Code(err) != codes.Unavailable {
		t.Fatalf("late stream ended with %v, want UNAVAILABLE", err)
	}
}
