package server_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
	imongo "github.com/accordchat/accord/services/server/internal/mongo"
)

// badField returns the code, the first field violation and the ErrorInfo
// reason of err.
func badField(err error) (codes.Code, string, string) {
	st := status.Convert(err)
	field, reason := "", ""
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			if len(d.GetFieldViolations()) > 0 {
				field = d.GetFieldViolations()[0].GetField()
			}
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		}
	}
	return st.Code(), field, reason
}

func TestServerLifecycle(t *testing.T) {
	h := newHarness(t)
	owner, bob := h.newUser("owner"), h.newUser("bob")
	srv, general := h.createServer(owner, "Book club")
	if srv.GetMyRole() != serverv1.Role_ROLE_OWNER || srv.GetOwnerId() != owner.id || srv.GetMemberCount() != 1 || srv.GetKind() != serverv1.ServerKind_SERVER_KIND_GUILD {
		t.Fatalf("created server = %v", srv)
	}
	if general.GetName() != "general" || general.GetServerId() != srv.GetId() || general.GetPosition() != 0 {
		t.Fatalf("general channel = %v", general)
	}
	sid := srv.GetId()

	m, err := h.api.AddMember(owner.ctx, &serverv1.AddMemberRequest{ServerId: sid, Login: "BOB" + bob.login[3:]})
	if err != nil {
		t.Fatal(err)
	}
	if m.GetMember().GetUserId() != bob.id || m.GetMember().GetRole() != serverv1.Role_ROLE_MEMBER || m.GetMember().GetDisplayName() != "BOB" {
		t.Fatalf("member = %v", m.GetMember())
	}
	_, err = h.api.AddMember(owner.ctx, &serverv1.AddMemberRequest{ServerId: sid, Login: bob.login})
	wantCode(t, err, codes.AlreadyExists, "adding twice")
	_, err = h.api.AddMember(owner.ctx, &serverv1.AddMemberRequest{ServerId: sid, Login: "nobody"})
	wantCode(t, err, codes.NotFound, "adding an unknown login")

	got, err := h.api.GetServer(bob.ctx, &serverv1.GetServerRequest{ServerId: sid})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetServer().GetMyRole() != serverv1.Role_ROLE_MEMBER || got.GetServer().GetMemberCount() != 2 {
		t.Fatalf("bob's view = %v", got.GetServer())
	}

	up, err := h.api.UpdateServer(owner.ctx, &serverv1.UpdateServerRequest{ServerId: sid, Server: &serverv1.ServerUpdate{Name: "Readers"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
	if err != nil || up.GetServer().GetName() != "Readers" {
		t.Fatalf("rename: %v %v", up, err)
	}
	_, err = h.api.UpdateServer(owner.ctx, &serverv1.UpdateServerRequest{ServerId: sid, Server: &serverv1.ServerUpdate{Name: "x"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"owner_id"}}})
	if c, f, _ := badField(err); c != codes.InvalidArgument || f != "update_mask" {
		t.Fatalf("bad mask: %v %q", c, f)
	}
	_, err = h.api.CreateServer(owner.ctx, &serverv1.CreateServerRequest{Name: ""})
	if c, f, _ := badField(err); c != codes.InvalidArgument || f != "name" {
		t.Fatalf("empty name: %v %q", c, f)
	}

	ms, err := h.api.ListMembers(bob.ctx, &serverv1.ListMembersRequest{ServerId: sid})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.GetMembers()) != 2 || ms.GetMembers()[0].GetUserId() != owner.id || ms.GetMembers()[0].GetLogin() != owner.login || ms.GetNextPageToken() != "" {
		t.Fatalf("members = %v", ms)
	}

	if _, err := h.api.LeaveServer(bob.ctx, &serverv1.LeaveServerRequest{ServerId: sid}); err != nil {
		t.Fatal(err)
	}
	_, err = h.api.GetServer(bob.ctx, &serverv1.GetServerRequest{ServerId: sid})
	wantCode(t, err, codes.NotFound, "after leaving")
	got, _ = h.api.GetServer(owner.ctx, &serverv1.GetServerRequest{ServerId: sid})
	if got.GetServer().GetMemberCount() != 1 {
		t.Fatalf("member_count after leave = %d", got.GetServer().GetMemberCount())
	}
}

func TestRanks(t *testing.T) {
	h := newHarness(t)
	f := h.fixture()
	sid := f.server.GetId()
	admin2 := h.newUser("admin2")
	h.addMember(f.admin, sid, admin2)
	h.setRole(f.owner, sid, admin2, serverv1.Role_ROLE_ADMIN)

	_, err := h.api.RemoveMember(f.admin.ctx, &serverv1.RemoveMemberRequest{ServerId: sid, UserId: admin2.id})
	wantCode(t, err, codes.PermissionDenied, "admin kicks admin")
	_, err = h.api.RemoveMember(f.admin.ctx, &serverv1.RemoveMemberRequest{ServerId: sid, UserId: f.owner.id})
	wantCode(t, err, codes.PermissionDenied, "admin kicks owner")
	_, err = h.api.RemoveMember(f.admin.ctx, &serverv1.RemoveMemberRequest{ServerId: sid, UserId: f.outsider.id})
	wantCode(t, err, codes.NotFound, "kick a non-member")
	_, err = h.api.SetMemberRole(f.owner.ctx, &serverv1.SetMemberRoleRequest{ServerId: sid, UserId: f.owner.id, Role: serverv1.Role_ROLE_MEMBER})
	wantCode(t, err, codes.FailedPrecondition, "demote the owner")
	_, err = h.api.SetMemberRole(f.owner.ctx, &serverv1.SetMemberRoleRequest{ServerId: sid, UserId: admin2.id, Role: serverv1.Role_ROLE_OWNER})
	wantCode(t, err, codes.InvalidArgument, "SetMemberRole to owner")
	if _, err := h.api.RemoveMember(f.owner.ctx, &serverv1.RemoveMemberRequest{ServerId: sid, UserId: admin2.id}); err != nil {
		t.Fatalf("owner kicks admin: %v", err)
	}
	if _, err := h.api.RemoveMember(f.admin.ctx, &serverv1.RemoveMemberRequest{ServerId: sid, UserId: f.member.id}); err != nil {
		t.Fatalf("admin kicks member: %v", err)
	}

	// Transfer: the target becomes owner, the old owner admin, who may then leave.
	_, err = h.api.TransferOwnership(f.owner.ctx, &serverv1.TransferOwnershipRequest{ServerId: sid, UserId: f.outsider.id})
	wantCode(t, err, codes.NotFound, "transfer to a non-member")
	tr, err := h.api.TransferOwnership(f.owner.ctx, &serverv1.TransferOwnershipRequest{ServerId: sid, UserId: f.target.id})
	if err != nil {
		t.Fatal(err)
	}
	if tr.GetServer().GetOwnerId() != f.target.id || tr.GetServer().GetMyRole() != serverv1.Role_ROLE_ADMIN {
		t.Fatalf("after transfer: %v", tr.GetServer())
	}
	evs := h.events(events.ServerScope(sid))
	if got := kinds(evs[len(evs)-3:]); !slices.Equal(got, []string{"server_updated", "member_updated", "member_updated"}) {
		t.Fatalf("transfer events = %v", got)
	}
	if evs[len(evs)-3].GetServerUpdated().GetOwnerId() != f.target.id || evs[len(evs)-2].GetMemberUpdated().GetRole() != serverv1.Role_ROLE_OWNER ||
		evs[len(evs)-1].GetMemberUpdated().GetRole() != serverv1.Role_ROLE_ADMIN {
		t.Fatalf("transfer events = %v", evs[len(evs)-3:])
	}
	for u, want := range map[acct]serverv1.Role{f.target: serverv1.Role_ROLE_OWNER, f.owner: serverv1.Role_ROLE_ADMIN} {
		r, err := h.internal.GetMemberRole(h.service, &serverv1.GetMemberRoleRequest{ServerId: sid, UserId: u.id})
		if err != nil || r.GetRole() != want || r.GetServerName() != "Fixture" {
			t.Fatalf("role of %s = %v %v, want %v", u.login, r, err, want)
		}
	}
	_, err = h.api.LeaveServer(f.target.ctx, &serverv1.LeaveServerRequest{ServerId: sid})
	if c, _, reason := badField(err); c != codes.FailedPrecondition || reason != "OWNER_CANNOT_LEAVE" {
		t.Fatalf("new owner leaves: %v %s", c, reason)
	}
	if _, err := h.api.LeaveServer(f.owner.ctx, &serverv1.LeaveServerRequest{ServerId: sid}); err != nil {
		t.Fatalf("old owner leaves: %v", err)
	}
	r, err := h.internal.GetMemberRole(h.service, &serverv1.GetMemberRoleRequest{ServerId: sid, UserId: f.owner.id})
	if err != nil || r.GetRole() != serverv1.Role_ROLE_UNSPECIFIED || r.GetServerName() != "" {
		t.Fatalf("role after leaving = %v %v", r, err)
	}
}

func TestPaging(t *testing.T) {
	h := newHarness(t)
	u := h.newUser("u")
	var want []string
	for range 7 {
		s, _ := h.createServer(u, "S")
		want = append(want, s.GetId())
	}
	friend := h.newUser("friend")
	h.users.befriend(u.id, friend.id)
	dm, err := h.api.OpenConversation(u.ctx, &serverv1.OpenConversationRequest{UserId: friend.id})
	if err != nil {
		t.Fatal(err)
	}
	list := func(kind serverv1.ServerKind, size int32) []string {
		var ids []string
		tok := ""
		for pages := 0; ; pages++ {
			r, err := h.api.ListServers(u.ctx, &serverv1.ListServersRequest{Kind: kind, PageSize: size, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.GetServers()) > int(size) {
				t.Fatalf("page of %d > %d", len(r.GetServers()), size)
			}
			for _, s := range r.GetServers() {
				ids = append(ids, s.GetId())
			}
			if tok = r.GetNextPageToken(); tok == "" {
				return ids
			}
			if pages > 10 {
				t.Fatal("paging does not end")
			}
		}
	}
	if got := list(serverv1.ServerKind_SERVER_KIND_GUILD, 3); !slices.Equal(got, want) {
		t.Fatalf("guilds = %v, want %v", got, want)
	}
	if got := list(serverv1.ServerKind_SERVER_KIND_DM, 3); !slices.Equal(got, []string{dm.GetServer().GetId()}) {
		t.Fatalf("dms = %v", got)
	}
	if got := list(serverv1.ServerKind_SERVER_KIND_UNSPECIFIED, 2); len(got) != 8 {
		t.Fatalf("all = %v", got)
	}
	_, err = h.api.ListServers(u.ctx, &serverv1.ListServersRequest{PageToken: "!!!"})
	if c, f, _ := badField(err); c != codes.InvalidArgument || f != "page_token" {
		t.Fatalf("bad token: %v %q", c, f)
	}
	_, err = h.api.ListServers(u.ctx, &serverv1.ListServersRequest{PageSize: -1})
	if c, f, _ := badField(err); c != codes.InvalidArgument || f != "page_size" {
		t.Fatalf("negative size: %v %q", c, f)
	}

	// Members page in join order.
	sid := want[0]
	var joined []string
	joined = append(joined, u.id)
	for range 5 {
		m := h.newUser("m")
		h.addMember(u, sid, m)
		joined = append(joined, m.id)
	}
	var got []string
	tok := ""
	for {
		r, err := h.api.ListMembers(u.ctx, &serverv1.ListMembersRequest{ServerId: sid, PageSize: 4, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.GetMembers() {
			got = append(got, m.GetUserId())
		}
		if tok = r.GetNextPageToken(); tok == "" {
			break
		}
	}
	if !slices.Equal(got, joined) {
		t.Fatalf("members = %v, want %v", got, joined)
	}

	// Page sizes above the max are clamped (1000 for members).
	ctx := context.Background()
	for range 1000 {
		m := guild.Member{ID: ids.New(), ServerID: sid, UserID: platformtest.NewID(), Role: guild.RoleMember, JoinedAt: time.Now()}
		if err := h.db.Guild.CreateMember(ctx, m, guild.KindGuild); err != nil {
			t.Fatal(err)
		}
	}
	r, err := h.api.ListMembers(u.ctx, &serverv1.ListMembersRequest{ServerId: sid, PageSize: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.GetMembers()) != 1000 || r.GetNextPageToken() == "" {
		t.Fatalf("clamped page: %d members, token %q", len(r.GetMembers()), r.GetNextPageToken())
	}
	r, err = h.api.ListMembers(u.ctx, &serverv1.ListMembersRequest{ServerId: sid})
	if err != nil || len(r.GetMembers()) != 100 {
		t.Fatalf("default page: %d members, %v", len(r.GetMembers()), err)
	}
}

func TestChannels(t *testing.T) {
	h := newHarness(t)
	f := h.fixture()
	sid := f.server.GetId()
	c3, err := h.api.CreateChannel(f.admin.ctx, &serverv1.CreateChannelRequest{ServerId: sid, Name: "third", Topic: "3"})
	if err != nil {
		t.Fatal(err)
	}
	if c3.GetChannel().GetPosition() != 2 {
		t.Fatalf("new channel position = %d", c3.GetChannel().GetPosition())
	}
	_, err = h.api.CreateChannel(f.admin.ctx, &serverv1.CreateChannelRequest{ServerId: sid, Name: "Bad Name"})
	if c, fl, _ := badField(err); c != codes.InvalidArgument || fl != "name" {
		t.Fatalf("bad channel name: %v %q", c, fl)
	}
	before := h.snapshot()
	_, err = h.api.UpdateChannel(f.admin.ctx, &serverv1.UpdateChannelRequest{ChannelId: f.extra.GetId(),
		Channel: &serverv1.ChannelUpdate{Topic: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name", "topic"}}})
	if c, fl, _ := badField(err); c != codes.InvalidArgument || fl != "channel.name" {
		t.Fatalf("empty name in mask: %v %q", c, fl)
	}
	_, err = h.api.UpdateChannel(f.admin.ctx, &serverv1.UpdateChannelRequest{ChannelId: f.extra.GetId(),
		Channel: &serverv1.ChannelUpdate{Name: "Nope!"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
	if c, fl, _ := badField(err); c != codes.InvalidArgument || fl != "channel.name" {
		t.Fatalf("bad name in mask: %v %q", c, fl)
	}
	_, err = h.api.ReorderChannels(f.admin.ctx, &serverv1.ReorderChannelsRequest{ServerId: sid, ChannelIds: []string{f.general.GetId(), f.extra.GetId()}})
	if c, fl, _ := badField(err); c != codes.InvalidArgument || fl != "channel_ids" {
		t.Fatalf("reorder with a channel missing: %v %q", c, fl)
	}
	_, err = h.api.ReorderChannels(f.admin.ctx, &serverv1.ReorderChannelsRequest{ServerId: sid, ChannelIds: []string{f.general.GetId(), f.extra.GetId(), platformtest.NewID()}})
	if c, fl, _ := badField(err); c != codes.InvalidArgument || fl != "channel_ids" {
		t.Fatalf("reorder with a foreign channel: %v %q", c, fl)
	}
	if after := h.snapshot(); after != before {
		t.Fatal("refused channel calls changed state")
	}

	up, err := h.api.UpdateChannel(f.admin.ctx, &serverv1.UpdateChannelRequest{ChannelId: f.extra.GetId(),
		Channel: &serverv1.ChannelUpdate{Topic: "only the topic"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"topic"}}})
	if err != nil || up.GetChannel().GetName() != "extra" || up.GetChannel().GetTopic() != "only the topic" {
		t.Fatalf("topic update: %v %v", up, err)
	}
	order := []string{c3.GetChannel().GetId(), f.general.GetId(), f.extra.GetId()}
	if _, err := h.api.ReorderChannels(f.admin.ctx, &serverv1.ReorderChannelsRequest{ServerId: sid, ChannelIds: order}); err != nil {
		t.Fatal(err)
	}
	ls, err := h.api.ListChannels(f.member.ctx, &serverv1.ListChannelsRequest{ServerId: sid})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, c := range ls.GetChannels() {
		got = append(got, c.GetId())
		if c.GetPosition() != int32(i) {
			t.Fatalf("position of %s = %d, want %d", c.GetName(), c.GetPosition(), i)
		}
	}
	if !slices.Equal(got, order) {
		t.Fatalf("order = %v, want %v", got, order)
	}

	// Deleting a channel deletes its messages and read states.
	cid := f.extra.GetId()
	h.message(sid, cid, f.member.id)
	if _, err := h.api.DeleteChannel(f.admin.ctx, &serverv1.DeleteChannelRequest{ChannelId: cid}); err != nil {
		t.Fatal(err)
	}
	if n := h.count(imongo.ChannelsCollection, bson.D{{Key: "_id", Value: mustOID(t, cid)}}); n != 0 {
		t.Fatal("the channel record is left")
	}
	for _, c := range []string{imongo.MessagesCollection, imongo.ReadStatesCollection} {
		if n := h.count(c, bson.D{{Key: "channel_id", Value: cid}}); n != 0 {
			t.Fatalf("%d %s left of the deleted channel", n, c)
		}
	}
	_, err = h.api.DeleteChannel(f.admin.ctx, &serverv1.DeleteChannelRequest{ChannelId: cid})
	wantCode(t, err, codes.NotFound, "deleting twice")
}

func TestInvites(t *testing.T) {
	h := newHarness(t)
	f := h.fixture()
	sid := f.server.GetId()

	g, err := h.api.GetInvite(f.outsider.ctx, &serverv1.GetInviteRequest{Code: f.invite.GetCode()})
	if err != nil {
		t.Fatal(err)
	}
	if g.GetServerId() != sid || g.GetServerName() != "Fixture" || g.GetMemberCount() != 4 {
		t.Fatalf("preview = %v", g)
	}
	if len(f.invite.GetCode()) != 10 {
		t.Fatalf("code %q", f.invite.GetCode())
	}
	_, err = h.api.GetInvite(f.outsider.ctx, &serverv1.GetInviteRequest{Code: "NoSuchCode1"})
	wantCode(t, err, codes.NotFound, "unknown code")

	one, err := h.api.CreateInvite(f.admin.ctx, &serverv1.CreateInviteRequest{ServerId: sid, MaxUses: 1})
	if err != nil {
		t.Fatal(err)
	}
	short, err := h.api.CreateInvite(f.admin.ctx, &serverv1.CreateInviteRequest{ServerId: sid, TtlSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := h.api.AcceptInvite(f.outsider.ctx, &serverv1.AcceptInviteRequest{Code: one.GetInvite().GetCode()})
	if err != nil || acc.GetServer().GetId() != sid || acc.GetServer().GetMyRole() != serverv1.Role_ROLE_MEMBER || acc.GetServer().GetMemberCount() != 5 {
		t.Fatalf("accept: %v %v", acc, err)
	}
	_, err = h.api.AcceptInvite(f.newbie.ctx, &serverv1.AcceptInviteRequest{Code: one.GetInvite().GetCode()})
	if c, _, reason := badField(err); c != codes.FailedPrecondition || reason != "INVITE_USED_UP" {
		t.Fatalf("used up: %v %s", c, reason)
	}
	platformtest.Eventually(t, 5*time.Second, func() bool {
		_, err := h.api.GetInvite(f.newbie.ctx, &serverv1.GetInviteRequest{Code: short.GetInvite().GetCode()})
		_, _, reason := badField(err)
		return reason == "INVITE_EXPIRED"
	}, "the invite to expire")
	_, err = h.api.AcceptInvite(f.newbie.ctx, &serverv1.AcceptInviteRequest{Code: short.GetInvite().GetCode()})
	if c, _, reason := badField(err); c != codes.FailedPrecondition || reason != "INVITE_EXPIRED" {
		t.Fatalf("expired: %v %s", c, reason)
	}

	// Only live invites are listed.
	ls, err := h.api.ListInvites(f.admin.ctx, &serverv1.ListInvitesRequest{ServerId: sid})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.GetInvites()) != 1 || ls.GetInvites()[0].GetCode() != f.invite.GetCode() {
		t.Fatalf("live invites = %v", ls.GetInvites())
	}
	if _, err := h.api.DeleteInvite(f.admin.ctx, &serverv1.DeleteInviteRequest{ServerId: sid, Code: f.invite.GetCode()}); err != nil {
		t.Fatal(err)
	}
	_, err = h.api.AcceptInvite(f.newbie.ctx, &serverv1.AcceptInviteRequest{Code: f.invite.GetCode()})
	wantCode(t, err, codes.NotFound, "revoked invite")
	// An invite of another server cannot be revoked through this one.
	other, _ := h.createServer(f.outsider, "Other")
	oi, err := h.api.CreateInvite(f.outsider.ctx, &serverv1.CreateInviteRequest{ServerId: other.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.api.DeleteInvite(f.admin.ctx, &serverv1.DeleteInviteRequest{ServerId: sid, Code: oi.GetInvite().GetCode()})
	wantCode(t, err, codes.NotFound, "foreign invite")
}

func TestConversation(t *testing.T) {
	h := newHarness(t)
	a, b, c, blocker := h.newUser("a"), h.newUser("b"), h.newUser("c"), h.newUser("blocker")
	h.users.befriend(a.id, b.id)
	h.users.block(a.id, blocker.id)

	r, err := h.api.OpenConversation(a.ctx, &serverv1.OpenConversationRequest{UserId: b.id})
	if err != nil {
		t.Fatal(err)
	}
	s := r.GetServer()
	if !r.GetCreated() || s.GetKind() != serverv1.ServerKind_SERVER_KIND_DM || s.GetOwnerId() != "" || s.GetMemberCount() != 2 ||
		!slices.Equal(s.GetDmUserIds(), []string{min(a.id, b.id), max(a.id, b.id)}) || s.GetMyRole() != serverv1.Role_ROLE_MEMBER {
		t.Fatalf("conversation = %v", r)
	}
	r2, err := h.api.OpenConversation(b.ctx, &serverv1.OpenConversationRequest{UserId: a.id})
	if err != nil || r2.GetCreated() || r2.GetServer().GetId() != s.GetId() || r2.GetChannel().GetId() != r.GetChannel().GetId() {
		t.Fatalf("reopen = %v %v", r2, err)
	}
	for _, u := range []acct{a, b} {
		evs := h.events(events.UserScope(u.id))
		if len(evs) != 1 || evs[0].GetServerJoined().GetId() != s.GetId() {
			t.Fatalf("%s's events = %v", u.login, evs)
		}
	}

	// Strangers, unknown users and blocks get one answer, and nothing is made.
	refused := h.snapshot()
	var msgs []string
	for _, other := range []string{c.id, blocker.id, platformtest.NewID()} {
		_, err := h.api.OpenConversation(a.ctx, &serverv1.OpenConversationRequest{UserId: other})
		wantCode(t, err, codes.FailedPrecondition, "conversation with a non-friend")
		msgs = append(msgs, status.Convert(err).Message())
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Fatalf("answers differ: %q", msgs)
	}
	if h.snapshot() != refused {
		t.Fatal("refused opens changed state")
	}
	_, err = h.api.OpenConversation(a.ctx, &serverv1.OpenConversationRequest{UserId: a.id})
	if code, fl, _ := badField(err); code != codes.InvalidArgument || fl != "user_id" {
		t.Fatalf("with oneself: %v %q", code, fl)
	}

	// Nothing administrative works on a conversation, for its members.
	sid, cid := s.GetId(), r.GetChannel().GetId()
	before := h.snapshot()
	for name, call := range map[string]func() error{
		"AddMember": func() error {
			_, err := h.api.AddMember(a.ctx, &serverv1.AddMemberRequest{ServerId: sid, Login: c.login})
			return err
		},
		"UpdateServer": func() error {
			_, err := h.api.UpdateServer(a.ctx, &serverv1.UpdateServerRequest{ServerId: sid, Server: &serverv1.ServerUpdate{Name: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
			return err
		},
		"DeleteServer": func() error {
			_, err := h.api.DeleteServer(a.ctx, &serverv1.DeleteServerRequest{ServerId: sid})
			return err
		},
		"LeaveServer": func() error {
			_, err := h.api.LeaveServer(a.ctx, &serverv1.LeaveServerRequest{ServerId: sid})
			return err
		},
		"RemoveMember": func() error {
			_, err := h.api.RemoveMember(a.ctx, &serverv1.RemoveMemberRequest{ServerId: sid, UserId: b.id})
			return err
		},
		"CreateInvite": func() error {
			_, err := h.api.CreateInvite(a.ctx, &serverv1.CreateInviteRequest{ServerId: sid})
			return err
		},
		"CreateChannel": func() error {
			_, err := h.api.CreateChannel(a.ctx, &serverv1.CreateChannelRequest{ServerId: sid, Name: "more"})
			return err
		},
		"UpdateChannel": func() error {
			_, err := h.api.UpdateChannel(a.ctx, &serverv1.UpdateChannelRequest{ChannelId: cid, Channel: &serverv1.ChannelUpdate{Name: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
			return err
		},
		"DeleteChannel": func() error {
			_, err := h.api.DeleteChannel(a.ctx, &serverv1.DeleteChannelRequest{ChannelId: cid})
			return err
		},
		"ReorderChannels": func() error {
			_, err := h.api.ReorderChannels(a.ctx, &serverv1.ReorderChannelsRequest{ServerId: sid, ChannelIds: []string{cid}})
			return err
		},
	} {
		if code, _, reason := badField(call()); code != codes.FailedPrecondition || reason != "CONVERSATION" {
			t.Errorf("%s on a conversation: %v %s", name, code, reason)
		}
	}
	_, err = h.api.GetServer(c.ctx, &serverv1.GetServerRequest{ServerId: sid})
	wantCode(t, err, codes.NotFound, "a third user reads the conversation")
	if after := h.snapshot(); after != before {
		t.Fatal("refused conversation calls changed state")
	}
	chs, err := h.api.ListChannels(b.ctx, &serverv1.ListChannelsRequest{ServerId: sid})
	if err != nil || len(chs.GetChannels()) != 1 {
		t.Fatalf("channels = %v %v", chs, err)
	}
}

func TestInternalAPI(t *testing.T) {
	h := newHarness(t)
	a, b, c, d, e := h.newUser("a"), h.newUser("b"), h.newUser("c"), h.newUser("d"), h.newUser("e")
	s, _ := h.createServer(a, "S")
	h.addMember(a, s.GetId(), b)
	h.users.befriend(a.id, c.id)
	if _, err := h.api.OpenConversation(c.ctx, &serverv1.OpenConversationRequest{UserId: a.id}); err != nil {
		t.Fatal(err)
	}
	other, _ := h.createServer(d, "T") // d shares nothing with a
	h.addMember(d, other.GetId(), e)

	r, err := h.internal.FilterSharedUsers(h.service, &serverv1.FilterSharedUsersRequest{UserId: a.id, UserIds: []string{d.id, c.id, e.id, b.id, platformtest.NewID()}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{c.id, b.id}; !slices.Equal(r.GetUserIds(), want) {
		t.Fatalf("shared = %v, want %v", r.GetUserIds(), want)
	}
	r, err = h.internal.FilterSharedUsers(h.service, &serverv1.FilterSharedUsersRequest{UserId: platformtest.NewID(), UserIds: []string{a.id}})
	if err != nil || len(r.GetUserIds()) != 0 {
		t.Fatalf("a user in nothing shares nothing: %v %v", r, err)
	}
	role, err := h.internal.GetMemberRole(h.service, &serverv1.GetMemberRoleRequest{ServerId: s.GetId(), UserId: b.id})
	if err != nil || role.GetRole() != serverv1.Role_ROLE_MEMBER || role.GetServerName() != "S" {
		t.Fatalf("role = %v %v", role, err)
	}
	role, err = h.internal.GetMemberRole(h.service, &serverv1.GetMemberRoleRequest{ServerId: s.GetId(), UserId: d.id})
	if err != nil || role.GetRole() != serverv1.Role_ROLE_UNSPECIFIED || role.GetServerName() != "" {
		t.Fatalf("non-member role = %v %v", role, err)
	}
}

func TestEvents(t *testing.T) {
	h := newHarness(t)
	owner, bob, carol := h.newUser("owner"), h.newUser("bob"), h.newUser("carol")
	s, _ := h.createServer(owner, "S")
	sid := s.GetId()
	h.addMember(owner, sid, bob)
	h.addMember(owner, sid, carol)
	h.setRole(owner, sid, bob, serverv1.Role_ROLE_ADMIN)
	if _, err := h.api.UpdateServer(owner.ctx, &serverv1.UpdateServerRequest{ServerId: sid, Server: &serverv1.ServerUpdate{Name: "S2"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}}); err != nil {
		t.Fatal(err)
	}
	ch, err := h.api.CreateChannel(bob.ctx, &serverv1.CreateChannelRequest{ServerId: sid, Name: "news"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.api.UpdateChannel(bob.ctx, &serverv1.UpdateChannelRequest{ChannelId: ch.GetChannel().GetId(), Channel: &serverv1.ChannelUpdate{Topic: "t"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"topic"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.api.DeleteChannel(bob.ctx, &serverv1.DeleteChannelRequest{ChannelId: ch.GetChannel().GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.api.RemoveMember(bob.ctx, &serverv1.RemoveMemberRequest{ServerId: sid, UserId: carol.id}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.api.LeaveServer(bob.ctx, &serverv1.LeaveServerRequest{ServerId: sid}); err != nil {
		t.Fatal(err)
	}
	want := []string{"member_added", "member_added", "member_updated", "server_updated", "channel_created", "channel_updated", "channel_deleted", "member_removed", "member_removed"}
	evs := h.events(events.ServerScope(sid))
	if got := kinds(evs); !slices.Equal(got, want) {
		t.Fatalf("server events = %v, want %v", got, want)
	}
	if !evs[7].GetMemberRemoved().GetKicked() || evs[8].GetMemberRemoved().GetKicked() || evs[0].GetMemberAdded().GetLogin() != bob.login {
		t.Fatalf("member events = %v", evs)
	}
	for u, want := range map[acct][]string{owner: {"server_joined"}, bob: {"server_joined", "server_left"}, carol: {"server_joined", "server_left"}} {
		evs := h.events(events.UserScope(u.id))
		if got := kinds(evs); !slices.Equal(got, want) {
			t.Fatalf("%s's events = %v, want %v", u.login, got, want)
		}
		if evs[0].GetServerJoined().GetId() != sid {
			t.Fatalf("%s joined %v", u.login, evs[0])
		}
	}
	if r := h.events(events.UserScope(carol.id))[1].GetServerLeft().GetReason(); r != "kicked" {
		t.Fatalf("carol's reason = %q", r)
	}
	if r := h.events(events.UserScope(bob.id))[1].GetServerLeft().GetReason(); r != "left" {
		t.Fatalf("bob's reason = %q", r)
	}
}

// TestDeleteServerLeavesNothing deletes a server with members, channels,
// invites, messages and read states, and checks nothing of it is left and
// every member was told.
func TestDeleteServerLeavesNothing(t *testing.T) {
	h := newHarness(t)
	f := h.fixture()
	sid := f.server.GetId()
	keep, keepGeneral := h.createServer(f.member, "Keep")
	for s, c := range map[string]string{sid: f.general.GetId(), keep.GetId(): keepGeneral.GetId()} {
		for range 3 {
			h.message(s, c, f.member.id)
		}
	}
	if _, err := h.api.DeleteServer(f.owner.ctx, &serverv1.DeleteServerRequest{ServerId: sid}); err != nil {
		t.Fatal(err)
	}
	o, _ := bson.ObjectIDFromHex(sid)
	if n := h.count(imongo.ServersCollection, bson.D{{Key: "_id", Value: o}}); n != 0 {
		t.Fatal("server document left")
	}
	for _, c := range []string{imongo.MembersCollection, imongo.ChannelsCollection, imongo.InvitesCollection, imongo.MessagesCollection, imongo.ReadStatesCollection} {
		if n := h.count(c, bson.D{{Key: "server_id", Value: sid}}); n != 0 {
			t.Errorf("%d orphan %s", n, c)
		}
		if c != imongo.InvitesCollection && h.count(c, bson.D{{Key: "server_id", Value: keep.GetId()}}) == 0 {
			t.Errorf("other server's %s were deleted", c)
		}
	}
	if got := kinds(h.events(events.ServerScope(sid))); got[len(got)-1] != "server_deleted" {
		t.Fatalf("server events = %v", got)
	}
	for _, u := range []acct{f.owner, f.admin, f.member, f.target} {
		evs := h.events(events.UserScope(u.id))
		last := evs[len(evs)-1]
		if last.GetServerLeft().GetServerId() != sid || last.GetServerLeft().GetReason() != "deleted" {
			t.Fatalf("%s's last event = %v", u.login, last)
		}
	}
	_, err := h.api.GetServer(f.owner.ctx, &serverv1.GetServerRequest{ServerId: sid})
	wantCode(t, err, codes.NotFound, "deleted server")
	_, err = h.api.AcceptInvite(f.outsider.ctx, &serverv1.AcceptInviteRequest{Code: f.invite.GetCode()})
	wantCode(t, err, codes.NotFound, "invite of a deleted server")
}
