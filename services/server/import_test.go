package server_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
	"github.com/accordchat/accord/services/server/internal/mongo"
	"github.com/accordchat/accord/services/server/internal/sqlite"
)

// The first start on SQLite over a data folder of an earlier release (the
// server service's data in the embedded FerretDB) copies everything over,
// ids and times included; later starts copy nothing again.
func TestImportFromMongo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := platformtest.Logger(t)
	src := platformtest.Mongo(t)
	earlier, err := mongo.New(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	g := guild.Server{ID: ids.New(), Name: "g", Kind: guild.KindGuild, OwnerID: "u1", MemberCount: 2, CreatedAt: now}
	dm := guild.Server{ID: ids.New(), Kind: guild.KindDM, DMKey: guild.DMKey("u1", "u2"), DMUserIDs: []string{"u1", "u2"}, MemberCount: 2, CreatedAt: now}
	must(earlier.CreateServer(ctx, g))
	must(earlier.CreateServer(ctx, dm))
	owner := guild.Member{ID: ids.New(), ServerID: g.ID, UserID: "u1", Role: guild.RoleOwner, JoinedAt: now}
	must(earlier.CreateMember(ctx, owner, guild.KindGuild))
	dmMember := guild.Member{ID: ids.New(), ServerID: dm.ID, UserID: "u2", Role: guild.RoleMember, JoinedAt: now}
	must(earlier.CreateMember(ctx, dmMember, guild.KindDM))
	ch := guild.Channel{ID: ids.New(), ServerID: g.ID, Name: "general", Topic: "t", Position: 1, CreatedAt: now}
	must(earlier.CreateChannel(ctx, ch))
	exp := now.Add(time.Hour)
	inv := guild.Invite{Code: "abc", ServerID: g.ID, CreatorID: "u1", ExpiresAt: &exp, MaxUses: 3, Uses: 1, CreatedAt: now}
	must(earlier.CreateInvite(ctx, inv))
	if ok, err := earlier.ClaimInviteUse(ctx, inv, "u2"); !ok || err != nil {
		t.Fatalf("claim = %v, %v", ok, err)
	}
	m := chat.Message{ID: ids.New(), ServerID: g.ID, ChannelID: ch.ID, AuthorID: "u1", Content: "hi", CreatedAt: now, RequestID: "r1"}
	must(earlier.CreateMessage(ctx, m))
	must(earlier.EditMessage(ctx, m.ID, "hello", chat.Mentions{}, now))
	m.Content, m.EditedAt = "hello", &now
	reply := chat.Message{ID: ids.After(m.ID), ServerID: g.ID, ChannelID: ch.ID, AuthorID: "u2", Content: "yo", CreatedAt: now, ReplyToID: m.ID}
	must(earlier.CreateMessage(ctx, reply))
	if _, err := earlier.AdvanceReadMarker(ctx, chat.ReadMarker{UserID: "u2", ChannelID: ch.ID, ServerID: g.ID, LastReadID: m.ID, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}

	dst := platformtest.SQLite(t, "")
	for i, want := range []bool{true, false} {
		copied, err := server.ImportFromMongo(ctx, src, dst, log)
		if err != nil || copied != want {
			t.Fatalf("import %d = %v, %v; want %v", i+1, copied, err, want)
		}
	}

	now2, err := sqlite.New(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got, want any, err error) {
		t.Helper()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %+v, %v\nwant %+v", what, got, err, want)
		}
	}
	got, err := now2.Server(ctx, g.ID)
	check("guild", got, g, err)
	got, err = now2.ServerByDMKey(ctx, dm.DMKey)
	check("conversation", got, dm, err)
	ms, err := now2.Members(ctx, g.ID, "", 10)
	check("members", ms, []guild.Member{owner}, err)
	ms, err = now2.Memberships(ctx, "u2", guild.KindDM, "", 10)
	check("memberships of a kind", ms, []guild.Member{dmMember}, err)
	c, err := now2.Channel(ctx, ch.ID)
	check("channel", c, ch, err)
	i, err := now2.Invite(ctx, "abc")
	check("invite", i, inv, err)
	n, err := now2.InviteUses(ctx, "abc")
	check("invite slots", n, int32(1), err)
	hist, err := now2.ListMessages(ctx, ch.ID, chat.MessagePage{Limit: 10})
	check("history", hist, []chat.Message{reply, m}, err)
	byReq, err := now2.MessageByRequest(ctx, "u1", "r1")
	check("message by request", byReq.ID, m.ID, err)
	last, err := now2.ReadMarker(ctx, "u2", ch.ID)
	check("read marker", last, m.ID, err)
}

// A database of an earlier release with no server, or none at all, is no
// reason to import.
func TestImportFromEmptyMongo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dst := platformtest.SQLite(t, "")
	copied, err := server.ImportFromMongo(ctx, platformtest.Mongo(t), dst, platformtest.Logger(t))
	if err != nil || copied {
		t.Fatalf("import = %v, %v; want nothing copied", copied, err)
	}
}
