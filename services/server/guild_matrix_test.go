package server_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
)

// fixture is a server with one member of each role, a second member to act
// on, a user to add, an invite and a second channel.
type fixture struct {
	owner, admin, member, outsider, anon acct
	target, newbie, friend               acct
	server                               *serverv1.Server
	general, extra                       *serverv1.Channel
	invite                               *serverv1.Invite
}

func (h *harness) fixture() fixture {
	h.t.Helper()
	f := fixture{
		owner: h.newUser("owner"), admin: h.newUser("admin"), member: h.newUser("member"),
		outsider: h.newUser("outsider"), target: h.newUser("target"), newbie: h.newUser("newbie"),
		friend: h.newUser("friend"),
	}
	f.anon = acct{ctx: h.env.Ctx("")}
	f.server, f.general = h.createServer(f.owner, "Fixture")
	sid := f.server.GetId()
	for _, u := range []acct{f.admin, f.member, f.target} {
		h.addMember(f.owner, sid, u)
	}
	h.setRole(f.owner, sid, f.admin, serverv1.Role_ROLE_ADMIN)
	ch, err := h.api.CreateChannel(f.owner.ctx, &serverv1.CreateChannelRequest{ServerId: sid, Name: "extra"})
	if err != nil {
		h.t.Fatal(err)
	}
	f.extra = ch.GetChannel()
	inv, err := h.api.CreateInvite(f.owner.ctx, &serverv1.CreateInviteRequest{ServerId: sid})
	if err != nil {
		h.t.Fatal(err)
	}
	f.invite = inv.GetInvite()
	for _, u := range []acct{f.owner, f.admin, f.member, f.outsider} {
		h.users.befriend(u.id, f.friend.id)
	}
	return f
}

// TestPermissionMatrix calls every guild RPC as owner, admin, member,
// non-member and without a token, each on a fresh fixture, and checks the
// code; a refused call must leave the database and the event log unchanged.
func TestPermissionMatrix(t *testing.T) {
	// One fresh database per RPC; a fixture is rebuilt only after a call
	// that was allowed (a refused call leaves it as it was, which is checked).
	var h *harness
	const (
		OK  = codes.OK
		NF  = codes.NotFound
		PD  = codes.PermissionDenied
		UA  = codes.Unauthenticated
		FP  = codes.FailedPrecondition
		AE  = codes.AlreadyExists
		any = -1
	)
	type call func(f fixture, u acct) error
	cases := []struct {
		name string
		call call
		want [5]codes.Code // owner, admin, member, non-member, no token
	}{
		{"GetServer", func(f fixture, u acct) error {
			_, err := h.api.GetServer(u.ctx, &serverv1.GetServerRequest{ServerId: f.server.GetId()})
			return err
		}, [5]codes.Code{OK, OK, OK, NF, UA}},
		{"ListServers", func(f fixture, u acct) error {
			_, err := h.api.ListServers(u.ctx, &serverv1.ListServersRequest{})
			return err
		}, [5]codes.Code{OK, OK, OK, OK, UA}},
		{"UpdateServer", func(f fixture, u acct) error {
			_, err := h.api.UpdateServer(u.ctx, &serverv1.UpdateServerRequest{ServerId: f.server.GetId(),
				Server: &serverv1.ServerUpdate{Name: "Renamed"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
			return err
		}, [5]codes.Code{OK, OK, PD, NF, UA}},
		{"DeleteServer", func(f fixture, u acct) error {
			_, err := h.api.DeleteServer(u.ctx, &serverv1.DeleteServerRequest{ServerId: f.server.GetId()})
			return err
		}, [5]codes.Code{OK, PD, PD, NF, UA}},
		{"TransferOwnership", func(f fixture, u acct) error {
			_, err := h.api.TransferOwnership(u.ctx, &serverv1.TransferOwnershipRequest{ServerId: f.server.GetId(), UserId: f.target.id})
			return err
		}, [5]codes.Code{OK, PD, PD, NF, UA}},
		{"AddMember", func(f fixture, u acct) error {
			_, err := h.api.AddMember(u.ctx, &serverv1.AddMemberRequest{ServerId: f.server.GetId(), Login: f.newbie.login})
			return err
		}, [5]codes.Code{OK, OK, PD, NF, UA}},
		{"ListMembers", func(f fixture, u acct) error {
			_, err := h.api.ListMembers(u.ctx, &serverv1.ListMembersRequest{ServerId: f.server.GetId()})
			return err
		}, [5]codes.Code{OK, OK, OK, NF, UA}},
		{"RemoveMember", func(f fixture, u acct) error {
			_, err := h.api.RemoveMember(u.ctx, &serverv1.RemoveMemberRequest{ServerId: f.server.GetId(), UserId: f.target.id})
			return err
		}, [5]codes.Code{OK, OK, PD, NF, UA}},
		{"SetMemberRole", func(f fixture, u acct) error {
			_, err := h.api.SetMemberRole(u.ctx, &serverv1.SetMemberRoleRequest{ServerId: f.server.GetId(), UserId: f.target.id, Role: serverv1.Role_ROLE_ADMIN})
			return err
		}, [5]codes.Code{OK, PD, PD, NF, UA}},
		{"LeaveServer", func(f fixture, u acct) error {
			_, err := h.api.LeaveServer(u.ctx, &serverv1.LeaveServerRequest{ServerId: f.server.GetId()})
			return err
		}, [5]codes.Code{FP, OK, OK, NF, UA}},
		{"CreateInvite", func(f fixture, u acct) error {
			_, err := h.api.CreateInvite(u.ctx, &serverv1.CreateInviteRequest{ServerId: f.server.GetId(), MaxUses: 3, TtlSeconds: 60})
			return err
		}, [5]codes.Code{OK, OK, PD, NF, UA}},
		{"ListInvites", func(f fixture, u acct) error {
			_, err := h.api.ListInvites(u.ctx, &serverv1.ListInvitesRequest{ServerId: f.server.GetId()})
			return err
		}, [5]codes.Code{OK, OK, PD, NF, UA}},
		{"DeleteInvite", func(f fixture, u acct) error {
			_, err := h.api.DeleteInvite(u.ctx, &serverv1.DeleteInviteRequest{ServerId: f.server.GetId(), Code: f.invite.GetCode()})
			return err
		}, [5]codes.Code{OK, OK, PD, NF, UA}},
		{"GetInvite", func(f fixture, u acct) error {
			_, err := h.api.GetInvite(u.ctx, &serverv1.GetInviteRequest{Code: f.invite.GetCode()})
			return err
		}, [5]codes.Code{OK, OK, OK, OK, UA}},
		{"AcceptInvite", func(f fixture, u acct) error {
			_, err := h.api.AcceptInvite(u.ctx, &serverv1.AcceptInviteRequest{Code: f.invite.GetCode()})
			return err
		}, [5]codes.Code{AE, AE, AE, OK, UA}},
		{"CreateChannel", func(f fixture, u acct) error {
			_, err := h.api.CreateChannel(u.ctx, &serverv1.CreateChannelRequest{ServerId: f.server.GetId(), Name: "new-one", Topic: "t"})
			return err
		}, [5]codes.Code{OK, OK, PD, NF, UA}},
		{"ListChannels", func(f fixture, u acct) error {
			_, err := h.api.ListChannels(u.ctx, &serverv1.ListChannelsRequest{ServerId: f.server.GetId()})
			return err
		}, [5]codes.Code{OK, OK, OK, NF, UA}},
		{"UpdateChannel", func(f fixture, u acct) error {
			_, err := h.api.UpdateChannel(u.ctx, &serverv1.UpdateChannelRequest{ChannelId: f.extra.GetId(),
				Channel: &serverv1.ChannelUpdate{Name: "renamed", Topic: "new topic"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name", "topic"}}})
			return err
		}, [5]codes.Code{OK, OK, PD, NF, UA}},
		{"DeleteChannel", func(f fixture, u acct) error {
			_, err := h.api.DeleteChannel(u.ctx, &serverv1.DeleteChannelRequest{ChannelId: f.extra.GetId()})
			return err
		}, [5]codes.Code{OK, OK, PD, NF, UA}},
		{"ReorderChannels", func(f fixture, u acct) error {
			_, err := h.api.ReorderChannels(u.ctx, &serverv1.ReorderChannelsRequest{ServerId: f.server.GetId(), ChannelIds: []string{f.extra.GetId(), f.general.GetId()}})
			return err
		}, [5]codes.Code{OK, OK, PD, NF, UA}},
		{"OpenConversation", func(f fixture, u acct) error {
			_, err := h.api.OpenConversation(u.ctx, &serverv1.OpenConversationRequest{UserId: f.friend.id})
			return err
		}, [5]codes.Code{OK, OK, OK, OK, UA}},
		// Internal methods take service tokens only: every user is refused.
		{"FilterSharedUsers", func(f fixture, u acct) error {
			_, err := h.internal.FilterSharedUsers(u.ctx, &serverv1.FilterSharedUsersRequest{UserId: f.owner.id, UserIds: []string{f.member.id}})
			return err
		}, [5]codes.Code{PD, PD, PD, PD, UA}},
		{"GetMemberRole", func(f fixture, u acct) error {
			_, err := h.internal.GetMemberRole(u.ctx, &serverv1.GetMemberRoleRequest{ServerId: f.server.GetId(), UserId: f.owner.id})
			return err
		}, [5]codes.Code{PD, PD, PD, PD, UA}},
	}
	_ = any
	roles := []string{"owner", "admin", "member", "non-member", "no token"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h = newHarness(t)
			f := h.fixture()
			before := h.snapshot()
			for i, role := range roles {
				if i > 0 && status.Code(nil) == c.want[i-1] {
					f = h.fixture()
					before = h.snapshot()
				}
				u := []acct{f.owner, f.admin, f.member, f.outsider, f.anon}[i]
				err := c.call(f, u)
				if got := status.Code(err); got != c.want[i] {
					t.Fatalf("%s as %s: got %v (%v), want %v", c.name, role, got, err, c.want[i])
				}
				after := h.snapshot()
				switch {
				case err != nil && after != before:
					t.Fatalf("%s as %s was refused (%v) but changed state:\nbefore:\n%s\nafter:\n%s", c.name, role, status.Code(err), before, after)
				case err == nil && after == before && !readOnly(c.name):
					// Proves the snapshot sees writes at all.
					t.Fatalf("%s as %s succeeded but the snapshot saw no change", c.name, role)
				}
				// Unchanged, the state is also the next call's "before".
			}
		})
	}
}

// readOnly tells the RPCs that change nothing when they succeed.
func readOnly(rpc string) bool {
	return strings.HasPrefix(rpc, "Get") || strings.HasPrefix(rpc, "List") || rpc == "FilterSharedUsers"
}

// TestNonMemberSeesNotFound checks that a non-member's answer is the very
// answer for a server that does not exist.
func TestNonMemberSeesNotFound(t *testing.T) {
	h := newHarness(t)
	f := h.fixture()
	missing := "0123456789abcdef01234567"
	for _, c := range []struct {
		name string
		call func(id string) error
	}{
		{"GetServer", func(id string) error {
			_, err := h.api.GetServer(f.outsider.ctx, &serverv1.GetServerRequest{ServerId: id})
			return err
		}},
		{"ListMembers", func(id string) error {
			_, err := h.api.ListMembers(f.outsider.ctx, &serverv1.ListMembersRequest{ServerId: id})
			return err
		}},
		{"ListChannels", func(id string) error {
			_, err := h.api.ListChannels(f.outsider.ctx, &serverv1.ListChannelsRequest{ServerId: id})
			return err
		}},
		{"UpdateChannel", func(id string) error {
			if id == missing {
				id = "0123456789abcdef01234568"
			} else {
				id = f.extra.GetId()
			}
			_, err := h.api.UpdateChannel(f.outsider.ctx, &serverv1.UpdateChannelRequest{ChannelId: id,
				Channel: &serverv1.ChannelUpdate{Topic: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"topic"}}})
			return err
		}},
	} {
		a, b := status.Convert(c.call(f.server.GetId())), status.Convert(c.call(missing))
		if a.Code() != codes.NotFound || a.Message() != b.Message() || a.Code() != b.Code() || len(a.Details()) != len(b.Details()) {
			t.Errorf("%s: non-member got %v %q, missing server got %v %q", c.name, a.Code(), a.Message(), b.Code(), b.Message())
		}
	}
}
