package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// TestMessageMentions is the part of the chat.MessageStore contract about
// mentions: they are stored with the message and replaced by an edit.
func TestMessageMentions(t *testing.T, newStore func(t *testing.T) chat.MessageStore) {
	ctx := ctxFor(t)
	s := newStore(t)
	u1, u2, c1 := ids.New(), ids.New(), ids.New()
	m := chat.Message{
		ID: ids.New(), ServerID: ids.New(), ChannelID: ids.New(), AuthorID: ids.New(), Content: "hi", CreatedAt: now(),
		Mentions: chat.Mentions{UserIDs: []string{u2, u1}, ChannelIDs: []string{c1}, Everyone: true},
	}
	must(t, s.CreateMessage(ctx, m))
	got, err := s.Message(ctx, m.ID)
	must(t, err)
	checkList(t, "mentioned users", got.Mentions.UserIDs, []string{u2, u1})
	checkList(t, "mentioned channels", got.Mentions.ChannelIDs, []string{c1})
	check(t, "everyone", got.Mentions.Everyone, true)

	must(t, s.EditMessage(ctx, m.ID, "plain", chat.Mentions{UserIDs: []string{u1}}, now()))
	got, err = s.Message(ctx, m.ID)
	must(t, err)
	checkList(t, "mentioned users after the edit", got.Mentions.UserIDs, []string{u1})
	checkList(t, "mentioned channels after the edit", got.Mentions.ChannelIDs, nil)
	check(t, "everyone after the edit", got.Mentions.Everyone, false)

	// A message without mentions reads back with none.
	plain := fill(t, s, m.ServerID, m.ChannelID, 1, func(int) string { return m.AuthorID })
	ps, err := s.MessagesByID(ctx, plain)
	must(t, err)
	check(t, "plain message has mentions", ps[0].Mentions.Empty(), true)
}

// TestMentionIndex is the contract of chat.MentionIndex.
func TestMentionIndex(t *testing.T, newStore func(t *testing.T) chat.MentionIndex) {
	t.Run("counts a user's entries in a channel after a marker, bounded", func(t *testing.T) {
		ctx := ctxFor(t)
		s := newStore(t)
		user, other, server, ch, ch2 := ids.New(), ids.New(), ids.New(), ids.New(), ids.New()
		msgs := newIDs(6)
		for i, id := range msgs {
			c := ch
			if i == 5 {
				c = ch2
			}
			must(t, s.AddMentions(ctx, []chat.Mention{
				{UserID: user, MessageID: id, ChannelID: c, ServerID: server, AuthorID: other},
				{UserID: other, MessageID: id, ChannelID: c, ServerID: server, AuthorID: user},
			}))
		}
		// Adding an entry again changes nothing.
		must(t, s.AddMentions(ctx, []chat.Mention{{UserID: user, MessageID: msgs[0], ChannelID: ch, ServerID: server, AuthorID: other}}))
		for _, tc := range []struct {
			after string
			limit int
			want  int
		}{{"", 100, 5}, {msgs[1], 100, 3}, {msgs[4], 100, 0}, {"", 2, 2}} {
			n, err := s.CountMentions(ctx, user, ch, tc.after, tc.limit)
			must(t, err)
			check(t, fmt.Sprintf("count after %q limit %d", tc.after, tc.limit), n, tc.want)
		}
		n, err := s.CountMentions(ctx, ids.New(), ch, "", 100)
		must(t, err)
		check(t, "count of a user never mentioned", n, 0)

		must(t, s.DeleteMentions(ctx, msgs[4]))
		n, err = s.CountMentions(ctx, user, ch, "", 100)
		must(t, err)
		check(t, "count after a message's entries were deleted", n, 4)
		must(t, s.DeleteMentions(ctx, msgs[4])) // none left: not an error
	})
	t.Run("lists a user's entries newest first, paged", func(t *testing.T) {
		ctx := ctxFor(t)
		s := newStore(t)
		user, author, server := ids.New(), ids.New(), ids.New()
		msgs := newIDs(5)
		for _, id := range msgs {
			must(t, s.AddMentions(ctx, []chat.Mention{{UserID: user, MessageID: id, ChannelID: ids.New(), ServerID: server, AuthorID: author}}))
		}
		must(t, s.AddMentions(ctx, []chat.Mention{{UserID: ids.New(), MessageID: ids.After(msgs[4]), ChannelID: ids.New(), ServerID: server, AuthorID: author}}))
		first, err := s.ListMentions(ctx, user, "", 3)
		must(t, err)
		want := slices.Clone(msgs)
		slices.Reverse(want)
		checkList(t, "first page", fmtIDs(first, func(m chat.Mention) string { return m.MessageID }), want[:3])
		check(t, "entry server", first[0].ServerID, server)
		check(t, "entry author", first[0].AuthorID, author)
		check(t, "entry user", first[0].UserID, user)
		rest, err := s.ListMentions(ctx, user, first[2].MessageID, 3)
		must(t, err)
		checkList(t, "second page", fmtIDs(rest, func(m chat.Mention) string { return m.MessageID }), want[3:])
	})
}

// TestNotifySettings is the contract of chat.NotifySettingStore.
func TestNotifySettings(t *testing.T, newStore func(t *testing.T) chat.NotifySettingStore) {
	ctx := ctxFor(t)
	s := newStore(t)
	user, server, ch := ids.New(), ids.New(), ids.New()
	got, err := s.NotifySettings(ctx, user)
	must(t, err)
	check(t, "settings of a new user", len(got), 0)
	must(t, s.PutNotifySetting(ctx, chat.NotifySetting{UserID: user, ServerID: server, Level: chat.LevelMentions}))
	must(t, s.PutNotifySetting(ctx, chat.NotifySetting{UserID: user, ServerID: server, ChannelID: ch, Muted: true}))
	must(t, s.PutNotifySetting(ctx, chat.NotifySetting{UserID: ids.New(), ServerID: server, Level: chat.LevelNothing}))
	// Putting again replaces.
	must(t, s.PutNotifySetting(ctx, chat.NotifySetting{UserID: user, ServerID: server, Level: chat.LevelNothing}))
	got, err = s.NotifySettings(ctx, user)
	must(t, err)
	slices.SortFunc(got, func(a, b chat.NotifySetting) int { return len(a.ChannelID) - len(b.ChannelID) })
	if len(got) != 2 {
		t.Fatalf("settings = %v, want 2", got)
	}
	check(t, "server setting", got[0], chat.NotifySetting{UserID: user, ServerID: server, Level: chat.LevelNothing})
	check(t, "channel setting", got[1], chat.NotifySetting{UserID: user, ServerID: server, ChannelID: ch, Muted: true})
}
