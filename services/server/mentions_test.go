package server_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// send posts content as userID and returns the stored message.
func send(t *testing.T, c client, w *world, userID, channelID, content string) *serverv1.Message {
	t.Helper()
	r, err := c.SendMessage(w.ctx(userID), &serverv1.SendMessageRequest{ChannelId: channelID, Content: content})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetMessage()
}

// readState returns the caller's read state of one channel.
func readState(t *testing.T, c client, w *world, userID, channelID string) *serverv1.ReadState {
	t.Helper()
	r, err := c.ListReadStates(w.ctx(userID), &serverv1.ListReadStatesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range r.GetReadStates() {
		if rs.GetChannelId() == channelID {
			return rs
		}
	}
	t.Fatalf("no read state of %s", channelID)
	return nil
}

func mentionIDs(t *testing.T, c client, w *world, userID string) []string {
	t.Helper()
	r, err := c.ListMentions(w.ctx(userID), &serverv1.ListMentionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range r.GetMessages() {
		out = append(out, m.GetId())
	}
	return out
}

func TestMentionsResolved(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	owner, admin, alice, bob, stranger := w.user("Owner"), w.user("Admin"), w.user("Alice"), w.user("Bob"), w.user("Stranger")
	srv, other := w.server(owner), w.server(stranger)
	w.member(srv, admin, serverv1.Role_ROLE_ADMIN)
	w.member(srv, alice, serverv1.Role_ROLE_MEMBER)
	w.member(srv, bob, serverv1.Role_ROLE_MEMBER)
	ch, ch2, foreign := w.channel(srv), w.channel(srv), w.channel(other)

	t.Run("members and channels of the server are mentioned, others stay plain", func(t *testing.T) {
		content := "hi <@" + bob + "> and <@" + stranger + "> and <@" + bob + ">, see <#" + ch2 + "> not <#" + foreign + ">"
		m := send(t, c, w, alice, ch, content)
		if m.GetContent() != content {
			t.Fatalf("content changed: %q", m.GetContent())
		}
		if !slices.Equal(m.GetMentionUserIds(), []string{bob}) || !slices.Equal(m.GetMentionChannelIds(), []string{ch2}) || m.GetMentionEveryone() {
			t.Fatalf("mentions = %v / %v / %v", m.GetMentionUserIds(), m.GetMentionChannelIds(), m.GetMentionEveryone())
		}
		// History carries them too.
		if h := history(t, c, w.ctx(owner), ch); !slices.Equal(h[0].GetMentionUserIds(), []string{bob}) {
			t.Fatalf("history mentions = %v", h[0].GetMentionUserIds())
		}
		// The stranger is not notified: no entry, and no access anyway.
		if got := mentionIDs(t, c, w, stranger); len(got) != 0 {
			t.Fatalf("the stranger's inbox = %v", got)
		}
		if got := mentionIDs(t, c, w, bob); !slices.Equal(got, []string{m.GetId()}) {
			t.Fatalf("bob's inbox = %v", got)
		}
	})

	t.Run("@everyone and @here notify only from owners and admins", func(t *testing.T) {
		plain := send(t, c, w, alice, ch, "@everyone look")
		if plain.GetMentionEveryone() {
			t.Fatal("a member's @everyone notifies")
		}
		here := send(t, c, w, alice, ch, "@here look")
		if here.GetMentionEveryone() {
			t.Fatal("a member's @here notifies")
		}
		for _, u := range []string{owner, admin} {
			for _, word := range []string{"@everyone", "@here"} {
				if m := send(t, c, w, u, ch, word+" meeting"); !m.GetMentionEveryone() {
					t.Fatalf("%s from a %s does not notify", word, u)
				}
			}
		}
		if m := send(t, c, w, owner, ch, "mail me at x@everyone.org"); m.GetMentionEveryone() {
			t.Fatal("an address notifies everyone")
		}
	})

	t.Run("an edit re-resolves mentions", func(t *testing.T) {
		m := send(t, c, w, owner, ch2, "hello")
		r, err := c.UpdateMessage(w.ctx(owner), &serverv1.UpdateMessageRequest{ChannelId: ch2, MessageId: m.GetId(), Content: "hello <@" + alice + ">"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.GetMessage().GetMentionUserIds(), []string{alice}) {
			t.Fatalf("edited mentions = %v", r.GetMessage().GetMentionUserIds())
		}
		if got := readState(t, c, w, alice, ch2).GetMentionCount(); got != 1 {
			t.Fatalf("alice's mention count after the edit = %d", got)
		}
		if _, err := c.UpdateMessage(w.ctx(owner), &serverv1.UpdateMessageRequest{ChannelId: ch2, MessageId: m.GetId(), Content: "hello"}); err != nil {
			t.Fatal(err)
		}
		if got := readState(t, c, w, alice, ch2).GetMentionCount(); got != 0 {
			t.Fatalf("alice's mention count after the mention was edited out = %d", got)
		}
	})
}

func TestMentionCounts(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	owner, alice, bob := w.user("Owner"), w.user("Alice"), w.user("Bob")
	srv := w.server(owner)
	w.member(srv, alice, serverv1.Role_ROLE_MEMBER)
	w.member(srv, bob, serverv1.Role_ROLE_MEMBER)
	ch := w.channel(srv)

	s := openStream(t, c, w.streamCtx(bob))
	awaitLive(t, s, func() { _, _ = c.SendTyping(w.ctx(alice), &serverv1.SendTypingRequest{ChannelId: ch}) })

	send(t, c, w, alice, ch, "no mention")
	direct := send(t, c, w, alice, ch, "hey <@"+bob+">")
	send(t, c, w, alice, ch, "@everyone from a member")
	all := send(t, c, w, owner, ch, "@everyone from the owner")
	self := send(t, c, w, bob, ch, "me <@"+bob+">")
	if !slices.Equal(self.GetMentionUserIds(), []string{bob}) {
		t.Fatalf("self mention = %v", self.GetMentionUserIds())
	}
	rs := readState(t, c, w, bob, ch)
	if rs.GetMentionCount() != 2 || rs.GetUnreadCount() != 4 {
		t.Fatalf("bob's state = %v, want 2 mentions of 4 unread", rs)
	}
	if got := readState(t, c, w, owner, ch).GetMentionCount(); got != 0 {
		t.Fatalf("the owner's own @everyone counts for them: %d", got)
	}
	if got := readState(t, c, w, alice, ch).GetMentionCount(); got != 1 {
		t.Fatalf("alice's count = %d, want 1 (the owner's @everyone)", got)
	}
	// The live message carries what the client counts with.
	platformtest.Eventually(t, 10*time.Second, func() bool {
		for _, m := range s.created() {
			if m.GetId() == direct.GetId() && slices.Contains(m.GetMentionUserIds(), bob) {
				return true
			}
		}
		return false
	}, "the mention on bob's stream")

	// Reading up to the direct mention leaves the @everyone.
	r, err := c.MarkRead(w.ctx(bob), &serverv1.MarkReadRequest{ChannelId: ch, MessageId: direct.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if r.GetReadState().GetMentionCount() != 1 {
		t.Fatalf("after reading the direct mention = %v", r.GetReadState())
	}
	platformtest.Eventually(t, 10*time.Second, func() bool {
		for _, e := range s.snapshot() {
			if st := e.GetReadStateUpdated(); st != nil && st.GetLastReadMessageId() == direct.GetId() && st.GetMentionCount() == 1 {
				return true
			}
		}
		return false
	}, "read_state_updated with the mention count")
	if _, err := c.MarkRead(w.ctx(bob), &serverv1.MarkReadRequest{ChannelId: ch, MessageId: self.GetId()}); err != nil {
		t.Fatal(err)
	}
	if got := readState(t, c, w, bob, ch).GetMentionCount(); got != 0 {
		t.Fatalf("count after reading everything = %d", got)
	}

	// Deleting a mention takes it out of the inbox.
	if got := mentionIDs(t, c, w, bob); !slices.Equal(got, []string{all.GetId(), direct.GetId()}) {
		t.Fatalf("bob's inbox = %v", got)
	}
	if _, err := c.DeleteMessage(w.ctx(alice), &serverv1.DeleteMessageRequest{ChannelId: ch, MessageId: direct.GetId()}); err != nil {
		t.Fatal(err)
	}
	if got := mentionIDs(t, c, w, bob); !slices.Equal(got, []string{all.GetId()}) {
		t.Fatalf("bob's inbox after the delete = %v", got)
	}
}

func TestMentionInbox(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	owner, bob := w.user("Owner"), w.user("Bob")
	srv1, srv2 := w.server(owner), w.server(owner)
	w.member(srv1, bob, serverv1.Role_ROLE_MEMBER)
	w.member(srv2, bob, serverv1.Role_ROLE_MEMBER)
	ch1, ch2 := w.channel(srv1), w.channel(srv2)
	var want []string
	for i := range 7 {
		ch := ch1
		if i%2 == 1 {
			ch = ch2
		}
		want = append(want, send(t, c, w, owner, ch, "ping <@"+bob+">").GetId())
	}
	slices.Reverse(want)

	t.Run("paged newest first across servers", func(t *testing.T) {
		var got []string
		tok := ""
		for range 10 {
			r, err := c.ListMentions(w.ctx(bob), &serverv1.ListMentionsRequest{PageSize: 3, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range r.GetMessages() {
				got = append(got, m.GetId())
				if m.GetAuthorName() != "Owner" {
					t.Fatalf("author name = %q", m.GetAuthorName())
				}
			}
			if tok = r.GetNextPageToken(); tok == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("inbox = %v, want %v", got, want)
		}
	})

	t.Run("bad paging is INVALID_ARGUMENT", func(t *testing.T) {
		_, err := c.ListMentions(w.ctx(bob), &serverv1.ListMentionsRequest{PageToken: "nope"})
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != "page_token" {
			t.Fatalf("bad token: %v", err)
		}
		_, err = c.ListMentions(w.ctx(bob), &serverv1.ListMentionsRequest{PageSize: -1})
		if code := status.Code(err); code != codes.InvalidArgument {
			t.Fatalf("negative size: %v", err)
		}
	})

	t.Run("only messages bob can still read", func(t *testing.T) {
		w.kick(srv2, bob)
		got := mentionIDs(t, c, w, bob)
		for _, id := range got {
			if !slices.Contains(want, id) {
				t.Fatalf("unknown id %s", id)
			}
		}
		if len(got) != 4 {
			t.Fatalf("inbox after leaving srv2 = %v, want the 4 of srv1", got)
		}
	})
}

func TestMentionsInConversations(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	alice, bob, carol := w.user("Alice"), w.user("Bob"), w.user("Carol")
	ctx := context.Background()
	dm := ids.New()
	if err := w.db.Guild.CreateServer(ctx, guild.Server{ID: dm, Kind: guild.KindDM, DMKey: guild.DMKey(alice, bob), DMUserIDs: []string{alice, bob}, MemberCount: 2, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{alice, bob} {
		if err := w.db.Guild.CreateMember(ctx, guild.Member{ID: ids.New(), ServerID: dm, UserID: u, Role: guild.RoleMember, JoinedAt: time.Now()}, guild.KindDM); err != nil {
			t.Fatal(err)
		}
	}
	ch := ids.New()
	if err := w.db.Guild.CreateChannel(ctx, guild.Channel{ID: ch, ServerID: dm, Name: "dm", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	m := send(t, c, w, alice, ch, "<@"+bob+"> <@"+carol+"> @everyone")
	if !slices.Equal(m.GetMentionUserIds(), []string{bob}) || m.GetMentionEveryone() {
		t.Fatalf("conversation mentions = %v, everyone %v", m.GetMentionUserIds(), m.GetMentionEveryone())
	}
	if got := readState(t, c, w, bob, ch).GetMentionCount(); got != 1 {
		t.Fatalf("bob's count = %d", got)
	}
}

func TestNotificationSettings(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	owner, bob, stranger := w.user("Owner"), w.user("Bob"), w.user("Stranger")
	srv := w.server(owner)
	w.member(srv, bob, serverv1.Role_ROLE_MEMBER)
	ch, quiet := w.channel(srv), w.channel(srv)

	r, err := c.GetNotificationSettings(w.ctx(bob), &serverv1.GetNotificationSettingsRequest{})
	if err != nil || len(r.GetServers()) != 0 {
		t.Fatalf("defaults = %v, %v", r, err)
	}
	if rs := readState(t, c, w, bob, ch); rs.GetMuted() || rs.GetNotificationLevel() != serverv1.NotificationLevel_NOTIFICATION_LEVEL_ALL {
		t.Fatalf("default state = %v", rs)
	}
	s := openStream(t, c, w.streamCtx(bob))
	awaitLive(t, s, func() { _, _ = c.SendTyping(w.ctx(owner), &serverv1.SendTypingRequest{ChannelId: ch}) })

	up, err := c.UpdateServerNotificationSettings(w.ctx(bob), &serverv1.UpdateServerNotificationSettingsRequest{
		ServerId: srv, Level: serverv1.NotificationLevel_NOTIFICATION_LEVEL_MENTIONS,
	})
	if err != nil || up.GetSettings().GetLevel() != serverv1.NotificationLevel_NOTIFICATION_LEVEL_MENTIONS {
		t.Fatalf("set level = %v, %v", up, err)
	}
	mu, err := c.UpdateChannelNotificationSettings(w.ctx(bob), &serverv1.UpdateChannelNotificationSettingsRequest{ChannelId: quiet, Muted: true})
	if err != nil || !slices.Equal(mu.GetSettings().GetMutedChannelIds(), []string{quiet}) || mu.GetSettings().GetLevel() != serverv1.NotificationLevel_NOTIFICATION_LEVEL_MENTIONS {
		t.Fatalf("mute = %v, %v", mu, err)
	}
	r, err = c.GetNotificationSettings(w.ctx(bob), &serverv1.GetNotificationSettingsRequest{})
	if err != nil || len(r.GetServers()) != 1 || r.GetServers()[0].GetServerId() != srv || !slices.Equal(r.GetServers()[0].GetMutedChannelIds(), []string{quiet}) {
		t.Fatalf("settings = %v, %v", r, err)
	}
	// A muted channel reports muted (no unread dot) but still counts mentions.
	send(t, c, w, owner, quiet, "psst <@"+bob+">")
	if rs := readState(t, c, w, bob, quiet); !rs.GetMuted() || rs.GetUnreadCount() != 1 || rs.GetMentionCount() != 1 ||
		rs.GetNotificationLevel() != serverv1.NotificationLevel_NOTIFICATION_LEVEL_MENTIONS {
		t.Fatalf("muted state = %v", rs)
	}
	if rs := readState(t, c, w, bob, ch); rs.GetMuted() {
		t.Fatalf("the other channel is muted: %v", rs)
	}
	platformtest.Eventually(t, 10*time.Second, func() bool {
		for _, e := range s.snapshot() {
			if st := e.GetNotificationSettingsUpdated(); st != nil && len(st.GetMutedChannelIds()) == 1 && e.GetScope() == events.UserScope(bob) {
				return true
			}
		}
		return false
	}, "notification_settings_updated on bob's stream")

	// Unmute and back to the default.
	if _, err := c.UpdateChannelNotificationSettings(w.ctx(bob), &serverv1.UpdateChannelNotificationSettingsRequest{ChannelId: quiet}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateServerNotificationSettings(w.ctx(bob), &serverv1.UpdateServerNotificationSettingsRequest{ServerId: srv}); err != nil {
		t.Fatal(err)
	}
	r, err = c.GetNotificationSettings(w.ctx(bob), &serverv1.GetNotificationSettingsRequest{})
	if err != nil || len(r.GetServers()) != 0 {
		t.Fatalf("settings after restoring defaults = %v, %v", r, err)
	}

	t.Run("strangers get NOT_FOUND and change nothing", func(t *testing.T) {
		_, err := c.UpdateServerNotificationSettings(w.ctx(stranger), &serverv1.UpdateServerNotificationSettingsRequest{ServerId: srv, Level: serverv1.NotificationLevel_NOTIFICATION_LEVEL_NOTHING})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("stranger sets a level: %v", err)
		}
		_, err = c.UpdateChannelNotificationSettings(w.ctx(stranger), &serverv1.UpdateChannelNotificationSettingsRequest{ChannelId: ch, Muted: true})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("stranger mutes: %v", err)
		}
		r, err := c.GetNotificationSettings(w.ctx(stranger), &serverv1.GetNotificationSettingsRequest{})
		if err != nil || len(r.GetServers()) != 0 {
			t.Fatalf("stranger's settings = %v, %v", r, err)
		}
	})
	t.Run("an undefined level is INVALID_ARGUMENT", func(t *testing.T) {
		_, err := c.UpdateServerNotificationSettings(w.ctx(bob), &serverv1.UpdateServerNotificationSettingsRequest{ServerId: srv, Level: 9})
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != "level" {
			t.Fatalf("level 9: %v (%s)", err, field)
		}
	})
}
