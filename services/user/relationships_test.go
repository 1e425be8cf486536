package user_test

import (
	"fmt"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/services/user"
	domain "github.com/accordchat/accord/services/user/internal/account"
)

const (
	friend   = userv1.RelationshipType_RELATIONSHIP_TYPE_FRIEND
	incoming = userv1.RelationshipType_RELATIONSHIP_TYPE_INCOMING_REQUEST
	outgoing = userv1.RelationshipType_RELATIONSHIP_TYPE_OUTGOING_REQUEST
	blocked  = userv1.RelationshipType_RELATIONSHIP_TYPE_BLOCKED
)

// relDocs returns the stored sides of the pairs the users are in, as
// "owner>other:type".
func (f *fixture) relDocs(users ...account) []string {
	f.t.Helper()
	store, err := user.OpenStore(f.ctx(""), f.env.Deps("user"))
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, u := range users {
		rels, err := store.ListRelationships(f.ctx(""), u.user.GetId(), domain.RelNone, "", 1000)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, r := range rels {
			out = append(out, r.UserID+">"+r.OtherID+":"+r.Type.String())
		}
	}
	return out
}

// view returns how a sees other (UNSPECIFIED when not at all) by listing.
func (f *fixture) view(a account, otherID string) userv1.RelationshipType {
	f.t.Helper()
	res, err := f.users.ListRelationships(a.ctx(f), &userv1.ListRelationshipsRequest{})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, r := range res.GetRelationships() {
		if r.GetUserId() == otherID {
			if r.GetUser().GetId() != otherID || r.GetUpdateTime() == nil {
				f.t.Fatalf("relationship without profile: %v", r)
			}
			return r.GetType()
		}
	}
	return userv1.RelationshipType_RELATIONSHIP_TYPE_UNSPECIFIED
}

// events returns the events in a user's stream.
func (f *fixture) events(userID string) []*eventsv1.Event {
	f.t.Helper()
	scope := events.UserScope(userID)
	msgs, err := f.env.Redis.XRange(f.ctx(""), f.env.Events.Key(scope), "-", "+").Result()
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]*eventsv1.Event, len(msgs))
	for i, m := range msgs {
		if out[i], err = events.Decode(scope, m); err != nil {
			f.t.Fatal(err)
		}
	}
	return out
}

// eventSummary describes the relationship events of a stream: "type@other"
// for updates, "removed@other" for removals.
func eventSummary(evs []*eventsv1.Event) []string {
	var out []string
	for _, e := range evs {
		switch p := e.GetPayload().(type) {
		case *eventsv1.Event_RelationshipUpdated:
			out = append(out, fmt.Sprintf("%s@%s", p.RelationshipUpdated.GetType(), p.RelationshipUpdated.GetUser().GetLogin()))
		case *eventsv1.Event_RelationshipRemoved:
			out = append(out, "removed@"+p.RelationshipRemoved.GetUserId())
		}
	}
	return out
}

func TestConcurrentFriendRequestsOneRelationship(t *testing.T) {
	f := newFixture(t)
	a, b := f.register("alpha"), f.register("bravo")
	var wg sync.WaitGroup
	errsc := make([]error, 50)
	for i := range errsc {
		wg.Go(func() {
			_, errsc[i] = f.users.SendFriendRequest(a.ctx(f), &userv1.SendFriendRequestRequest{Login: "BRAVO"})
		})
	}
	wg.Wait()
	for _, err := range errsc {
		if err != nil {
			t.Fatalf("request: %v", err)
		}
	}
	got := f.relDocs(a, b)
	want := map[string]bool{a.user.GetId() + ">" + b.user.GetId() + ":outgoing": true, b.user.GetId() + ">" + a.user.GetId() + ":incoming": true}
	if len(got) != 2 || !want[got[0]] || !want[got[1]] {
		t.Fatalf("relationships = %v", got)
	}
	// One change, so one event per side.
	if n := len(f.events(a.user.GetId())); n != 1 {
		t.Fatalf("events for alpha = %d, want 1", n)
	}
}

func TestConcurrentMutualRequestsBecomeFriends(t *testing.T) {
	f := newFixture(t)
	a, b := f.register("mutual_a"), f.register("mutual_b")
	var wg sync.WaitGroup
	for i := range 50 {
		from, to := a, "mutual_b"
		if i%2 == 1 {
			from, to = b, "mutual_a"
		}
		wg.Go(func() {
			_, err := f.users.SendFriendRequest(from.ctx(f), &userv1.SendFriendRequestRequest{Login: to})
			if c := status(err); c != codes.OK && c != codes.AlreadyExists {
				t.Errorf("request: %v", err)
			}
		})
	}
	wg.Wait()
	if got := f.relDocs(a, b); len(got) != 2 {
		t.Fatalf("relationships = %v", got)
	}
	if f.view(a, b.user.GetId()) != friend || f.view(b, a.user.GetId()) != friend {
		t.Fatal("mutual requests did not make friends")
	}
}

func TestRelationshipLifecycle(t *testing.T) {
	f := newFixture(t)
	a, b, c := f.register("Anna"), f.register("Bert"), f.register("Cleo")
	aID, bID, cID := a.user.GetId(), b.user.GetId(), c.user.GetId()

	// Request by login in any case; both sides see it.
	res, err := f.users.SendFriendRequest(a.ctx(f), &userv1.SendFriendRequestRequest{Login: "bERT"})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.GetRelationship(); r.GetType() != outgoing || r.GetUserId() != bID || r.GetUser().GetLogin() != "Bert" {
		t.Fatalf("relationship = %v", r)
	}
	if f.view(b, aID) != incoming {
		t.Fatal("bert does not see the request")
	}
	// Asking again changes nothing.
	if _, err := f.users.SendFriendRequest(a.ctx(f), &userv1.SendFriendRequestRequest{Login: "bert"}); err != nil {
		t.Fatal(err)
	}
	// Only the receiver can accept; the sender cannot.
	_, err = f.users.AcceptFriendRequest(a.ctx(f), &userv1.AcceptFriendRequestRequest{UserId: bID})
	wantCode(t, err, codes.NotFound)
	acc, err := f.users.AcceptFriendRequest(b.ctx(f), &userv1.AcceptFriendRequestRequest{UserId: aID})
	if err != nil || acc.GetRelationship().GetType() != friend {
		t.Fatalf("accept = %v, %v", acc, err)
	}
	if f.view(a, bID) != friend {
		t.Fatal("anna does not see the friendship")
	}
	_, err = f.users.SendFriendRequest(a.ctx(f), &userv1.SendFriendRequestRequest{Login: "bert"})
	wantCode(t, err, codes.AlreadyExists)

	// The internal API sees the friendship.
	chk, err := f.internal.CheckRelationships(f.serviceCtx(), &userv1.CheckRelationshipsRequest{UserId: aID, OtherIds: []string{bID, cID, "0123456789abcdef01234567"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{bID + " friend=true blocked=false exists=true", cID + " friend=false blocked=false exists=true", "0123456789abcdef01234567 friend=false blocked=false exists=false"}
	for i, ck := range chk.GetChecks() {
		if got := fmt.Sprintf("%s friend=%v blocked=%v exists=%v", ck.GetOtherId(), ck.GetFriend(), ck.GetBlocked(), ck.GetExists()); got != want[i] {
			t.Fatalf("check %d = %s, want %s", i, got, want[i])
		}
	}

	// Remove the friend.
	if _, err := f.users.RemoveFriend(b.ctx(f), &userv1.RemoveFriendRequest{UserId: aID}); err != nil {
		t.Fatal(err)
	}
	_, err = f.users.RemoveFriend(b.ctx(f), &userv1.RemoveFriendRequest{UserId: aID})
	wantCode(t, err, codes.NotFound)

	// Decline and cancel.
	if _, err := f.users.SendFriendRequest(c.ctx(f), &userv1.SendFriendRequestRequest{Login: "anna"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.users.DeclineFriendRequest(a.ctx(f), &userv1.DeclineFriendRequestRequest{UserId: cID}); err != nil {
		t.Fatal(err)
	}
	if f.view(c, aID) != userv1.RelationshipType_RELATIONSHIP_TYPE_UNSPECIFIED {
		t.Fatal("declined request still visible to its sender")
	}
	if _, err := f.users.SendFriendRequest(c.ctx(f), &userv1.SendFriendRequestRequest{Login: "anna"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.users.CancelFriendRequest(a.ctx(f), &userv1.CancelFriendRequestRequest{UserId: cID})
	wantCode(t, err, codes.NotFound)
	if _, err := f.users.CancelFriendRequest(c.ctx(f), &userv1.CancelFriendRequestRequest{UserId: aID}); err != nil {
		t.Fatal(err)
	}
	if got := f.relDocs(a, b, c); len(got) != 0 {
		t.Fatalf("relationships left = %v", got)
	}

	// A request to someone who already asked you makes you friends.
	if _, err := f.users.SendFriendRequest(c.ctx(f), &userv1.SendFriendRequestRequest{Login: "anna"}); err != nil {
		t.Fatal(err)
	}
	back, err := f.users.SendFriendRequest(a.ctx(f), &userv1.SendFriendRequestRequest{Login: "cleo"})
	if err != nil || back.GetRelationship().GetType() != friend || f.view(c, aID) != friend {
		t.Fatalf("request back = %v, %v", back, err)
	}

	// Blocking a friend ends the friendship on both sides.
	blk, err := f.users.BlockUser(a.ctx(f), &userv1.BlockUserRequest{UserId: cID})
	if err != nil || blk.GetRelationship().GetType() != blocked {
		t.Fatalf("block = %v, %v", blk, err)
	}
	if f.view(c, aID) != userv1.RelationshipType_RELATIONSHIP_TYPE_UNSPECIFIED {
		t.Fatal("the blocked user still sees a relationship")
	}
	// The blocked user cannot tell the blocker from a missing user.
	_, errBlocked := f.users.SendFriendRequest(c.ctx(f), &userv1.SendFriendRequestRequest{Login: "anna"})
	_, errMissing := f.users.SendFriendRequest(c.ctx(f), &userv1.SendFriendRequestRequest{Login: "nobody"})
	wantCode(t, errBlocked, codes.NotFound)
	if errBlocked.Error() != errMissing.Error() {
		t.Fatalf("blocked %v differs from missing %v", errBlocked, errMissing)
	}
	// The blocker must unblock before asking.
	_, err = f.users.SendFriendRequest(a.ctx(f), &userv1.SendFriendRequestRequest{Login: "cleo"})
	wantCode(t, err, codes.FailedPrecondition)
	// Either direction counts as blocked for the other services.
	for _, pair := range [][2]string{{aID, cID}, {cID, aID}} {
		chk, err := f.internal.CheckRelationships(f.serviceCtx(), &userv1.CheckRelationshipsRequest{UserId: pair[0], OtherIds: []string{pair[1]}})
		if err != nil || !chk.GetChecks()[0].GetBlocked() || chk.GetChecks()[0].GetFriend() {
			t.Fatalf("check %v = %v, %v", pair, chk, err)
		}
	}
	list, err := f.users.ListRelationships(a.ctx(f), &userv1.ListRelationshipsRequest{Type: blocked})
	if err != nil || len(list.GetRelationships()) != 1 || list.GetRelationships()[0].GetUserId() != cID {
		t.Fatalf("blocked list = %v, %v", list, err)
	}
	// Unblock; then they may be friends again.
	if _, err := f.users.UnblockUser(a.ctx(f), &userv1.UnblockUserRequest{UserId: cID}); err != nil {
		t.Fatal(err)
	}
	_, err = f.users.UnblockUser(a.ctx(f), &userv1.UnblockUserRequest{UserId: cID})
	wantCode(t, err, codes.NotFound)
	if _, err := f.users.SendFriendRequest(c.ctx(f), &userv1.SendFriendRequestRequest{Login: "anna"}); err != nil {
		t.Fatal(err)
	}

	// Every change reached both users' streams, each with its own view.
	gotA := eventSummary(f.events(aID))
	wantA := []string{
		"RELATIONSHIP_TYPE_OUTGOING_REQUEST@Bert", "RELATIONSHIP_TYPE_FRIEND@Bert", "removed@" + bID,
		"RELATIONSHIP_TYPE_INCOMING_REQUEST@Cleo", "removed@" + cID,
		"RELATIONSHIP_TYPE_INCOMING_REQUEST@Cleo", "removed@" + cID,
		"RELATIONSHIP_TYPE_INCOMING_REQUEST@Cleo", "RELATIONSHIP_TYPE_FRIEND@Cleo",
		"RELATIONSHIP_TYPE_BLOCKED@Cleo", "removed@" + cID, "RELATIONSHIP_TYPE_INCOMING_REQUEST@Cleo",
	}
	if fmt.Sprint(gotA) != fmt.Sprint(wantA) {
		t.Fatalf("anna's events:\n got %v\nwant %v", gotA, wantA)
	}
	gotB := eventSummary(f.events(bID))
	wantB := []string{"RELATIONSHIP_TYPE_INCOMING_REQUEST@Anna", "RELATIONSHIP_TYPE_FRIEND@Anna", "removed@" + aID}
	if fmt.Sprint(gotB) != fmt.Sprint(wantB) {
		t.Fatalf("bert's events:\n got %v\nwant %v", gotB, wantB)
	}
	gotC := eventSummary(f.events(cID))
	wantC := []string{
		"RELATIONSHIP_TYPE_OUTGOING_REQUEST@Anna", "removed@" + aID,
		"RELATIONSHIP_TYPE_OUTGOING_REQUEST@Anna", "removed@" + aID,
		"RELATIONSHIP_TYPE_OUTGOING_REQUEST@Anna", "RELATIONSHIP_TYPE_FRIEND@Anna",
		"removed@" + aID, "RELATIONSHIP_TYPE_OUTGOING_REQUEST@Anna",
	}
	if fmt.Sprint(gotC) != fmt.Sprint(wantC) {
		t.Fatalf("cleo's events:\n got %v\nwant %v", gotC, wantC)
	}
}

func TestListRelationshipsPages(t *testing.T) {
	f := newFixture(t)
	me := f.register("popular")
	var ids []string
	for i := range 5 {
		o := f.register(fmt.Sprintf("fan%d", i))
		ids = append(ids, o.user.GetId())
		if _, err := f.users.SendFriendRequest(o.ctx(f), &userv1.SendFriendRequestRequest{Login: "popular"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.users.BlockUser(me.ctx(f), &userv1.BlockUserRequest{UserId: ids[4]}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	tok := ""
	for pages := 0; ; pages++ {
		res, err := f.users.ListRelationships(me.ctx(f), &userv1.ListRelationshipsRequest{Type: incoming, PageSize: 2, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GetRelationships()) > 2 || pages > 3 {
			t.Fatalf("page %d = %v", pages, res)
		}
		for _, r := range res.GetRelationships() {
			seen = append(seen, r.GetUserId())
		}
		if tok = res.GetNextPageToken(); tok == "" {
			break
		}
	}
	if len(seen) != 4 {
		t.Fatalf("incoming = %v, want the 4 unblocked fans", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i-1] >= seen[i] {
			t.Fatalf("pages overlap or are out of order: %v", seen)
		}
	}
}
