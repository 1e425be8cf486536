package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
)

func messageIDs(ms []chat.Message) []string {
	return fmtIDs(ms, func(m chat.Message) string { return m.ID })
}

func reversed(xs []string) []string {
	out := slices.Clone(xs)
	slices.Reverse(out)
	return out
}

// fill stores n messages in a channel and returns their ids, oldest first.
func fill(t *testing.T, s chat.MessageStore, serverID, channelID string, n int, author func(i int) string) []string {
	t.Helper()
	ctx := ctxFor(t)
	out := newIDs(n)
	for i, id := range out {
		must(t, s.CreateMessage(ctx, chat.Message{ID: id, ServerID: serverID, ChannelID: channelID, AuthorID: author(i), Content: fmt.Sprint(i), CreatedAt: now()}))
	}
	return out
}

// TestMessages is the contract of chat.MessageStore.
func TestMessages(t *testing.T, newStore func(t *testing.T) chat.MessageStore) {
	alice := func(int) string { return "alice" }
	t.Run("a message reads back as written", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		edited := now().Add(time.Second)
		m := chat.Message{ID: ids.New(), ServerID: ids.New(), ChannelID: ids.New(), AuthorID: "alice", Content: "hi",
			CreatedAt: now(), EditedAt: &edited, ReplyToID: ids.New(), RequestID: "r1"}
		must(t, s.CreateMessage(ctx, m))
		got, err := s.Message(ctx, m.ID)
		must(t, err)
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("got %+v, want %+v", got, m)
		}
		got, err = s.MessageByRequest(ctx, "alice", "r1")
		must(t, err)
		check(t, "by request", got.ID, m.ID)
		plain := chat.Message{ID: ids.New(), ServerID: m.ServerID, ChannelID: m.ChannelID, AuthorID: "bob", Content: "yo", CreatedAt: now()}
		must(t, s.CreateMessage(ctx, plain))
		got, err = s.Message(ctx, plain.ID)
		must(t, err)
		if !reflect.DeepEqual(got, plain) {
			t.Fatalf("got %+v, want %+v", got, plain)
		}
	})
	t.Run("missing and malformed ids are not found", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		_, err := s.Message(ctx, ids.New())
		wantErr(t, err, errs.ErrNotFound, "missing message")
		_, err = s.Message(ctx, "junk")
		wantErr(t, err, errs.ErrNotFound, "malformed id")
		_, err = s.MessageByRequest(ctx, "alice", "r1")
		wantErr(t, err, errs.ErrNotFound, "unknown request")
		_, err = s.MessageByRequest(ctx, "alice", "")
		wantErr(t, err, errs.ErrNotFound, "empty request id")
		wantErr(t, s.EditMessage(ctx, ids.New(), "x", chat.Mentions{}, now()), errs.ErrNotFound, "edit of a missing message")
		wantErr(t, s.DeleteMessage(ctx, ids.New()), errs.ErrNotFound, "delete of a missing message")
	})
	t.Run("one message per author and request id", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		ch := ids.New()
		msg := func(author, req string) chat.Message {
			return chat.Message{ID: ids.New(), ServerID: ids.New(), ChannelID: ch, AuthorID: author, Content: "x", CreatedAt: now(), RequestID: req}
		}
		first := msg("alice", "r1")
		must(t, s.CreateMessage(ctx, first))
		wantErr(t, s.CreateMessage(ctx, first), errs.ErrAlreadyExists, "same id")
		wantErr(t, s.CreateMessage(ctx, msg("alice", "r1")), errs.ErrAlreadyExists, "same request")
		must(t, s.CreateMessage(ctx, msg("bob", "r1"))) // another author
		must(t, s.CreateMessage(ctx, msg("alice", ""))) // no request id:
		must(t, s.CreateMessage(ctx, msg("alice", ""))) // never a conflict
		n, errList := concurrently(8, func(int) error { return s.CreateMessage(ctx, msg("carol", "r9")) })
		check(t, "concurrent creates of one request that succeed", n, 1)
		for _, err := range errList {
			wantErr(t, err, errs.ErrAlreadyExists, "a losing create")
		}
		got, err := s.MessageByRequest(ctx, "alice", "r1")
		must(t, err)
		check(t, "the original", got.ID, first.ID)
	})
	t.Run("a batch stores each message and refuses conflicts alone", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		sid, ch := ids.New(), ids.New()
		msg := func(author, req string) chat.Message {
			return chat.Message{ID: ids.New(), ServerID: sid, ChannelID: ch, AuthorID: author, Content: author + req, CreatedAt: now(), RequestID: req}
		}
		stored := msg("alice", "r1")
		must(t, s.CreateMessage(ctx, stored))
		batch := []chat.Message{
			msg("alice", "r2"),
			msg("alice", "r1"), // the stored one's request
			msg("bob", "r1"),
			msg("alice", "r2"), // the same request twice in one batch
			{ID: stored.ID, ServerID: sid, ChannelID: ch, AuthorID: "carol", Content: "x", CreatedAt: now()}, // a taken id
			msg("alice", ""),
		}
		per, err := s.CreateMessages(ctx, batch)
		must(t, err)
		check(t, "errors", len(per), len(batch))
		for i, want := range []bool{true, false, true, false, false, true} {
			if want {
				must(t, per[i])
				got, err := s.Message(ctx, batch[i].ID)
				must(t, err)
				check(t, "stored content", got.Content, batch[i].Content)
				continue
			}
			wantErr(t, per[i], errs.ErrAlreadyExists, fmt.Sprint("conflict ", i))
			if i != 4 {
				_, err := s.Message(ctx, batch[i].ID)
				wantErr(t, err, errs.ErrNotFound, fmt.Sprint("refused message ", i))
			}
		}
		got, err := s.MessageByRequest(ctx, "alice", "r2")
		must(t, err)
		check(t, "the first of one request in a batch", got.ID, batch[0].ID)
		ms, err := s.ListMessages(ctx, ch, chat.MessagePage{Limit: 10})
		must(t, err)
		check(t, "messages in the channel", len(ms), 4)
		per, err = s.CreateMessages(ctx, nil)
		must(t, err)
		check(t, "errors of an empty batch", len(per), 0)
	})
	t.Run("history pages by id before and after", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		sid, ch := ids.New(), ids.New()
		all := fill(t, s, sid, ch, 12, alice)
		fill(t, s, sid, ids.New(), 3, alice) // another channel
		list := func(p chat.MessagePage) []string {
			ms, err := s.ListMessages(ctx, ch, p)
			must(t, err)
			return messageIDs(ms)
		}
		checkList(t, "newest", list(chat.MessagePage{Limit: 5}), reversed(all[7:]))
		checkList(t, "everything", list(chat.MessagePage{Limit: 100}), reversed(all))
		checkList(t, "before", list(chat.MessagePage{Before: all[7], Limit: 3}), reversed(all[4:7]))
		checkList(t, "before near the start", list(chat.MessagePage{Before: all[2], Limit: 5}), reversed(all[:2]))
		checkList(t, "after", list(chat.MessagePage{After: all[3], Limit: 3}), all[4:7])
		checkList(t, "after near the end", list(chat.MessagePage{After: all[9], Limit: 5}), all[10:])
		checkList(t, "after the last", list(chat.MessagePage{After: all[11], Limit: 5}), nil)
		checkList(t, "other channel", func() []string {
			ms, err := s.ListMessages(ctx, ids.New(), chat.MessagePage{Limit: 5})
			must(t, err)
			return messageIDs(ms)
		}(), nil)
	})
	t.Run("newest messages are refs after a marker, newest first", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		ch := ids.New()
		all := fill(t, s, ids.New(), ch, 6, func(i int) string { return fmt.Sprintf("u%d", i%2) })
		refs, err := s.NewestMessages(ctx, ch, all[2], 10)
		must(t, err)
		checkList(t, "after a marker", fmtIDs(refs, func(r chat.MessageRef) string { return r.ID }), reversed(all[3:]))
		check(t, "author of the newest", refs[0].AuthorID, "u1")
		refs, err = s.NewestMessages(ctx, ch, "", 2)
		must(t, err)
		checkList(t, "limited", fmtIDs(refs, func(r chat.MessageRef) string { return r.ID }), reversed(all[4:]))
		refs, err = s.NewestMessages(ctx, ch, all[5], 2)
		must(t, err)
		check(t, "after the newest", len(refs), 0)
	})
	t.Run("messages by id leave out what does not exist", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		all := fill(t, s, ids.New(), ids.New(), 3, alice)
		got, err := s.MessagesByID(ctx, []string{all[2], ids.New(), "junk", all[0]})
		must(t, err)
		gotIDs := messageIDs(got)
		slices.Sort(gotIDs)
		checkList(t, "found", gotIDs, []string{all[0], all[2]})
		got, err = s.MessagesByID(ctx, nil)
		must(t, err)
		check(t, "none asked", len(got), 0)
	})
	t.Run("edit and delete", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		all := fill(t, s, ids.New(), ids.New(), 2, alice)
		at := now()
		must(t, s.EditMessage(ctx, all[0], "changed", chat.Mentions{}, at))
		got, err := s.Message(ctx, all[0])
		must(t, err)
		check(t, "content", got.Content, "changed")
		if got.EditedAt == nil || !got.EditedAt.Equal(at) {
			t.Fatalf("edited at %v, want %v", got.EditedAt, at)
		}
		n, _ := concurrently(5, func(int) error { return s.DeleteMessage(ctx, all[1]) })
		check(t, "concurrent deletes that succeed", n, 1)
		_, err = s.Message(ctx, all[1])
		wantErr(t, err, errs.ErrNotFound, "deleted message")
	})
	t.Run("a scan walks every message in id order", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		var want []string
		for i := range 5 {
			id := ids.New()
			want = append(want, id)
			must(t, s.CreateMessage(ctx, chat.Message{ID: id, ServerID: ids.New(), ChannelID: ids.New(), AuthorID: "a", Content: fmt.Sprint("m", i), CreatedAt: now()}))
		}
		var got []string
		after := ""
		for range 10 {
			page, err := s.ScanMessages(ctx, after, 2)
			must(t, err)
			if len(page) == 0 {
				break
			}
			for _, m := range page {
				got = append(got, m.ID)
			}
			after = page[len(page)-1].ID
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("scan = %v, want %v", got, want)
		}
		page, err := s.ScanMessages(ctx, want[3], 10)
		must(t, err)
		if len(page) != 1 || page[0].ID != want[4] || page[0].Content != "m4" {
			t.Fatalf("scan after the fourth: %v", page)
		}
	})
	t.Run("messages are counted per author and server in half-open time ranges", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		counts := func(from, to time.Time) map[string]int64 {
			t.Helper()
			got := map[string]int64{}
			must(t, s.CountMessages(ctx, from, to, func(c chat.MessageCount) error {
				k := c.AuthorID + "/" + c.ServerID
				if _, dup := got[k]; dup {
					t.Errorf("pair %s counted twice", k)
				}
				got[k] = c.N
				return nil
			}))
			return got
		}
		if _, ok, err := s.OldestMessageTime(ctx); err != nil || ok {
			t.Fatalf("oldest of none: %v, %v", ok, err)
		}
		if got := counts(time.Unix(0, 0), now().Add(time.Hour)); len(got) != 0 {
			t.Fatalf("counts of none: %v", got)
		}
		base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		s1, s2 := ids.New(), ids.New()
		add := func(author, server string, at time.Time, n int) {
			for range n {
				must(t, s.CreateMessage(ctx, chat.Message{ID: ids.New(), ServerID: server, ChannelID: ids.New(), AuthorID: author, Content: "x", CreatedAt: at}))
			}
		}
		add("a", s1, base, 3)
		add("a", s2, base.Add(2*time.Hour), 1)
		add("b", s1, base.Add(24*time.Hour), 2) // the end is left out
		add("c", s1, base.Add(-time.Millisecond), 5)
		oldest, ok, err := s.OldestMessageTime(ctx)
		must(t, err)
		if !ok || !oldest.Equal(base.Add(-time.Millisecond)) {
			t.Fatalf("oldest = %v, %v; want %v", oldest, ok, base.Add(-time.Millisecond))
		}
		got := counts(base, base.Add(24*time.Hour))
		if want := map[string]int64{"a/" + s1: 3, "a/" + s2: 1}; !reflect.DeepEqual(got, want) {
			t.Errorf("counts = %v, want %v", got, want)
		}
		stop := errors.New("stop")
		calls := 0
		err = s.CountMessages(ctx, base.Add(-time.Hour), base.Add(48*time.Hour), func(chat.MessageCount) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("after fn fails: %d calls, %v; want 1 call and its error", calls, err)
		}
	})
}

// TestReadStates is the contract of chat.ReadStateStore.
func TestReadStates(t *testing.T, newStore func(t *testing.T) chat.ReadStateStore, opts ...Option) {
	o := apply(opts)
	t.Run("a marker only moves forward", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		sid, ch := ids.New(), ids.New()
		id := newIDs(3)
		mark := func(user, msg string) bool {
			moved, err := s.AdvanceReadMarker(ctx, chat.ReadMarker{UserID: user, ChannelID: ch, ServerID: sid, LastReadID: msg, UpdatedAt: now()})
			must(t, err)
			return moved
		}
		got, err := s.ReadMarker(ctx, "alice", ch)
		must(t, err)
		check(t, "no marker yet", got, "")
		check(t, "first mark", mark("alice", id[1]), true)
		check(t, "same again", mark("alice", id[1]), false)
		check(t, "back", mark("alice", id[0]), false)
		check(t, "forward", mark("alice", id[2]), true)
		check(t, "bob's own", mark("bob", id[0]), true)
		got, err = s.ReadMarker(ctx, "alice", ch)
		must(t, err)
		check(t, "alice's marker", got, id[2])
		got, err = s.ReadMarker(ctx, "bob", ch)
		must(t, err)
		check(t, "bob's marker", got, id[0])
	})
	t.Run("concurrent marks leave the greatest", func(t *testing.T) {
		o.atomicUpdates(t)
		s, ctx := newStore(t), ctxFor(t)
		sid, ch := ids.New(), ids.New()
		id := newIDs(8)
		var mu = make(chan string, len(id))
		concurrently(len(id), func(i int) error {
			moved, err := s.AdvanceReadMarker(ctx, chat.ReadMarker{UserID: "alice", ChannelID: ch, ServerID: sid, LastReadID: id[i], UpdatedAt: now()})
			if moved {
				mu <- id[i]
			}
			return err
		})
		close(mu)
		movedTo := map[string]bool{}
		for m := range mu {
			movedTo[m] = true
		}
		got, err := s.ReadMarker(ctx, "alice", ch)
		must(t, err)
		check(t, "marker", got, id[len(id)-1])
		if !movedTo[id[len(id)-1]] {
			t.Fatal("the call with the greatest id did not report that it moved the marker")
		}
	})
	t.Run("markers of many channels", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		sid := ids.New()
		chs := newIDs(3)
		msg := newIDs(2)
		for _, c := range chs[:2] {
			_, err := s.AdvanceReadMarker(ctx, chat.ReadMarker{UserID: "alice", ChannelID: c, ServerID: sid, LastReadID: msg[1], UpdatedAt: now()})
			must(t, err)
		}
		_, err := s.AdvanceReadMarker(ctx, chat.ReadMarker{UserID: "bob", ChannelID: chs[2], ServerID: sid, LastReadID: msg[0], UpdatedAt: now()})
		must(t, err)
		got, err := s.ReadMarkers(ctx, "alice", chs)
		must(t, err)
		if !reflect.DeepEqual(got, map[string]string{chs[0]: msg[1], chs[1]: msg[1]}) {
			t.Fatalf("markers = %v", got)
		}
		got, err = s.ReadMarkers(ctx, "alice", nil)
		must(t, err)
		check(t, "no channels", len(got), 0)
	})
}

// TestCascades is the contract of the deletes that span stores:
// ServerStore.DeleteServerData and ChannelStore.DeleteChannelData.
func TestCascades(t *testing.T, newStores func(t *testing.T) Stores) {
	type world struct {
		srv      guild.Server
		ch       guild.Channel
		inv      guild.Invite
		messages []string
	}
	build := func(t *testing.T, s Stores) world {
		ctx := ctxFor(t)
		w := world{srv: guildServer("alice")}
		must(t, s.Guild.CreateServer(ctx, w.srv))
		must(t, s.Guild.CreateMember(ctx, guild.Member{ID: ids.New(), ServerID: w.srv.ID, UserID: "alice", Role: guild.RoleOwner, JoinedAt: now()}, guild.KindGuild))
		w.ch = guild.Channel{ID: ids.New(), ServerID: w.srv.ID, Name: "general", CreatedAt: now()}
		must(t, s.Guild.CreateChannel(ctx, w.ch))
		code, err := guild.NewInviteCode()
		must(t, err)
		w.inv = guild.Invite{Code: code, ServerID: w.srv.ID, CreatorID: "alice", MaxUses: 5, CreatedAt: now()}
		must(t, s.Guild.CreateInvite(ctx, w.inv))
		ok, err := s.Guild.ClaimInviteUse(ctx, w.inv, "bob")
		must(t, err)
		check(t, "claim", ok, true)
		w.messages = fill(t, s.Messages, w.srv.ID, w.ch.ID, 3, func(int) string { return "alice" })
		_, err = s.ReadStates.AdvanceReadMarker(ctx, chat.ReadMarker{UserID: "alice", ChannelID: w.ch.ID, ServerID: w.srv.ID, LastReadID: w.messages[2], UpdatedAt: now()})
		must(t, err)
		if s.Mentions != nil {
			must(t, s.Mentions.AddMentions(ctx, []chat.Mention{{UserID: "bob", MessageID: w.messages[0], ChannelID: w.ch.ID, ServerID: w.srv.ID, AuthorID: "alice"}}))
		}
		if s.Reactions != nil {
			_, err = s.Reactions.AddReaction(ctx, chat.Reaction{MessageID: w.messages[0], ChannelID: w.ch.ID, Emoji: "👍", UserID: "alice", CreatedAt: now()})
			must(t, err)
			_, err = s.Pins.AddPin(ctx, chat.Pin{ChannelID: w.ch.ID, MessageID: w.messages[0], PinnedBy: "alice", PinnedAt: now()})
			must(t, err)
		}
		return w
	}
	gone := func(t *testing.T, s Stores, w world, channelOnly bool) {
		ctx := ctxFor(t)
		if s.Reactions != nil {
			cs, err := s.Reactions.ReactionCounts(ctx, w.messages)
			must(t, err)
			check(t, "reactions left", len(cs), 0)
			ps, err := s.Pins.Pins(ctx, w.ch.ID, 10)
			must(t, err)
			check(t, "pins left", len(ps), 0)
		}
		ms, err := s.Messages.ListMessages(ctx, w.ch.ID, chat.MessagePage{Limit: 10})
		must(t, err)
		check(t, "messages left", len(ms), 0)
		mark, err := s.ReadStates.ReadMarker(ctx, "alice", w.ch.ID)
		must(t, err)
		check(t, "read marker left", mark, "")
		if s.Mentions != nil {
			n, err := s.Mentions.CountMentions(ctx, "bob", w.ch.ID, "", 10)
			must(t, err)
			check(t, "mentions left", n, 0)
		}
		if channelOnly {
			return
		}
		_, err = s.Guild.Member(ctx, w.srv.ID, "alice")
		wantErr(t, err, errs.ErrNotFound, "member left")
		_, err = s.Guild.Channel(ctx, w.ch.ID)
		wantErr(t, err, errs.ErrNotFound, "channel left")
		_, err = s.Guild.Invite(ctx, w.inv.Code)
		wantErr(t, err, errs.ErrNotFound, "invite left")
		n, err := s.Guild.InviteUses(ctx, w.inv.Code)
		must(t, err)
		check(t, "use slots left", n, int32(0))
	}
	t.Run("a server's data goes, another's stays", func(t *testing.T) {
		s := newStores(t)
		w, other := build(t, s), build(t, s)
		must(t, s.Guild.DeleteServerData(ctxFor(t), w.srv.ID))
		gone(t, s, w, false)
		ms, err := s.Messages.ListMessages(ctxFor(t), other.ch.ID, chat.MessagePage{Limit: 10})
		must(t, err)
		check(t, "the other server's messages", len(ms), 3)
		_, err = s.Guild.Member(ctxFor(t), other.srv.ID, "alice")
		must(t, err)
	})
	t.Run("a channel's data goes, the channel record stays", func(t *testing.T) {
		s := newStores(t)
		w := build(t, s)
		must(t, s.Guild.DeleteChannelData(ctxFor(t), w.ch.ID))
		gone(t, s, w, true)
		_, err := s.Guild.Channel(ctxFor(t), w.ch.ID)
		must(t, err)
	})
}
