package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// TestServers is the contract of guild.ServerStore.
func TestServers(t *testing.T, newStore func(t *testing.T) guild.ServerStore, opts ...Option) {
	o := apply(opts)
	t.Run("a created server reads back as written", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		srv := guildServer("u1")
		must(t, s.CreateServer(ctx, srv))
		got, err := s.Server(ctx, srv.ID)
		must(t, err)
		if !reflect.DeepEqual(got, srv) {
			t.Fatalf("got %+v, want %+v", got, srv)
		}
		dm := guild.Server{ID: ids.New(), Kind: guild.KindDM, DMKey: guild.DMKey("a", "b"), DMUserIDs: []string{"a", "b"}, MemberCount: 2, CreatedAt: now()}
		must(t, s.CreateServer(ctx, dm))
		got, err = s.ServerByDMKey(ctx, dm.DMKey)
		must(t, err)
		if !reflect.DeepEqual(got, dm) {
			t.Fatalf("by key: got %+v, want %+v", got, dm)
		}
	})
	t.Run("missing and malformed ids are not found", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		_, err := s.Server(ctx, ids.New())
		wantErr(t, err, errs.ErrNotFound, "missing server")
		_, err = s.Server(ctx, "not-an-id")
		wantErr(t, err, errs.ErrNotFound, "malformed id")
		_, err = s.ServerByDMKey(ctx, "x:y")
		wantErr(t, err, errs.ErrNotFound, "missing dm key")
		_, err = s.RenameServer(ctx, ids.New(), "n")
		wantErr(t, err, errs.ErrNotFound, "rename of a missing server")
		ok, err := s.DeleteServer(ctx, ids.New())
		must(t, err)
		check(t, "delete of a missing server", ok, false)
		must(t, s.AddMemberCount(ctx, ids.New(), 1))
		must(t, s.DeleteServerData(ctx, ids.New()))
	})
	t.Run("ids and dm keys are unique", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		srv := guildServer("u1")
		must(t, s.CreateServer(ctx, srv))
		wantErr(t, s.CreateServer(ctx, srv), errs.ErrAlreadyExists, "same id")
		// Guilds have no dm key: many of them coexist.
		must(t, s.CreateServer(ctx, guildServer("u1")))
		key := guild.DMKey("a", "b")
		n, errList := concurrently(8, func(int) error {
			return s.CreateServer(ctx, guild.Server{ID: ids.New(), Kind: guild.KindDM, DMKey: key, DMUserIDs: []string{"a", "b"}, CreatedAt: now()})
		})
		check(t, "concurrent creates of one conversation that succeed", n, 1)
		for _, err := range errList {
			wantErr(t, err, errs.ErrAlreadyExists, "a losing create")
		}
	})
	t.Run("servers by id leave out what does not exist", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		a, b := guildServer("u"), guildServer("u")
		must(t, s.CreateServer(ctx, a))
		must(t, s.CreateServer(ctx, b))
		got, err := s.ServersByID(ctx, []string{a.ID, ids.New(), "junk", b.ID})
		must(t, err)
		check(t, "servers found", len(got), 2)
		check(t, "a's name", got[a.ID].Name, a.Name)
		check(t, "b's id", got[b.ID].ID, b.ID)
		got, err = s.ServersByID(ctx, nil)
		must(t, err)
		check(t, "none asked", len(got), 0)
	})
	t.Run("rename, owner swap and member count", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		srv := guildServer("u1")
		must(t, s.CreateServer(ctx, srv))
		got, err := s.RenameServer(ctx, srv.ID, "renamed")
		must(t, err)
		check(t, "returned name", got.Name, "renamed")
		ok, err := s.SwapOwner(ctx, srv.ID, "someone-else", "u2")
		must(t, err)
		check(t, "swap from the wrong owner", ok, false)
		ok, err = s.SwapOwner(ctx, ids.New(), "u1", "u2")
		must(t, err)
		check(t, "swap on a missing server", ok, false)
		for range 10 {
			must(t, s.AddMemberCount(ctx, srv.ID, 1))
		}
		must(t, s.AddMemberCount(ctx, srv.ID, -3))
		got, err = s.Server(ctx, srv.ID)
		must(t, err)
		check(t, "member count", got.MemberCount, 1+10-3)
		check(t, "name kept", got.Name, "renamed")
		check(t, "owner", got.OwnerID, "u1")
		ok, err = s.SwapOwner(ctx, srv.ID, "u1", "u2")
		must(t, err)
		check(t, "swap from the owner", ok, true)
		got, err = s.Server(ctx, srv.ID)
		must(t, err)
		check(t, "new owner", got.OwnerID, "u2")
	})
	t.Run("server icon", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		srv := guildServer("u1")
		must(t, s.CreateServer(ctx, srv))
		got, err := s.Server(ctx, srv.ID)
		must(t, err)
		check(t, "icon of a new server", got.Icon, "")
		got, err = s.SetServerIcon(ctx, srv.ID, "0123abcd")
		must(t, err)
		check(t, "returned icon", got.Icon, "0123abcd")
		check(t, "name kept", got.Name, srv.Name)
		got, err = s.Server(ctx, srv.ID)
		must(t, err)
		check(t, "icon read back", got.Icon, "0123abcd")
		byID, err := s.ServersByID(ctx, []string{srv.ID})
		must(t, err)
		check(t, "icon in a batch", byID[srv.ID].Icon, "0123abcd")
		got, err = s.SetServerIcon(ctx, srv.ID, "")
		must(t, err)
		check(t, "icon removed", got.Icon, "")
		_, err = s.SetServerIcon(ctx, ids.New(), "x")
		wantErr(t, err, errs.ErrNotFound, "icon of a missing server")
		_, err = s.SetServerIcon(ctx, "not-hex", "x")
		wantErr(t, err, errs.ErrNotFound, "icon of a malformed id")
	})
	t.Run("concurrent member counts add up", func(t *testing.T) {
		o.atomicUpdates(t)
		s, ctx := newStore(t), ctxFor(t)
		srv := guildServer("u1")
		must(t, s.CreateServer(ctx, srv))
		if _, errList := concurrently(10, func(int) error { return s.AddMemberCount(ctx, srv.ID, 1) }); len(errList) > 0 {
			t.Fatal(errList)
		}
		got, err := s.Server(ctx, srv.ID)
		must(t, err)
		check(t, "member count", got.MemberCount, int64(11))
	})
	t.Run("of concurrent owner swaps from one owner one wins", func(t *testing.T) {
		o.atomicUpdates(t)
		s, ctx := newStore(t), ctxFor(t)
		srv := guildServer("u1")
		must(t, s.CreateServer(ctx, srv))
		n, _ := concurrently(6, func(i int) error {
			ok, err := s.SwapOwner(ctx, srv.ID, "u1", fmt.Sprintf("v%d", i))
			if err == nil && !ok {
				err = fmt.Errorf("lost")
			}
			return err
		})
		check(t, "concurrent swaps from one owner that succeed", n, 1)
	})
	t.Run("delete removes the record once", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		srv := guildServer("u1")
		must(t, s.CreateServer(ctx, srv))
		ok, err := s.DeleteServer(ctx, srv.ID)
		must(t, err)
		check(t, "first delete", ok, true)
		ok, err = s.DeleteServer(ctx, srv.ID)
		must(t, err)
		check(t, "second delete", ok, false)
		_, err = s.Server(ctx, srv.ID)
		wantErr(t, err, errs.ErrNotFound, "deleted server")
	})
}

// TestMembers is the contract of guild.MemberStore.
func TestMembers(t *testing.T, newStore func(t *testing.T) guild.MemberStore, opts ...Option) {
	o := apply(opts)
	member := func(server, user string, role guild.Role) guild.Member {
		return guild.Member{ID: ids.New(), ServerID: server, UserID: user, Role: role, JoinedAt: now()}
	}
	t.Run("a membership reads back as written, once per server and user", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		sid := ids.New()
		m := member(sid, "u1", guild.RoleOwner)
		must(t, s.CreateMember(ctx, m, guild.KindGuild))
		got, err := s.Member(ctx, sid, "u1")
		must(t, err)
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("got %+v, want %+v", got, m)
		}
		wantErr(t, s.CreateMember(ctx, member(sid, "u1", guild.RoleMember), guild.KindGuild), errs.ErrAlreadyExists, "second membership")
		_, err = s.Member(ctx, sid, "u2")
		wantErr(t, err, errs.ErrNotFound, "non-member")
		_, err = s.Member(ctx, ids.New(), "u1")
		wantErr(t, err, errs.ErrNotFound, "other server")
		sid2 := ids.New()
		n, errList := concurrently(8, func(int) error { return s.CreateMember(ctx, member(sid2, "u9", guild.RoleMember), guild.KindGuild) })
		check(t, "concurrent joins that succeed", n, 1)
		for _, err := range errList {
			wantErr(t, err, errs.ErrAlreadyExists, "a losing join")
		}
	})
	t.Run("members page in join order", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		sid := ids.New()
		var want []string
		for i := range 7 {
			u := fmt.Sprintf("u%d", 9-i) // user ids in the other order
			must(t, s.CreateMember(ctx, member(sid, u, guild.RoleMember), guild.KindGuild))
			want = append(want, u)
		}
		must(t, s.CreateMember(ctx, member(ids.New(), "u1", guild.RoleMember), guild.KindGuild))
		var got []string
		after := ""
		for {
			page, err := s.Members(ctx, sid, after, 3)
			must(t, err)
			if len(page) > 3 {
				t.Fatalf("page of %d over the limit 3", len(page))
			}
			for _, m := range page {
				got = append(got, m.UserID)
			}
			if len(page) < 3 {
				break
			}
			after = page[len(page)-1].ID
		}
		checkList(t, "members", got, want)
		all, err := s.MemberUserIDs(ctx, sid)
		must(t, err)
		slices.Sort(all)
		sorted := slices.Clone(want)
		slices.Sort(sorted)
		checkList(t, "member user ids", all, sorted)
	})
	t.Run("memberships page in join order and filter by kind", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		var guilds, every []string
		for i := range 6 {
			sid := ids.New()
			kind := guild.KindGuild
			if i%3 == 2 {
				kind = guild.KindDM
			} else {
				guilds = append(guilds, sid)
			}
			every = append(every, sid)
			must(t, s.CreateMember(ctx, member(sid, "me", guild.RoleMember), kind))
			must(t, s.CreateMember(ctx, member(sid, "other", guild.RoleMember), kind))
		}
		page := func(kind guild.Kind, after string, n int) []guild.Member {
			ms, err := s.Memberships(ctx, "me", kind, after, n)
			must(t, err)
			return ms
		}
		serverIDs := func(ms []guild.Member) []string { return fmtIDs(ms, func(m guild.Member) string { return m.ServerID }) }
		checkList(t, "every membership", serverIDs(page("", "", 100)), every)
		checkList(t, "guild memberships", serverIDs(page(guild.KindGuild, "", 100)), guilds)
		first := page("", "", 2)
		checkList(t, "first page", serverIDs(first), every[:2])
		checkList(t, "next page", serverIDs(page("", first[1].ID, 2)), every[2:4])
		checkList(t, "kind after a dm", serverIDs(page(guild.KindGuild, page("", "", 3)[2].ID, 100)), guilds[2:])
	})
	t.Run("role changes and removals are conditional on the role", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		sid := ids.New()
		must(t, s.CreateMember(ctx, member(sid, "u1", guild.RoleMember), guild.KindGuild))
		ok, err := s.SetMemberRole(ctx, sid, "u1", guild.RoleAdmin, guild.RoleMember)
		must(t, err)
		check(t, "set from the wrong role", ok, false)
		ok, err = s.SetMemberRole(ctx, sid, "u1", guild.RoleMember, guild.RoleAdmin)
		must(t, err)
		check(t, "set from the right role", ok, true)
		m, err := s.Member(ctx, sid, "u1")
		must(t, err)
		check(t, "role", m.Role, guild.RoleAdmin)
		ok, err = s.SetMemberRole(ctx, sid, "nobody", guild.RoleMember, guild.RoleAdmin)
		must(t, err)
		check(t, "set on a non-member", ok, false)
		ok, err = s.DeleteMember(ctx, sid, "u1", guild.RoleMember)
		must(t, err)
		check(t, "delete with the wrong role", ok, false)
		ok, err = s.DeleteMember(ctx, sid, "u1", guild.RoleAdmin)
		must(t, err)
		check(t, "delete with the right role", ok, true)
		ok, err = s.DeleteMember(ctx, sid, "u1", guild.RoleAdmin)
		must(t, err)
		check(t, "second delete", ok, false)
		_, err = s.Member(ctx, sid, "u1")
		wantErr(t, err, errs.ErrNotFound, "deleted member")
	})
	t.Run("of concurrent role changes from one role one wins", func(t *testing.T) {
		o.atomicUpdates(t)
		s, ctx := newStore(t), ctxFor(t)
		sid := ids.New()
		must(t, s.CreateMember(ctx, member(sid, "u1", guild.RoleMember), guild.KindGuild))
		n, _ := concurrently(5, func(int) error {
			ok, err := s.SetMemberRole(ctx, sid, "u1", guild.RoleMember, guild.RoleAdmin)
			if err == nil && !ok {
				err = fmt.Errorf("lost")
			}
			return err
		})
		check(t, "concurrent promotions that succeed", n, 1)
	})
	t.Run("shared users are the candidates in any of the servers", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		a, b, c := ids.New(), ids.New(), ids.New()
		for _, m := range []guild.Member{member(a, "x", guild.RoleMember), member(b, "y", guild.RoleOwner), member(c, "z", guild.RoleMember), member(a, "me", guild.RoleMember)} {
			must(t, s.CreateMember(ctx, m, guild.KindGuild))
		}
		got, err := s.SharedUsers(ctx, []string{a, b}, []string{"x", "y", "z", "nobody"})
		must(t, err)
		if !reflect.DeepEqual(got, map[string]bool{"x": true, "y": true}) {
			t.Fatalf("shared = %v, want x and y", got)
		}
		many := make([]string, 2500)
		for i := range many {
			many[i] = fmt.Sprintf("n%d", i)
		}
		many[2400] = "z"
		got, err = s.SharedUsers(ctx, []string{c}, many)
		must(t, err)
		if !reflect.DeepEqual(got, map[string]bool{"z": true}) {
			t.Fatalf("shared among many = %v, want z", got)
		}
	})
}

// TestChannels is the contract of guild.ChannelStore.
func TestChannels(t *testing.T, newStore func(t *testing.T) guild.ChannelStore) {
	channel := func(server, name string, pos int32) guild.Channel {
		return guild.Channel{ID: ids.New(), ServerID: server, Name: name, Position: pos, CreatedAt: now()}
	}
	names := func(cs []guild.Channel) []string { return fmtIDs(cs, func(c guild.Channel) string { return c.Name }) }
	t.Run("a channel reads back as written, its id once", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		c := channel(ids.New(), "general", 0)
		c.Topic = "hello"
		must(t, s.CreateChannel(ctx, c))
		got, err := s.Channel(ctx, c.ID)
		must(t, err)
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("got %+v, want %+v", got, c)
		}
		wantErr(t, s.CreateChannel(ctx, c), errs.ErrAlreadyExists, "same id")
		_, err = s.Channel(ctx, ids.New())
		wantErr(t, err, errs.ErrNotFound, "missing channel")
		_, err = s.Channel(ctx, "junk")
		wantErr(t, err, errs.ErrNotFound, "malformed id")
	})
	t.Run("channels list by position then id", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		a, b := ids.New(), ids.New()
		if b < a {
			a, b = b, a
		}
		for _, c := range []guild.Channel{channel(a, "a2", 2), channel(a, "a0", 0), channel(a, "a1x", 1), channel(a, "a1y", 1), channel(b, "b1", 1), channel(b, "b0", 0), channel(ids.New(), "other", 0)} {
			must(t, s.CreateChannel(ctx, c))
		}
		got, err := s.Channels(ctx, a)
		must(t, err)
		checkList(t, "channels of a", names(got), []string{"a0", "a1x", "a1y", "a2"})
		got, err = s.ChannelsOfServers(ctx, []string{b, a})
		must(t, err)
		gotNames := names(got)
		// a1x and a1y share a position: either order is right.
		if len(gotNames) == 6 && gotNames[1] == "a1y" {
			gotNames[1], gotNames[2] = gotNames[2], gotNames[1]
		}
		checkList(t, "channels of a and b", gotNames, []string{"a0", "a1x", "a1y", "a2", "b0", "b1"})
		got, err = s.ChannelsOfServers(ctx, nil)
		must(t, err)
		check(t, "channels of no server", len(got), 0)
		must(t, s.SetChannelPosition(ctx, got0(t, s, a).ID, 5))
		got, err = s.Channels(ctx, a)
		must(t, err)
		checkList(t, "after a move", names(got), []string{"a1x", "a1y", "a2", "a0"})
		must(t, s.SetChannelPosition(ctx, ids.New(), 1))
	})
	t.Run("update sets the given fields", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		c := channel(ids.New(), "general", 0)
		must(t, s.CreateChannel(ctx, c))
		topic := "new topic"
		got, err := s.UpdateChannel(ctx, c.ID, nil, &topic)
		must(t, err)
		check(t, "name kept", got.Name, "general")
		check(t, "topic", got.Topic, topic)
		name := "renamed"
		got, err = s.UpdateChannel(ctx, c.ID, &name, nil)
		must(t, err)
		check(t, "name", got.Name, name)
		check(t, "topic kept", got.Topic, topic)
		_, err = s.UpdateChannel(ctx, ids.New(), &name, nil)
		wantErr(t, err, errs.ErrNotFound, "update of a missing channel")
	})
	t.Run("delete removes the record once", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		c := channel(ids.New(), "general", 0)
		must(t, s.CreateChannel(ctx, c))
		ok, err := s.DeleteChannel(ctx, c.ID)
		must(t, err)
		check(t, "first delete", ok, true)
		ok, err = s.DeleteChannel(ctx, c.ID)
		must(t, err)
		check(t, "second delete", ok, false)
		_, err = s.Channel(ctx, c.ID)
		wantErr(t, err, errs.ErrNotFound, "deleted channel")
		must(t, s.DeleteChannelData(ctx, c.ID))
	})
}

func got0(t *testing.T, s guild.ChannelStore, serverID string) guild.Channel {
	t.Helper()
	cs, err := s.Channels(ctxFor(t), serverID)
	must(t, err)
	return cs[0]
}

// TestInvites is the contract of guild.InviteStore.
func TestInvites(t *testing.T, newStore func(t *testing.T) guild.InviteStore) {
	invite := func(server string, maxUses int32) guild.Invite {
		code, err := guild.NewInviteCode()
		if err != nil {
			t.Fatal(err)
		}
		return guild.Invite{Code: code, ServerID: server, CreatorID: "u1", MaxUses: maxUses, CreatedAt: now()}
	}
	t.Run("an invite reads back as written, its code once", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		inv := invite(ids.New(), 3)
		exp := now().Add(time.Hour)
		inv.ExpiresAt = &exp
		must(t, s.CreateInvite(ctx, inv))
		got, err := s.Invite(ctx, inv.Code)
		must(t, err)
		if !reflect.DeepEqual(got, inv) {
			t.Fatalf("got %+v, want %+v", got, inv)
		}
		wantErr(t, s.CreateInvite(ctx, inv), errs.ErrAlreadyExists, "same code")
		_, err = s.Invite(ctx, "nope")
		wantErr(t, err, errs.ErrNotFound, "missing invite")
		forever := invite(ids.New(), 0)
		must(t, s.CreateInvite(ctx, forever))
		got, err = s.Invite(ctx, forever.Code)
		must(t, err)
		if got.ExpiresAt != nil {
			t.Fatalf("expiry = %v, want none", got.ExpiresAt)
		}
	})
	t.Run("invites page in code order", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		sid := ids.New()
		var want []string
		for range 5 {
			inv := invite(sid, 0)
			must(t, s.CreateInvite(ctx, inv))
			want = append(want, inv.Code)
		}
		must(t, s.CreateInvite(ctx, invite(ids.New(), 0)))
		slices.Sort(want)
		codes := func(is []guild.Invite) []string { return fmtIDs(is, func(i guild.Invite) string { return i.Code }) }
		first, err := s.Invites(ctx, sid, "", 2)
		must(t, err)
		checkList(t, "first page", codes(first), want[:2])
		rest, err := s.Invites(ctx, sid, first[1].Code, 10)
		must(t, err)
		checkList(t, "rest", codes(rest), want[2:])
	})
	t.Run("use slots bound the joins under concurrency", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		inv := invite(ids.New(), 3)
		must(t, s.CreateInvite(ctx, inv))
		n, errList := concurrently(10, func(i int) error {
			ok, err := s.ClaimInviteUse(ctx, inv, fmt.Sprintf("u%d", i))
			if err == nil && !ok {
				return errUsedUp
			}
			return err
		})
		check(t, "claims that succeed", n, 3)
		for _, err := range errList {
			if err != errUsedUp {
				t.Fatal(err)
			}
		}
		uses, err := s.InviteUses(ctx, inv.Code)
		must(t, err)
		check(t, "slots taken", uses, int32(3))
		uses, err = s.InviteUses(ctx, "nope")
		must(t, err)
		check(t, "slots of an unknown code", uses, int32(0))
		must(t, s.CountInviteUse(ctx, inv.Code))
		must(t, s.CountInviteUse(ctx, inv.Code))
		must(t, s.CountInviteUse(ctx, "nope"))
		got, err := s.Invite(ctx, inv.Code)
		must(t, err)
		check(t, "displayed uses", got.Uses, int32(2))
	})
	t.Run("delete takes the server's invite and its slots", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		inv := invite(ids.New(), 2)
		must(t, s.CreateInvite(ctx, inv))
		ok, err := s.ClaimInviteUse(ctx, inv, "u1")
		must(t, err)
		check(t, "claim", ok, true)
		ok, err = s.DeleteInvite(ctx, ids.New(), inv.Code)
		must(t, err)
		check(t, "delete through another server", ok, false)
		ok, err = s.DeleteInvite(ctx, inv.ServerID, inv.Code)
		must(t, err)
		check(t, "delete", ok, true)
		_, err = s.Invite(ctx, inv.Code)
		wantErr(t, err, errs.ErrNotFound, "deleted invite")
		uses, err := s.InviteUses(ctx, inv.Code)
		must(t, err)
		check(t, "slots after delete", uses, int32(0))
		ok, err = s.DeleteInvite(ctx, inv.ServerID, inv.Code)
		must(t, err)
		check(t, "second delete", ok, false)
	})
}

var errUsedUp = fmt.Errorf("used up")
