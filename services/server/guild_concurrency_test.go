package server_test

import (
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/services/server/internal/guild"
	imongo "github.com/accordchat/accord/services/server/internal/mongo"
)

// parallel runs f(i) for i in [0, n) at once and returns the codes.
func parallel(n int, f func(i int) error) map[codes.Code]int {
	var mu sync.Mutex
	got := map[codes.Code]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := f(i)
			mu.Lock()
			got[status.Code(err)]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return got
}

func TestConcurrentAddsOfOneUser(t *testing.T) {
	h := newHarness(t)
	owner, bob := h.newUser("owner"), h.newUser("bob")
	s, _ := h.createServer(owner, "S")
	got := parallel(20, func(int) error {
		_, err := h.api.AddMember(owner.ctx, &serverv1.AddMemberRequest{ServerId: s.GetId(), Login: bob.login})
		return err
	})
	if got[codes.OK] != 1 || got[codes.AlreadyExists] != 19 {
		t.Fatalf("codes = %v", got)
	}
	if n := h.count(imongo.MembersCollection, bson.D{{Key: "server_id", Value: s.GetId()}, {Key: "user_id", Value: bob.id}}); n != 1 {
		t.Fatalf("%d memberships", n)
	}
	r, _ := h.api.GetServer(owner.ctx, &serverv1.GetServerRequest{ServerId: s.GetId()})
	if r.GetServer().GetMemberCount() != 2 {
		t.Fatalf("member_count = %d", r.GetServer().GetMemberCount())
	}
	if n := len(h.events(events.UserScope(bob.id))); n != 1 {
		t.Fatalf("bob got %d server_joined events", n)
	}
}

func TestConcurrentOpensOfOneConversation(t *testing.T) {
	h := newHarness(t)
	a, b := h.newUser("a"), h.newUser("b")
	h.users.befriend(a.id, b.id)
	var mu sync.Mutex
	servers, channels, created := map[string]bool{}, map[string]bool{}, 0
	got := parallel(20, func(i int) error {
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		r, err := h.api.OpenConversation(from.ctx, &serverv1.OpenConversationRequest{UserId: to.id})
		if err == nil {
			mu.Lock()
			servers[r.GetServer().GetId()] = true
			channels[r.GetChannel().GetId()] = true
			if r.GetCreated() {
				created++
			}
			mu.Unlock()
		}
		return err
	})
	if got[codes.OK] != 20 || len(servers) != 1 || len(channels) != 1 || created != 1 {
		t.Fatalf("codes %v, servers %v, channels %v, created %d", got, servers, channels, created)
	}
	key := guild.DMKey(a.id, b.id)
	if n := h.count(imongo.ServersCollection, bson.D{{Key: "dm_key", Value: key}}); n != 1 {
		t.Fatalf("%d conversations", n)
	}
	for id := range servers {
		if n := h.count(imongo.ChannelsCollection, bson.D{{Key: "server_id", Value: id}}); n != 1 {
			t.Fatalf("%d channels", n)
		}
		if n := h.count(imongo.MembersCollection, bson.D{{Key: "server_id", Value: id}}); n != 2 {
			t.Fatalf("%d members", n)
		}
	}
}

func TestConcurrentInviteJoins(t *testing.T) {
	h := newHarness(t)
	owner := h.newUser("owner")
	s, _ := h.createServer(owner, "S")
	inv, err := h.api.CreateInvite(owner.ctx, &serverv1.CreateInviteRequest{ServerId: s.GetId(), MaxUses: 5})
	if err != nil {
		t.Fatal(err)
	}
	joiners := make([]acct, 20)
	for i := range joiners {
		joiners[i] = h.newUser("j")
	}
	got := parallel(20, func(i int) error {
		_, err := h.api.AcceptInvite(joiners[i].ctx, &serverv1.AcceptInviteRequest{Code: inv.GetInvite().GetCode()})
		return err
	})
	if got[codes.OK] != 5 || got[codes.FailedPrecondition] != 15 {
		t.Fatalf("codes = %v", got)
	}
	if n := h.count(imongo.MembersCollection, bson.D{{Key: "server_id", Value: s.GetId()}}); n != 6 {
		t.Fatalf("%d members, want owner + 5", n)
	}
	// member_count is not checked here: it is kept with $inc, atomic on
	// MongoDB but not on FerretDB, which loses concurrent increments.
	if n := h.count(imongo.InviteUsesCollection, bson.D{}); n != 5 {
		t.Fatalf("%d use slots taken", n)
	}

	// The same user racing with itself takes one use at most.
	inv2, err := h.api.CreateInvite(owner.ctx, &serverv1.CreateInviteRequest{ServerId: s.GetId(), MaxUses: 10})
	if err != nil {
		t.Fatal(err)
	}
	solo := h.newUser("solo")
	got = parallel(10, func(int) error {
		_, err := h.api.AcceptInvite(solo.ctx, &serverv1.AcceptInviteRequest{Code: inv2.GetInvite().GetCode()})
		return err
	})
	if got[codes.OK] != 1 || got[codes.AlreadyExists] != 9 {
		t.Fatalf("solo codes = %v", got)
	}
	stored, err := h.db.Guild.Invite(t.Context(), inv2.GetInvite().GetCode())
	if err != nil {
		t.Fatal(err)
	}
	if stored.Uses != 1 || h.count(imongo.InviteUsesCollection, bson.D{}) != 6 {
		t.Fatalf("invite uses %d after one join", stored.Uses)
	}
}

// TestDeleteRacingJoins deletes a server while users join it through an
// unlimited invite: whatever interleaving, no membership survives.
func TestDeleteRacingJoins(t *testing.T) {
	h := newHarness(t)
	owner := h.newUser("owner")
	s, _ := h.createServer(owner, "S")
	inv, err := h.api.CreateInvite(owner.ctx, &serverv1.CreateInviteRequest{ServerId: s.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	joiners := make([]acct, 16)
	for i := range joiners {
		joiners[i] = h.newUser("j")
	}
	parallel(17, func(i int) error {
		if i == 16 {
			_, err := h.api.DeleteServer(owner.ctx, &serverv1.DeleteServerRequest{ServerId: s.GetId()})
			return err
		}
		_, err := h.api.AcceptInvite(joiners[i].ctx, &serverv1.AcceptInviteRequest{Code: inv.GetInvite().GetCode()})
		return err
	})
	for _, c := range []string{imongo.MembersCollection, imongo.ChannelsCollection, imongo.InvitesCollection} {
		if n := h.count(c, bson.D{{Key: "server_id", Value: s.GetId()}}); n != 0 {
			t.Fatalf("%d orphan %s", n, c)
		}
	}
}
