package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/server/internal/chat"
	imongo "github.com/accordchat/accord/services/server/internal/mongo"
)

func TestMessageLifecycle(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	owner, alice, bob := w.user("Owner"), w.user("Alice"), w.user("Bob")
	srv := w.server(owner)
	w.member(srv, alice, serverv1.Role_ROLE_MEMBER)
	w.member(srv, bob, serverv1.Role_ROLE_MEMBER)
	ch := w.channel(srv)

	first, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: "  hello  "})
	if err != nil {
		t.Fatal(err)
	}
	m := first.GetMessage()
	if m.GetContent() != "hello" || m.GetAuthorName() != "Alice" || m.GetServerId() != srv || m.GetCreateTime() == nil {
		t.Fatalf("sent = %v", m)
	}
	reply, err := c.SendMessage(w.ctx(bob), &serverv1.SendMessageRequest{ChannelId: ch, Content: "hi", ReplyToId: m.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if p := reply.GetMessage().GetReplyTo(); p.GetId() != m.GetId() || p.GetContent() != "hello" || p.GetAuthorName() != "Alice" {
		t.Fatalf("reply preview = %v", p)
	}

	t.Run("only the author edits", func(t *testing.T) {
		_, err := c.UpdateMessage(w.ctx(bob), &serverv1.UpdateMessageRequest{ChannelId: ch, MessageId: m.GetId(), Content: "x"})
		if got := status.Code(err); got != codes.PermissionDenied {
			t.Fatalf("bob edits alice: %v, want PERMISSION_DENIED", err)
		}
		r, err := c.UpdateMessage(w.ctx(alice), &serverv1.UpdateMessageRequest{ChannelId: ch, MessageId: m.GetId(), Content: "hello!"})
		if err != nil {
			t.Fatal(err)
		}
		if r.GetMessage().GetContent() != "hello!" || r.GetMessage().GetEditTime() == nil {
			t.Fatalf("edited = %v", r.GetMessage())
		}
	})

	t.Run("history newest first with cursors", func(t *testing.T) {
		r, err := c.ListMessages(w.ctx(owner), &serverv1.ListMessagesRequest{ChannelId: ch})
		if err != nil {
			t.Fatal(err)
		}
		ms := r.GetMessages()
		if len(ms) != 2 || ms[0].GetId() != reply.GetMessage().GetId() || ms[1].GetContent() != "hello!" || ms[1].GetEditTime() == nil || r.GetHasMore() {
			t.Fatalf("history = %v", r)
		}
		r, err = c.ListMessages(w.ctx(owner), &serverv1.ListMessagesRequest{ChannelId: ch, PageSize: 1})
		if err != nil || len(r.GetMessages()) != 1 || !r.GetHasMore() {
			t.Fatalf("page of 1 = %v, %v", r, err)
		}
		r, err = c.ListMessages(w.ctx(owner), &serverv1.ListMessagesRequest{ChannelId: ch, After: m.GetId()})
		if err != nil || len(r.GetMessages()) != 1 || r.GetMessages()[0].GetId() != reply.GetMessage().GetId() || r.GetHasMore() {
			t.Fatalf("after = %v, %v", r, err)
		}
	})

	t.Run("delete own, admin any, member not others", func(t *testing.T) {
		_, err := c.DeleteMessage(w.ctx(bob), &serverv1.DeleteMessageRequest{ChannelId: ch, MessageId: m.GetId()})
		if got := status.Code(err); got != codes.PermissionDenied {
			t.Fatalf("bob deletes alice: %v", err)
		}
		if _, err := c.DeleteMessage(w.ctx(owner), &serverv1.DeleteMessageRequest{ChannelId: ch, MessageId: m.GetId()}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteMessage(w.ctx(bob), &serverv1.DeleteMessageRequest{ChannelId: ch, MessageId: reply.GetMessage().GetId()}); err != nil {
			t.Fatal(err)
		}
		_, err = c.DeleteMessage(w.ctx(bob), &serverv1.DeleteMessageRequest{ChannelId: ch, MessageId: reply.GetMessage().GetId()})
		if got := status.Code(err); got != codes.NotFound {
			t.Fatalf("second delete: %v", err)
		}
		r, err := c.ListMessages(w.ctx(owner), &serverv1.ListMessagesRequest{ChannelId: ch})
		if err != nil || len(r.GetMessages()) != 0 {
			t.Fatalf("history after deletes = %v, %v", r, err)
		}
		n, err := w.env.Redis.XLen(context.Background(), w.env.Prefix+events.Activity).Result()
		if err != nil || n != 4 {
			t.Fatalf("activity entries = %d, %v; want 2 created + 2 deleted", n, err)
		}
	})
}

func TestValidation(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	alice := w.user("Alice")
	srv := w.server(alice)
	ch, other := w.channel(srv), w.channel(srv)
	elsewhere, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: other, Content: "there"})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: "here"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := w.ctx(alice)
	for _, tc := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"empty content", func() error {
			_, err := c.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: ch, Content: ""})
			return err
		}, "content"},
		{"blank content", func() error {
			_, err := c.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: ch, Content: " \n\t "})
			return err
		}, "content"},
		{"content too long", func() error {
			_, err := c.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: ch, Content: strings.Repeat("é", 4001)})
			return err
		}, "content"},
		{"reply to another channel", func() error {
			_, err := c.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: ch, Content: "x", ReplyToId: elsewhere.GetMessage().GetId()})
			return err
		}, "reply_to_id"},
		{"reply to nothing", func() error {
			_, err := c.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: ch, Content: "x", ReplyToId: platformtest.NewID()})
			return err
		}, "reply_to_id"},
		{"bad request id", func() error {
			_, err := c.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: ch, Content: "x", RequestId: "a b"})
			return err
		}, "request_id"},
		{"bad channel id", func() error {
			_, err := c.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: "nope", Content: "x"})
			return err
		}, "channel_id"},
		{"blank edit", func() error {
			_, err := c.UpdateMessage(ctx, &serverv1.UpdateMessageRequest{ChannelId: ch, MessageId: mine.GetMessage().GetId(), Content: "   "})
			return err
		}, "content"},
		{"negative page size", func() error {
			_, err := c.ListMessages(ctx, &serverv1.ListMessagesRequest{ChannelId: ch, PageSize: -1})
			return err
		}, "page_size"},
		{"before and after", func() error {
			_, err := c.ListMessages(ctx, &serverv1.ListMessagesRequest{ChannelId: ch, Before: mine.GetMessage().GetId(), After: mine.GetMessage().GetId()})
			return err
		}, "after"},
		{"bad cursor", func() error {
			_, err := c.ListMessages(ctx, &serverv1.ListMessagesRequest{ChannelId: ch, Before: "zz"})
			return err
		}, "before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, field := fieldOf(tc.call())
			if code != codes.InvalidArgument || field != tc.field {
				t.Fatalf("got %v field %q, want INVALID_ARGUMENT field %q", code, field, tc.field)
			}
		})
	}
	if n := w.db.count(imongo.MessagesCollection, bson.D{}); n != 2 {
		t.Fatalf("stored %d messages, want the 2 valid ones", n)
	}
}

func TestIdempotentSend(t *testing.T) {
	w := newWorld(t)
	a, b := w.instance(), w.instance()
	alice := w.user("Alice")
	srv := w.server(alice)
	ch := w.channel(srv)
	s := openStream(t, a, w.streamCtx(alice))
	s.awaitPing(t, w, alice, "ready")
	ids := make([]string, 10)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := a
			if i%2 == 1 {
				c = b
			}
			r, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: "once", RequestId: "req-1"})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = r.GetMessage().GetId()
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("retries returned different messages: %v", ids)
		}
	}
	again, err := b.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: "once", RequestId: "req-1"})
	if err != nil || again.GetMessage().GetId() != ids[0] {
		t.Fatalf("later retry = %v, %v", again, err)
	}
	if n := w.db.count(imongo.MessagesCollection, bson.D{}); n != 1 {
		t.Fatalf("stored %d, want 1", n)
	}
	// A marker after the retries: once it arrives, anything the retries
	// published would have arrived before it.
	if _, err := a.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: "marker"}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 10*time.Second, func() bool { return len(s.created()) >= 1 && s.created()[len(s.created())-1].GetContent() == "marker" }, "the marker")
	if got := s.created(); len(got) != 2 || got[0].GetId() != ids[0] || got[0].GetRequestId() != "req-1" {
		t.Fatalf("events = %v, want the message once then the marker", got)
	}
}

func TestNonMembersSeeNothing(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	alice, eve := w.user("Alice"), w.user("Eve")
	srv := w.server(alice)
	ch := w.channel(srv)
	evesrv := w.server(eve)
	evech := w.channel(evesrv)
	friend := w.user("Friend")
	w.member(evesrv, friend, serverv1.Role_ROLE_MEMBER)
	m, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	s := openStream(t, c, w.streamCtx(eve), &eventsv1.Cursor{Scope: events.ServerScope(srv), Position: "0-0"})
	awaitLive(t, s, func() {
		_, _ = c.SendTyping(w.ctx(friend), &serverv1.SendTypingRequest{ChannelId: evech})
	})
	for name, call := range map[string]func() error{
		"send": func() error {
			_, err := c.SendMessage(w.ctx(eve), &serverv1.SendMessageRequest{ChannelId: ch, Content: "hi"})
			return err
		},
		"history": func() error {
			_, err := c.ListMessages(w.ctx(eve), &serverv1.ListMessagesRequest{ChannelId: ch})
			return err
		},
		"edit": func() error {
			_, err := c.UpdateMessage(w.ctx(eve), &serverv1.UpdateMessageRequest{ChannelId: ch, MessageId: m.GetMessage().GetId(), Content: "x"})
			return err
		},
		"delete": func() error {
			_, err := c.DeleteMessage(w.ctx(eve), &serverv1.DeleteMessageRequest{ChannelId: ch, MessageId: m.GetMessage().GetId()})
			return err
		},
		"mark read": func() error {
			_, err := c.MarkRead(w.ctx(eve), &serverv1.MarkReadRequest{ChannelId: ch, MessageId: m.GetMessage().GetId()})
			return err
		},
		"typing": func() error {
			_, err := c.SendTyping(w.ctx(eve), &serverv1.SendTypingRequest{ChannelId: ch})
			return err
		},
		"read states": func() error {
			_, err := c.ListReadStates(w.ctx(eve), &serverv1.ListReadStatesRequest{ServerId: srv})
			return err
		},
		"missing channel": func() error {
			_, err := c.SendMessage(w.ctx(eve), &serverv1.SendMessageRequest{ChannelId: platformtest.NewID(), Content: "hi"})
			return err
		},
	} {
		if got := status.Code(call()); got != codes.NotFound {
			t.Errorf("%s: %v, want NOT_FOUND", name, got)
		}
	}
	// Another message in alice's server, then one in eve's as a marker.
	if _, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: "more"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(w.ctx(eve), &serverv1.SendMessageRequest{ChannelId: evech, Content: "marker"}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 10*time.Second, func() bool { return len(s.created()) == 1 }, "eve's marker")
	for _, e := range s.snapshot() {
		if e.GetScope() == events.ServerScope(srv) {
			t.Fatalf("eve received %v", e)
		}
	}
	if n := w.db.count(imongo.MessagesCollection, bson.D{{Key: "author_id", Value: eve}, {Key: "server_id", Value: srv}}); n != 0 {
		t.Fatalf("eve stored %d", n)
	}
}

func TestRateLimit(t *testing.T) {
	w := newWorld(t, func(o *server.Options) {
		cfg := *o.Chat
		cfg.RateLimit, cfg.RateWindow = 3, 10*time.Second
		o.Chat = &cfg
	})
	c := w.instance()
	alice := w.user("Alice")
	srv := w.server(alice)
	ch, other := w.channel(srv), w.channel(srv)
	for i := range 3 {
		if _, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: "too many"})
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("4th send: %v, want RESOURCE_EXHAUSTED", err)
	}
	var delay time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	if delay <= 0 || delay > 10*time.Second {
		t.Fatalf("retry delay = %v", delay)
	}
	if _, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: other, Content: "other channel"}); err != nil {
		t.Fatalf("another channel is limited separately: %v", err)
	}
	if n := w.db.count(imongo.MessagesCollection, bson.D{{Key: "channel_id", Value: ch}}); n != 3 {
		t.Fatalf("stored %d in the limited channel, want 3", n)
	}
}

func TestReadStates(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	alice, bob := w.user("Alice"), w.user("Bob")
	srv := w.server(alice)
	w.member(srv, bob, serverv1.Role_ROLE_MEMBER)
	ch, quiet := w.channel(srv), w.channel(srv)
	// 120 messages straight into the store: the count is capped at 100.
	var docs []chat.Message
	for i := range 120 {
		docs = append(docs, chat.Message{ID: bson.NewObjectID().Hex(), ServerID: srv, ChannelID: ch, AuthorID: alice, Content: fmt.Sprint(i), CreatedAt: time.Now()})
	}
	w.store(docs...)
	id := func(i int) string { return docs[i].ID }
	states := func() map[string]*serverv1.ReadState {
		r, err := c.ListReadStates(w.ctx(bob), &serverv1.ListReadStatesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*serverv1.ReadState{}
		for _, s := range r.GetReadStates() {
			out[s.GetChannelId()] = s
		}
		return out
	}
	st := states()
	if len(st) != 2 || st[ch].GetUnreadCount() != 100 || st[ch].GetLastMessageId() != id(119) || st[quiet].GetUnreadCount() != 0 || st[quiet].GetLastMessageId() != "" {
		t.Fatalf("initial states = %v", st)
	}
	s := openStream(t, c, w.streamCtx(bob))
	awaitLive(t, s, func() { _, _ = c.SendTyping(w.ctx(alice), &serverv1.SendTypingRequest{ChannelId: quiet}) })

	r, err := c.MarkRead(w.ctx(bob), &serverv1.MarkReadRequest{ChannelId: ch, MessageId: id(109)})
	if err != nil {
		t.Fatal(err)
	}
	if r.GetReadState().GetUnreadCount() != 10 || r.GetReadState().GetLastReadMessageId() != id(109) {
		t.Fatalf("after mark = %v", r.GetReadState())
	}
	// Never back.
	r, err = c.MarkRead(w.ctx(bob), &serverv1.MarkReadRequest{ChannelId: ch, MessageId: id(5)})
	if err != nil || r.GetReadState().GetLastReadMessageId() != id(109) {
		t.Fatalf("marker moved back: %v, %v", r, err)
	}
	if got := states()[ch]; got.GetUnreadCount() != 10 || got.GetLastReadMessageId() != id(109) {
		t.Fatalf("listed = %v", got)
	}
	platformtest.Eventually(t, 10*time.Second, func() bool {
		for _, e := range s.snapshot() {
			if rs := e.GetReadStateUpdated(); rs != nil && rs.GetLastReadMessageId() == id(109) && e.GetScope() == events.UserScope(bob) {
				return true
			}
		}
		return false
	}, "read_state_updated on bob's stream")
	// Alice wrote all of them: none is unread to her.
	r2, err := c.ListReadStates(w.ctx(alice), &serverv1.ListReadStatesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range r2.GetReadStates() {
		if rs.GetUnreadCount() != 0 {
			t.Fatalf("own messages counted unread: %v", rs)
		}
	}
	// A message of another channel is not a marker here.
	if _, err := c.MarkRead(w.ctx(bob), &serverv1.MarkReadRequest{ChannelId: quiet, MessageId: id(1)}); status.Code(err) != codes.NotFound {
		t.Fatalf("mark with a foreign message: %v", err)
	}
}

func TestTyping(t *testing.T) {
	w := newWorld(t)
	a, b := w.instance(), w.instance()
	alice, bob := w.user("Alice"), w.user("Bob")
	srv := w.server(alice)
	w.member(srv, bob, serverv1.Role_ROLE_MEMBER)
	ch := w.channel(srv)
	sa := openStream(t, a, w.streamCtx(alice))
	sb := openStream(t, b, w.streamCtx(bob))
	var exp time.Time
	platformtest.Eventually(t, 10*time.Second, func() bool {
		r, err := a.SendTyping(w.ctx(alice), &serverv1.SendTypingRequest{ChannelId: ch})
		if err != nil {
			t.Fatal(err)
		}
		exp = r.GetExpireTime().AsTime()
		for _, e := range sb.snapshot() {
			if ty := e.GetTyping(); ty != nil && ty.GetUserId() == alice && ty.GetDisplayName() == "Alice" && ty.GetChannelId() == ch && e.GetCursor() == "" {
				return true
			}
		}
		return false
	}, "bob to see alice typing")
	if d := time.Until(exp); d < 5*time.Second || d > 9*time.Second {
		t.Fatalf("expires in %v, want about 8s", d)
	}
	for _, e := range sa.snapshot() {
		if e.GetTyping() != nil {
			t.Fatalf("alice got her own typing: %v", e)
		}
	}
	n, _ := w.env.Redis.Keys(context.Background(), w.env.Prefix+"ev:*").Result()
	if len(n) != 0 {
		t.Fatalf("typing was stored: %v", n)
	}
}

func TestTypingIsAnnouncedOncePerWindow(t *testing.T) {
	w := newWorld(t, func(o *server.Options) {
		cfg := *o.Chat
		cfg.TypingEvery = time.Hour
		o.Chat = &cfg
	})
	c := w.instance()
	alice, bob := w.user("Alice"), w.user("Bob")
	srv := w.server(alice)
	w.member(srv, bob, serverv1.Role_ROLE_MEMBER)
	ch := w.channel(srv)
	carol := w.user("Carol")
	w.member(srv, carol, serverv1.Role_ROLE_MEMBER)
	sb := openStream(t, c, w.streamCtx(bob))
	// Carol typing in a fresh channel each time (each one announced) tells
	// when Bob's stream is live.
	awaitLive(t, sb, func() { _, _ = c.SendTyping(w.ctx(carol), &serverv1.SendTypingRequest{ChannelId: w.channel(srv)}) })
	var exps []time.Time
	for range 5 {
		r, err := c.SendTyping(w.ctx(alice), &serverv1.SendTypingRequest{ChannelId: ch})
		if err != nil {
			t.Fatal(err)
		}
		exps = append(exps, r.GetExpireTime().AsTime())
	}
	for _, e := range exps[1:] {
		if !e.Equal(exps[0]) {
			t.Fatalf("expiries %v: later calls must report the announced one", exps)
		}
	}
	platformtest.Eventually(t, 10*time.Second, func() bool {
		n := 0
		for _, e := range sb.snapshot() {
			if ty := e.GetTyping(); ty != nil && ty.GetUserId() == alice && ty.GetChannelId() == ch {
				n++
			}
		}
		return n >= 1
	}, "bob to see alice typing")
	time.Sleep(300 * time.Millisecond) // any extra announcement would have arrived
	n := 0
	for _, e := range sb.snapshot() {
		if ty := e.GetTyping(); ty != nil && ty.GetUserId() == alice && ty.GetChannelId() == ch {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("bob saw alice typing %d times, want 1", n)
	}
	// A sent message ends her typing: the next keystroke shows at once.
	if _, err := c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: "done"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendTyping(w.ctx(alice), &serverv1.SendTypingRequest{ChannelId: ch}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 10*time.Second, func() bool {
		n := 0
		for _, e := range sb.snapshot() {
			if ty := e.GetTyping(); ty != nil && ty.GetUserId() == alice && ty.GetChannelId() == ch {
				n++
			}
		}
		return n == 2
	}, "alice's typing after her message")
}

func TestHistoryPaging(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	alice := w.user("Alice")
	srv := w.server(alice)
	ch, noise := w.channel(srv), w.channel(srv)
	var docs []chat.Message
	var ids []string // oldest first
	for i := range 150 {
		d := chat.Message{ID: bson.NewObjectID().Hex(), ServerID: srv, ChannelID: ch, AuthorID: alice, Content: fmt.Sprint(i), CreatedAt: time.Now()}
		ids = append(ids, d.ID)
		docs = append(docs, d, chat.Message{ID: bson.NewObjectID().Hex(), ServerID: srv, ChannelID: noise, AuthorID: alice, Content: "noise", CreatedAt: time.Now()})
	}
	w.store(docs...)
	ctx := w.ctx(alice)
	for _, tc := range []struct {
		name  string
		req   *serverv1.ListMessagesRequest
		first string
		n     int
		more  bool
	}{
		{"default page", &serverv1.ListMessagesRequest{ChannelId: ch}, ids[149], 50, true},
		{"clamped to 100", &serverv1.ListMessagesRequest{ChannelId: ch, PageSize: 1000}, ids[149], 100, true},
		{"before the 10th", &serverv1.ListMessagesRequest{ChannelId: ch, Before: ids[10], PageSize: 100}, ids[9], 10, false},
		{"after the 100th", &serverv1.ListMessagesRequest{ChannelId: ch, After: ids[99], PageSize: 20}, ids[119], 20, true},
		{"after the newest", &serverv1.ListMessagesRequest{ChannelId: ch, After: ids[149]}, "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.ListMessages(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			ms := r.GetMessages()
			first := ""
			if len(ms) > 0 {
				first = ms[0].GetId()
			}
			if len(ms) != tc.n || r.GetHasMore() != tc.more || first != tc.first {
				t.Fatalf("got %d (more %v), first %q; want %d (more %v), first %q", len(ms), r.GetHasMore(), first, tc.n, tc.more, tc.first)
			}
			for i := 1; i < len(ms); i++ {
				if ms[i-1].GetId() <= ms[i].GetId() || ms[i].GetChannelId() != ch || ms[i].GetAuthorName() != "Alice" {
					t.Fatalf("page not newest first in this channel at %d", i)
				}
			}
		})
	}
	all := history(t, c, ctx, ch)
	if len(all) != 150 || all[0].GetId() != ids[149] || all[149].GetId() != ids[0] {
		t.Fatalf("paged %d messages", len(all))
	}
}
