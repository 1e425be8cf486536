package sqlite_test

import (
	"testing"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// Channel answers from a cache (rowCache); every write to a channel must show in the
// next read.
func TestChannelReadsSeeWrites(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)
	sv := guild.Server{ID: ids.New(), Name: "g", Kind: guild.KindGuild, OwnerID: "u0", MemberCount: 1, CreatedAt: now()}
	must(t, s.CreateServer(ctx, sv))
	newChannel := func(name string) guild.Channel {
		c := guild.Channel{ID: ids.New(), ServerID: sv.ID, Name: name, CreatedAt: now()}
		must(t, s.CreateChannel(ctx, c))
		return c
	}
	read := func(id string) guild.Channel {
		t.Helper()
		c, err := s.Channel(ctx, id)
		must(t, err)
		return c
	}
	gone := func(id string) {
		t.Helper()
		if _, err := s.Channel(ctx, id); !isNotFound(err) {
			t.Fatalf("channel %s: got %v, want not found", id, err)
		}
	}

	a, b := newChannel("a"), newChannel("b")
	if got := read(a.ID); got != a {
		t.Fatalf("got %+v, want %+v", got, a)
	}
	read(b.ID) // both cached

	name, topic := "renamed", "a topic"
	if _, err := s.UpdateChannel(ctx, a.ID, &name, &topic); err != nil {
		t.Fatal(err)
	}
	if got := read(a.ID); got.Name != name || got.Topic != topic {
		t.Fatalf("after update: got %+v", got)
	}
	must(t, s.SetChannelPosition(ctx, a.ID, 7))
	if got := read(a.ID); got.Position != 7 {
		t.Fatalf("after position: got %d, want 7", got.Position)
	}
	if _, err := s.DeleteChannel(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	gone(a.ID)
	if got := read(b.ID); got != b {
		t.Fatalf("the other channel: got %+v, want %+v", got, b)
	}
	must(t, s.DeleteServerData(ctx, sv.ID))
	gone(b.ID)
}

func isNotFound(err error) bool {
	e, ok := errs.As(err)
	return ok && e.Kind == errs.KindNotFound
}
