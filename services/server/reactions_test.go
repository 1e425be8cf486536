package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// summary returns the message's reaction summary for emoji from history as
// userID sees it (count 0 when absent).
func summary(t *testing.T, w *world, c client, userID, channelID, messageID, emoji string) *serverv1.ReactionSummary {
	t.Helper()
	for _, m := range history(t, c, w.ctx(userID), channelID) {
		if m.GetId() != messageID {
			continue
		}
		for _, r := range m.GetReactions() {
			if r.GetEmoji() == emoji {
				return r
			}
		}
	}
	return &serverv1.ReactionSummary{Emoji: emoji}
}

func sendText(t *testing.T, w *world, c client, userID, channelID, text string) *serverv1.Message {
	t.Helper()
	r, err := c.SendMessage(w.ctx(userID), &serverv1.SendMessageRequest{ChannelId: channelID, Content: text})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetMessage()
}

func TestReactions(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	owner, alice, stranger := w.user("Owner"), w.user("Alice"), w.user("Stranger")
	srv := w.server(owner)
	w.member(srv, alice, serverv1.Role_ROLE_MEMBER)
	ch := w.channel(srv)
	m := sendText(t, w, c, owner, ch, "react to me")
	add := func(userID, emoji string) (*serverv1.ReactionSummary, error) {
		r, err := c.AddReaction(w.ctx(userID), &serverv1.AddReactionRequest{ChannelId: ch, MessageId: m.GetId(), Emoji: emoji})
		return r.GetReaction(), err
	}
	remove := func(userID, emoji string) (*serverv1.ReactionSummary, error) {
		r, err := c.RemoveReaction(w.ctx(userID), &serverv1.RemoveReactionRequest{ChannelId: ch, MessageId: m.GetId(), Emoji: emoji})
		return r.GetReaction(), err
	}

	t.Run("twice counts once, history shows count and me", func(t *testing.T) {
		for range 2 {
			r, err := add(alice, "👍🏽")
			if err != nil || r.GetCount() != 1 || !r.GetMe() {
				t.Fatalf("add = %v, %v", r, err)
			}
		}
		if s := summary(t, w, c, alice, ch, m.GetId(), "👍🏽"); s.GetCount() != 1 || !s.GetMe() {
			t.Fatalf("alice sees %v", s)
		}
		if s := summary(t, w, c, owner, ch, m.GetId(), "👍🏽"); s.GetCount() != 1 || s.GetMe() {
			t.Fatalf("owner sees %v", s)
		}
	})

	t.Run("remove after add leaves nothing", func(t *testing.T) {
		r, err := remove(alice, "👍🏽")
		if err != nil || r.GetCount() != 0 || r.GetMe() {
			t.Fatalf("remove = %v, %v", r, err)
		}
		if _, err := remove(alice, "👍🏽"); err != nil {
			t.Fatalf("second remove: %v", err)
		}
		for _, hm := range history(t, c, w.ctx(alice), ch) {
			if len(hm.GetReactions()) != 0 {
				t.Fatalf("reactions left: %v", hm.GetReactions())
			}
		}
	})

	t.Run("bad emojis are INVALID_ARGUMENT on emoji and change nothing", func(t *testing.T) {
		for _, e := range []string{"a", "+1", ":thumbsup:", "👍👍", "<b>x</b>", "👍 "} {
			_, err := add(alice, e)
			if code, field := fieldOf(err); code != codes.InvalidArgument || field != "emoji" {
				t.Errorf("add %q: %v (field %q), want INVALID_ARGUMENT on emoji", e, err, field)
			}
		}
		if n := len(history(t, c, w.ctx(alice), ch)[0].GetReactions()); n != 0 {
			t.Fatalf("reactions after bad input: %d", n)
		}
	})

	t.Run("sequences are accepted", func(t *testing.T) {
		for _, e := range []string{"👨‍👩‍👧‍👦", "🇫🇷", "#️⃣", "🧑🏿‍💻", "❤️"} {
			if _, err := add(alice, e); err != nil {
				t.Errorf("add %q: %v", e, err)
			}
		}
		for _, e := range []string{"👨‍👩‍👧‍👦", "🇫🇷", "#️⃣", "🧑🏿‍💻", "❤️"} {
			if _, err := remove(alice, e); err != nil {
				t.Errorf("remove %q: %v", e, err)
			}
		}
	})

	t.Run("at most 20 different emojis", func(t *testing.T) {
		emojis := []rune("😀😁😂😃😄😅😆😇😈😉😊😋😌😍😎😏😐😑😒😓😔")
		for _, e := range emojis[:20] {
			if _, err := add(alice, string(e)); err != nil {
				t.Fatalf("add %q: %v", string(e), err)
			}
		}
		_, err := add(alice, string(emojis[20]))
		if status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("21st emoji: %v, want FAILED_PRECONDITION", err)
		}
		// An emoji already there still takes more users.
		if r, err := add(owner, string(emojis[0])); err != nil || r.GetCount() != 2 {
			t.Fatalf("owner joins an existing emoji: %v, %v", r, err)
		}
		rs := history(t, c, w.ctx(alice), ch)[0].GetReactions()
		if len(rs) != 20 {
			t.Fatalf("%d emojis, want 20", len(rs))
		}
		for i, r := range rs { // in the order of first use
			if r.GetEmoji() != string(emojis[i]) {
				t.Fatalf("emoji %d = %q, want %q", i, r.GetEmoji(), string(emojis[i]))
			}
		}
		for _, e := range emojis[:20] {
			_, _ = remove(alice, string(e))
		}
		_, _ = remove(owner, string(emojis[0]))
	})

	t.Run("only readers of the channel react or list", func(t *testing.T) {
		_, err := add(stranger, "👍")
		if status.Code(err) != codes.NotFound {
			t.Fatalf("stranger adds: %v, want NOT_FOUND", err)
		}
		_, err = c.ListReactions(w.ctx(stranger), &serverv1.ListReactionsRequest{ChannelId: ch, MessageId: m.GetId(), Emoji: "👍"})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("stranger lists: %v, want NOT_FOUND", err)
		}
		other := w.channel(w.server(stranger))
		_, err = c.AddReaction(w.ctx(alice), &serverv1.AddReactionRequest{ChannelId: other, MessageId: m.GetId(), Emoji: "👍"})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("alice in a foreign channel: %v, want NOT_FOUND", err)
		}
		mine := w.channel(srv)
		_, err = c.AddReaction(w.ctx(alice), &serverv1.AddReactionRequest{ChannelId: mine, MessageId: m.GetId(), Emoji: "👍"})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("message of another channel: %v, want NOT_FOUND", err)
		}
	})
}

func TestReactionsConcurrentAndPaged(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	owner := w.user("Owner")
	srv := w.server(owner)
	ch := w.channel(srv)
	m := sendText(t, w, c, owner, ch, "party")
	users := make([]string, 50)
	for i := range users {
		users[i] = w.user(fmt.Sprintf("U%02d", i))
		w.member(srv, users[i], serverv1.Role_ROLE_MEMBER)
	}
	s := openStream(t, c, w.streamCtx(owner))
	awaitLive(t, s, func() { _, _ = c.SendTyping(w.ctx(users[0]), &serverv1.SendTypingRequest{ChannelId: ch}) })

	var wg sync.WaitGroup
	errc := make(chan error, 100)
	for i := range 100 { // each user twice, all at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.AddReaction(w.ctx(users[i%50]), &serverv1.AddReactionRequest{ChannelId: ch, MessageId: m.GetId(), Emoji: "🎉"})
			errc <- err
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := summary(t, w, c, owner, ch, m.GetId(), "🎉").GetCount(); got != 50 {
		t.Fatalf("count = %d, want 50", got)
	}
	// 50 events, one per user, counts 1..50 in order.
	platformtest.Eventually(t, 30*time.Second, func() bool {
		n := 0
		for _, e := range s.snapshot() {
			if e.GetReactionAdded() != nil {
				n++
			}
		}
		return n >= 50
	}, "50 reaction events")
	var counts []int32
	for _, e := range s.snapshot() {
		if r := e.GetReactionAdded(); r != nil {
			counts = append(counts, r.GetCount())
			if r.GetMessageId() != m.GetId() || r.GetEmoji() != "🎉" || r.GetChannelId() != ch {
				t.Fatalf("event = %v", r)
			}
		}
	}
	for i, n := range counts {
		if n != int32(i+1) {
			t.Fatalf("event counts = %v, want 1..50", counts)
		}
	}

	// Who reacted, paged by user id.
	var seen []string
	tok := ""
	for {
		r, err := c.ListReactions(w.ctx(owner), &serverv1.ListReactionsRequest{ChannelId: ch, MessageId: m.GetId(), Emoji: "🎉", PageSize: 20, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range r.GetReactors() {
			seen = append(seen, x.GetUserId())
			if x.GetDisplayName() == "" || x.GetReactTime() == nil {
				t.Fatalf("reactor = %v", x)
			}
		}
		if tok = r.GetNextPageToken(); tok == "" {
			break
		}
	}
	if len(seen) != 50 {
		t.Fatalf("listed %d reactors, want 50", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if seen[i-1] >= seen[i] {
			t.Fatalf("reactors out of order: %v", seen)
		}
	}
	_, err := c.ListReactions(w.ctx(owner), &serverv1.ListReactionsRequest{ChannelId: ch, MessageId: m.GetId(), Emoji: "🎉", PageToken: "junk"})
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "page_token" {
		t.Fatalf("bad token: %v", err)
	}

	// Everyone takes it back at once: nothing is left, the last event says 0.
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.RemoveReaction(w.ctx(users[i]), &serverv1.RemoveReactionRequest{ChannelId: ch, MessageId: m.GetId(), Emoji: "🎉"})
		}()
	}
	wg.Wait()
	if got := summary(t, w, c, owner, ch, m.GetId(), "🎉").GetCount(); got != 0 {
		t.Fatalf("count after removes = %d, want 0", got)
	}
	platformtest.Eventually(t, 30*time.Second, func() bool {
		var last int32 = -1
		n := 0
		for _, e := range s.snapshot() {
			if r := e.GetReactionRemoved(); r != nil {
				last = r.GetCount()
				n++
			}
		}
		return n == 50 && last == 0
	}, "50 removal events ending at 0")
}

func TestPins(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	owner, admin, alice, stranger := w.user("Owner"), w.user("Admin"), w.user("Alice"), w.user("Stranger")
	srv := w.server(owner)
	w.member(srv, admin, serverv1.Role_ROLE_ADMIN)
	w.member(srv, alice, serverv1.Role_ROLE_MEMBER)
	ch := w.channel(srv)
	m := sendText(t, w, c, alice, ch, "pin me")
	s := openStream(t, c, w.streamCtx(alice))
	awaitLive(t, s, func() { _, _ = c.SendTyping(w.ctx(owner), &serverv1.SendTypingRequest{ChannelId: ch}) })

	t.Run("members may not pin, strangers see nothing", func(t *testing.T) {
		_, err := c.PinMessage(w.ctx(alice), &serverv1.PinMessageRequest{ChannelId: ch, MessageId: m.GetId()})
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("member pins: %v, want PERMISSION_DENIED", err)
		}
		_, err = c.PinMessage(w.ctx(stranger), &serverv1.PinMessageRequest{ChannelId: ch, MessageId: m.GetId()})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("stranger pins: %v, want NOT_FOUND", err)
		}
		_, err = c.ListPins(w.ctx(stranger), &serverv1.ListPinsRequest{ChannelId: ch})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("stranger lists: %v, want NOT_FOUND", err)
		}
	})

	t.Run("admin pins: live event, list, pinned flag", func(t *testing.T) {
		r, err := c.PinMessage(w.ctx(admin), &serverv1.PinMessageRequest{ChannelId: ch, MessageId: m.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if p := r.GetPin(); p.GetPinnedBy() != admin || p.GetMessage().GetContent() != "pin me" || !p.GetMessage().GetPinned() {
			t.Fatalf("pin = %v", p)
		}
		if _, err := c.PinMessage(w.ctx(owner), &serverv1.PinMessageRequest{ChannelId: ch, MessageId: m.GetId()}); err != nil {
			t.Fatalf("pin again: %v", err)
		}
		platformtest.Eventually(t, 10*time.Second, func() bool {
			for _, e := range s.snapshot() {
				if p := e.GetMessagePinned(); p != nil && p.GetMessageId() == m.GetId() && p.GetUserId() == admin && p.GetDisplayName() == "Admin" && p.GetPin().GetMessage().GetId() == m.GetId() {
					return true
				}
			}
			return false
		}, "the pin event")
		lp, err := c.ListPins(w.ctx(alice), &serverv1.ListPinsRequest{ChannelId: ch})
		if err != nil || len(lp.GetPins()) != 1 || lp.GetPins()[0].GetMessageId() != m.GetId() {
			t.Fatalf("pins = %v, %v", lp, err)
		}
		if !history(t, c, w.ctx(alice), ch)[0].GetPinned() {
			t.Fatal("history does not show the pin")
		}
	})

	t.Run("unpin: live event, gone from the list", func(t *testing.T) {
		if _, err := c.UnpinMessage(w.ctx(owner), &serverv1.UnpinMessageRequest{ChannelId: ch, MessageId: m.GetId()}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UnpinMessage(w.ctx(owner), &serverv1.UnpinMessageRequest{ChannelId: ch, MessageId: m.GetId()}); err != nil {
			t.Fatalf("unpin again: %v", err)
		}
		platformtest.Eventually(t, 10*time.Second, func() bool {
			for _, e := range s.snapshot() {
				if p := e.GetMessageUnpinned(); p != nil && p.GetMessageId() == m.GetId() && p.GetUserId() == owner {
					return true
				}
			}
			return false
		}, "the unpin event")
		lp, err := c.ListPins(w.ctx(alice), &serverv1.ListPinsRequest{ChannelId: ch})
		if err != nil || len(lp.GetPins()) != 0 {
			t.Fatalf("pins = %v, %v", lp, err)
		}
		if history(t, c, w.ctx(alice), ch)[0].GetPinned() {
			t.Fatal("history still shows the pin")
		}
	})

	t.Run("at most 50 pins; the 51st changes nothing", func(t *testing.T) {
		now := time.Now().UTC()
		var msgs []chat.Message
		last := ""
		for i := range 51 {
			last = ids.After(last)
			msgs = append(msgs, chat.Message{ID: last, ServerID: srv, ChannelID: ch, AuthorID: alice, Content: fmt.Sprint(i), CreatedAt: now})
		}
		// Stored directly, with ids after the sent one.
		w.store(msgs...)
		var wg sync.WaitGroup
		for _, x := range msgs[:50] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.PinMessage(w.ctx(owner), &serverv1.PinMessageRequest{ChannelId: ch, MessageId: x.ID}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		_, err := c.PinMessage(w.ctx(owner), &serverv1.PinMessageRequest{ChannelId: ch, MessageId: msgs[50].ID})
		if status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("51st pin: %v, want FAILED_PRECONDITION", err)
		}
		lp, err := c.ListPins(w.ctx(alice), &serverv1.ListPinsRequest{ChannelId: ch})
		if err != nil || len(lp.GetPins()) != 50 {
			t.Fatalf("%d pins, %v; want 50", len(lp.GetPins()), err)
		}
		for _, p := range lp.GetPins() {
			if p.GetMessageId() == msgs[50].ID {
				t.Fatal("the 51st is pinned")
			}
		}
		// Deleting a pinned message frees its place.
		if _, err := c.DeleteMessage(w.ctx(owner), &serverv1.DeleteMessageRequest{ChannelId: ch, MessageId: msgs[0].ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PinMessage(w.ctx(owner), &serverv1.PinMessageRequest{ChannelId: ch, MessageId: msgs[50].ID}); err != nil {
			t.Fatalf("pin after a pinned message was deleted: %v", err)
		}
	})
}

func TestPinsInConversations(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	a, b := w.user("A"), w.user("B")
	ctx := context.Background()
	dm := ids.New()
	if err := w.db.Guild.CreateServer(ctx, guild.Server{ID: dm, Kind: guild.KindDM, DMKey: a + "/" + b, DMUserIDs: []string{a, b}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{a, b} {
		if err := w.db.Guild.CreateMember(ctx, guild.Member{ID: ids.New(), ServerID: dm, UserID: u, Role: guild.RoleMember, JoinedAt: time.Now()}, guild.KindDM); err != nil {
			t.Fatal(err)
		}
	}
	ch := w.channel(dm)
	m := sendText(t, w, c, a, ch, "remember this")
	for _, u := range []string{b, a} {
		if _, err := c.PinMessage(w.ctx(u), &serverv1.PinMessageRequest{ChannelId: ch, MessageId: m.GetId()}); err != nil {
			t.Fatalf("participant pins: %v", err)
		}
		if _, err := c.UnpinMessage(w.ctx(u), &serverv1.UnpinMessageRequest{ChannelId: ch, MessageId: m.GetId()}); err != nil {
			t.Fatalf("participant unpins: %v", err)
		}
	}
}

// TestReactionsAndPinsLeaveStatsAlone: stats count messages, from the
// activity stream (live) and from the store (rebuilds); reactions and pins
// add to neither.
func TestReactionsAndPinsLeaveStatsAlone(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	owner := w.user("Owner")
	srv := w.server(owner)
	ch := w.channel(srv)
	m := sendText(t, w, c, owner, ch, "count me once")
	ctx := context.Background()
	activity := func() int64 {
		n, err := w.env.Redis.XLen(ctx, w.env.Keys.Key(events.Activity)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	counts := func() map[string]int64 {
		out := map[string]int64{}
		err := w.db.Messages.CountMessages(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), func(mc chat.MessageCount) error {
			out[mc.AuthorID+"/"+mc.ServerID] += mc.N
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	beforeActivity, beforeCounts := activity(), counts()
	if beforeActivity != 1 || beforeCounts[owner+"/"+srv] != 1 {
		t.Fatalf("before: activity %d, counts %v", beforeActivity, beforeCounts)
	}
	if _, err := c.AddReaction(w.ctx(owner), &serverv1.AddReactionRequest{ChannelId: ch, MessageId: m.GetId(), Emoji: "👍"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PinMessage(w.ctx(owner), &serverv1.PinMessageRequest{ChannelId: ch, MessageId: m.GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UnpinMessage(w.ctx(owner), &serverv1.UnpinMessageRequest{ChannelId: ch, MessageId: m.GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveReaction(w.ctx(owner), &serverv1.RemoveReactionRequest{ChannelId: ch, MessageId: m.GetId(), Emoji: "👍"}); err != nil {
		t.Fatal(err)
	}
	if got := activity(); got != beforeActivity {
		t.Fatalf("activity entries %d, want %d", got, beforeActivity)
	}
	if got := counts(); fmt.Sprint(got) != fmt.Sprint(beforeCounts) {
		t.Fatalf("message counts %v, want %v", got, beforeCounts)
	}
}
