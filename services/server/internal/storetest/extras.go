package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// TestReactions is the contract of chat.ReactionStore.
func TestReactions(t *testing.T, newStore func(t *testing.T) chat.ReactionStore) {
	react := func(msg, emoji, user string) chat.Reaction {
		return chat.Reaction{MessageID: msg, ChannelID: "c", Emoji: emoji, UserID: user, CreatedAt: now()}
	}
	count := func(t *testing.T, s chat.ReactionStore, msg, emoji string) int {
		t.Helper()
		cs, err := s.ReactionCounts(ctxFor(t), []string{msg})
		must(t, err)
		for _, c := range cs {
			if c.MessageID == msg && c.Emoji == emoji {
				return c.Count
			}
		}
		return 0
	}

	t.Run("a user's reaction counts once and goes with remove", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		msg, u := ids.New(), ids.New()
		added, err := s.AddReaction(ctx, react(msg, "👍", u))
		must(t, err)
		check(t, "first add", added, true)
		added, err = s.AddReaction(ctx, react(msg, "👍", u))
		must(t, err)
		check(t, "second add", added, false)
		check(t, "count", count(t, s, msg, "👍"), 1)
		removed, err := s.RemoveReaction(ctx, msg, "👍", u)
		must(t, err)
		check(t, "remove", removed, true)
		removed, err = s.RemoveReaction(ctx, msg, "👍", u)
		must(t, err)
		check(t, "second remove", removed, false)
		cs, err := s.ReactionCounts(ctx, []string{msg})
		must(t, err)
		check(t, "emojis left", len(cs), 0)
	})

	t.Run("counts per message and emoji, first use time, own reactions", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		m1, m2 := ids.New(), ids.New()
		a, b := ids.New(), ids.New()
		t0 := now()
		for i, r := range []chat.Reaction{
			{MessageID: m1, ChannelID: "c", Emoji: "👍", UserID: a, CreatedAt: t0},
			{MessageID: m1, ChannelID: "c", Emoji: "👍", UserID: b, CreatedAt: t0.Add(time.Second)},
			{MessageID: m1, ChannelID: "c", Emoji: "👨‍👩‍👧", UserID: b, CreatedAt: t0.Add(2 * time.Second)},
			{MessageID: m2, ChannelID: "c", Emoji: "🇫🇷", UserID: a, CreatedAt: t0.Add(3 * time.Second)},
		} {
			if ok, err := s.AddReaction(ctx, r); err != nil || !ok {
				t.Fatalf("add %d: %v %v", i, ok, err)
			}
		}
		cs, err := s.ReactionCounts(ctx, []string{m1, m2, ids.New()})
		must(t, err)
		got := map[string]chat.ReactionCount{}
		for _, c := range cs {
			got[c.MessageID+" "+c.Emoji] = c
		}
		check(t, "entries", len(got), 3)
		check(t, "m1 👍", got[m1+" 👍"].Count, 2)
		check(t, "m1 👍 first", got[m1+" 👍"].First.Equal(t0), true)
		check(t, "m1 family", got[m1+" 👨‍👩‍👧"].Count, 1)
		check(t, "m2 flag", got[m2+" 🇫🇷"].Count, 1)
		mine, err := s.UserReactions(ctx, a, []string{m1, m2})
		must(t, err)
		keys := fmtIDs(mine, func(r chat.Reaction) string { return r.MessageID + " " + r.Emoji })
		slices.Sort(keys)
		want := []string{m1 + " 👍", m2 + " 🇫🇷"}
		slices.Sort(want)
		checkList(t, "a's reactions", keys, want)
		must(t, s.DeleteMessageReactions(ctx, m1))
		cs, err = s.ReactionCounts(ctx, []string{m1, m2})
		must(t, err)
		check(t, "entries after deleting m1's", len(cs), 1)
	})

	t.Run("reactors page in user id order", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		msg := ids.New()
		users := newIDs(5)
		for _, i := range []int{3, 0, 4, 1, 2} {
			_, err := s.AddReaction(ctx, react(msg, "🎉", users[i]))
			must(t, err)
		}
		_, err := s.AddReaction(ctx, react(msg, "👍", users[0]))
		must(t, err)
		p1, err := s.Reactors(ctx, msg, "🎉", "", 2)
		must(t, err)
		checkList(t, "page 1", fmtIDs(p1, func(r chat.Reaction) string { return r.UserID }), users[:2])
		p2, err := s.Reactors(ctx, msg, "🎉", users[1], 10)
		must(t, err)
		checkList(t, "page 2", fmtIDs(p2, func(r chat.Reaction) string { return r.UserID }), users[2:])
		check(t, "emoji kept", p2[0].Emoji, "🎉")
	})

	t.Run("concurrent adds of distinct users count each once", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		msg := ids.New()
		users := newIDs(50)
		ok, errList := concurrently(100, func(i int) error {
			added, err := s.AddReaction(ctx, react(msg, "👍", users[i%50]))
			if err != nil {
				return err
			}
			if !added {
				return fmt.Errorf("not added")
			}
			return nil
		})
		for _, err := range errList {
			if err.Error() != "not added" {
				t.Fatal(err)
			}
		}
		check(t, "adds that won", ok, 50)
		check(t, "count", count(t, s, msg, "👍"), 50)
	})
}

// TestPins is the contract of chat.PinStore.
func TestPins(t *testing.T, newStore func(t *testing.T) chat.PinStore) {
	t.Run("pin once, list latest first, unpin", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		ch, other := ids.New(), ids.New()
		msgs := newIDs(3)
		t0 := now()
		for i, m := range msgs {
			ok, err := s.AddPin(ctx, chat.Pin{ChannelID: ch, MessageID: m, PinnedBy: "u", PinnedAt: t0.Add(time.Duration(i) * time.Second)})
			must(t, err)
			check(t, "added", ok, true)
		}
		ok, err := s.AddPin(ctx, chat.Pin{ChannelID: ch, MessageID: msgs[0], PinnedBy: "v", PinnedAt: t0})
		must(t, err)
		check(t, "pinned again", ok, false)
		_, err = s.AddPin(ctx, chat.Pin{ChannelID: other, MessageID: ids.New(), PinnedBy: "u", PinnedAt: t0})
		must(t, err)
		ps, err := s.Pins(ctx, ch, 10)
		must(t, err)
		checkList(t, "pins", fmtIDs(ps, func(p chat.Pin) string { return p.MessageID }), []string{msgs[2], msgs[1], msgs[0]})
		check(t, "pinned by", ps[2].PinnedBy, "u")
		check(t, "pinned at", ps[2].PinnedAt.Equal(t0), true)
		ps, err = s.Pins(ctx, ch, 2)
		must(t, err)
		check(t, "limited", len(ps), 2)
		among, err := s.PinnedAmong(ctx, ch, []string{msgs[1], ids.New(), msgs[2]})
		must(t, err)
		slices.Sort(among)
		checkList(t, "pinned among", among, []string{msgs[1], msgs[2]})
		removed, err := s.RemovePin(ctx, ch, msgs[1])
		must(t, err)
		check(t, "removed", removed, true)
		removed, err = s.RemovePin(ctx, ch, msgs[1])
		must(t, err)
		check(t, "removed again", removed, false)
		ps, err = s.Pins(ctx, ch, 10)
		must(t, err)
		check(t, "left", len(ps), 2)
	})

	t.Run("concurrent pins of one message: one wins", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		ch, msg := ids.New(), ids.New()
		ok, errList := concurrently(10, func(int) error {
			added, err := s.AddPin(ctx, chat.Pin{ChannelID: ch, MessageID: msg, PinnedBy: "u", PinnedAt: now()})
			if err != nil {
				return err
			}
			if !added {
				return fmt.Errorf("not added")
			}
			return nil
		})
		for _, err := range errList {
			if err.Error() != "not added" {
				t.Fatal(err)
			}
		}
		check(t, "winners", ok, 1)
	})
}
