package mongo_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
	"github.com/accordchat/accord/services/server/internal/mongo"
	"github.com/accordchat/accord/services/server/internal/storetest"
)

// newStore returns a Store over a fresh database: embedded FerretDB, or
// the server at ACCORD_MONGO_URI when set.
func newStore(t *testing.T) *mongo.Store {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := platformtest.Mongo(t)
	if _, err := mongo.New(ctx, db); err != nil {
		t.Fatal(err)
	}
	// Ensuring the indexes again is a no-op.
	s, err := mongo.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// opts adjusts the suites to embedded FerretDB, whose conditional updates
// are not atomic; a real MongoDB (ACCORD_MONGO_URI) runs every check.
func opts() []storetest.Option {
	if os.Getenv("ACCORD_MONGO_URI") != "" {
		return nil
	}
	return []storetest.Option{storetest.NonAtomicConditionalUpdates("embedded FerretDB")}
}

func TestServers(t *testing.T) {
	storetest.TestServers(t, func(t *testing.T) guild.ServerStore { return newStore(t) }, opts()...)
}

func TestMembers(t *testing.T) {
	storetest.TestMembers(t, func(t *testing.T) guild.MemberStore { return newStore(t) }, opts()...)
}

func TestChannels(t *testing.T) {
	storetest.TestChannels(t, func(t *testing.T) guild.ChannelStore { return newStore(t) })
}

func TestInvites(t *testing.T) {
	storetest.TestInvites(t, func(t *testing.T) guild.InviteStore { return newStore(t) })
}

func TestMessages(t *testing.T) {
	storetest.TestMessages(t, func(t *testing.T) chat.MessageStore { return newStore(t) })
}

func TestReadStates(t *testing.T) {
	storetest.TestReadStates(t, func(t *testing.T) chat.ReadStateStore { return newStore(t) }, opts()...)
}

func TestCascades(t *testing.T) {
	storetest.TestCascades(t, func(t *testing.T) storetest.Stores {
		s := newStore(t)
		return storetest.Stores{Guild: s, Messages: s, ReadStates: s, Mentions: s, Reactions: s, Pins: s}
	})
}

func TestMessageMentions(t *testing.T) {
	storetest.TestMessageMentions(t, func(t *testing.T) chat.MessageStore { return newStore(t) })
}

func TestMentionIndex(t *testing.T) {
	storetest.TestMentionIndex(t, func(t *testing.T) chat.MentionIndex { return newStore(t) })
}

func TestNotifySettings(t *testing.T) {
	storetest.TestNotifySettings(t, func(t *testing.T) chat.NotifySettingStore { return newStore(t) })
}

func TestReactions(t *testing.T) {
	storetest.TestReactions(t, func(t *testing.T) chat.ReactionStore { return newStore(t) })
}

func TestPins(t *testing.T) {
	storetest.TestPins(t, func(t *testing.T) chat.PinStore { return newStore(t) })
}

func TestAttachments(t *testing.T) {
	storetest.TestAttachments(t, func(t *testing.T) chat.AttachmentStore { return newStore(t) }, opts()...)
}

// A Loader writes what the store would have written one by one, in more
// than one batch, and the store reads it back.
func TestLoader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := newStore(t)
	l := s.Loader(ctx)
	at := time.Now().UTC().Truncate(time.Millisecond)
	sv := guild.Server{ID: ids.New(), Name: "g", Kind: guild.KindGuild, OwnerID: "u0", MemberCount: 3, CreatedAt: at}
	if err := l.Server(sv); err != nil {
		t.Fatal(err)
	}
	ch := guild.Channel{ID: ids.New(), ServerID: sv.ID, Name: "general", CreatedAt: at}
	if err := l.Channel(ch); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := l.Member(guild.Member{ID: ids.New(), ServerID: sv.ID, UserID: fmt.Sprint("u", i), Role: guild.RoleMember, JoinedAt: at}, guild.KindGuild); err != nil {
			t.Fatal(err)
		}
	}
	const n = 1500 // more than one InsertMany
	last := ""
	for range n {
		last = ids.After(last)
		if err := l.Message(chat.Message{ID: last, ServerID: sv.ID, ChannelID: ch.ID, AuthorID: "u1", Content: "x", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Server(ctx, sv.ID); err != nil || got.Name != sv.Name || got.MemberCount != 3 || !got.CreatedAt.Equal(sv.CreatedAt) {
		t.Fatalf("loaded server = %+v, %v", got, err)
	}
	if got, err := s.Channel(ctx, ch.ID); err != nil || got.Name != ch.Name || got.ServerID != sv.ID {
		t.Fatalf("loaded channel = %+v, %v", got, err)
	}
	if ms, err := s.Members(ctx, sv.ID, "", 10); err != nil || len(ms) != 3 {
		t.Fatalf("loaded members = %d, %v", len(ms), err)
	}
	ms, err := s.ListMessages(ctx, ch.ID, chat.MessagePage{Limit: 100})
	if err != nil || len(ms) != 100 || ms[0].ID != last || ms[0].Content != "x" || !ms[0].CreatedAt.Equal(at) {
		t.Fatalf("loaded messages = %d, %v", len(ms), err)
	}
	if err := l.Message(chat.Message{ID: "not an id", ChannelID: ch.ID}); err == nil {
		t.Fatal("a message with a malformed id loaded")
	}
}
