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

// Member answers from a cache too; a kicked member must lose access at
// once, and a role change show in the next read.
func TestMemberReadsSeeWrites(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)
	sv := guild.Server{ID: ids.New(), Name: "g", Kind: guild.KindGuild, OwnerID: "u0", MemberCount: 2, CreatedAt: now()}
	must(t, s.CreateServer(ctx, sv))
	join := func(user string) guild.Member {
		m := guild.Member{ID: ids.New(), ServerID: sv.ID, UserID: user, Role: guild.RoleMember, JoinedAt: now()}
		must(t, s.CreateMember(ctx, m, guild.KindGuild))
		return m
	}
	read := func(user string) guild.Member {
		t.Helper()
		m, err := s.Member(ctx, sv.ID, user)
		must(t, err)
		return m
	}
	gone := func(user string) {
		t.Helper()
		if _, err := s.Member(ctx, sv.ID, user); !isNotFound(err) {
			t.Fatalf("member %s: got %v, want not found", user, err)
		}
	}

	gone("u1") // not cached as absent
	a, b := join("u1"), join("u2")
	if got := read("u1"); got != a {
		t.Fatalf("got %+v, want %+v", got, a)
	}
	read("u2") // both cached
	if ok, err := s.SetMemberRole(ctx, sv.ID, "u1", guild.RoleMember, guild.RoleAdmin); err != nil || !ok {
		t.Fatalf("set role: %v %v", ok, err)
	}
	if got := read("u1"); got.Role != guild.RoleAdmin {
		t.Fatalf("after role change: got %v, want admin", got.Role)
	}
	if ok, err := s.DeleteMember(ctx, sv.ID, "u1", guild.RoleAdmin); err != nil || !ok {
		t.Fatalf("delete member: %v %v", ok, err)
	}
	gone("u1")
	if got := read("u2"); got != b {
		t.Fatalf("the other member: got %+v, want %+v", got, b)
	}
	must(t, s.DeleteServerData(ctx, sv.ID))
	gone("u2")
}

func isNotFound(err error) bool {
	e, ok := errs.As(err)
	return ok && e.Kind == errs.KindNotFound
}
