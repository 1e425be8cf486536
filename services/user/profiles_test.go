package user_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/user"
)

func TestProfiles(t *testing.T) {
	f := newFixture(t)
	me := f.register("Reader")
	var ids []string
	for _, l := range []string{"Sam", "samuel", "SAMANTHA", "sally", "bob"} {
		ids = append(ids, f.register(l).user.GetId())
	}
	ctx := me.ctx(f)

	got, err := f.users.GetUser(ctx, &userv1.GetUserRequest{UserId: ids[0]})
	if err != nil || got.GetUser().GetLogin() != "Sam" || got.GetUser().GetCreateTime() == nil {
		t.Fatalf("GetUser = %v, %v", got, err)
	}
	_, err = f.users.GetUser(ctx, &userv1.GetUserRequest{UserId: "0123456789abcdef01234567"})
	wantCode(t, err, codes.NotFound)

	// Batch: request order, unknown and repeated ids left out.
	batch, err := f.users.BatchGetUsers(ctx, &userv1.BatchGetUsersRequest{UserIds: []string{ids[4], "0123456789abcdef01234567", ids[1], ids[4]}})
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.GetUsers()) != 2 || batch.GetUsers()[0].GetLogin() != "bob" || batch.GetUsers()[1].GetLogin() != "samuel" {
		t.Fatalf("batch = %v", batch.GetUsers())
	}

	look, err := f.users.LookupUser(ctx, &userv1.LookupUserRequest{Login: "samantha"})
	if err != nil || look.GetUser().GetLogin() != "SAMANTHA" {
		t.Fatalf("lookup = %v, %v", look, err)
	}
	_, err = f.users.LookupUser(ctx, &userv1.LookupUserRequest{Login: "sa"})
	wantCode(t, err, codes.NotFound)

	// Search pages by login prefix in login order.
	var logins []string
	tok := ""
	for page := 0; ; page++ {
		res, err := f.users.SearchUsers(ctx, &userv1.SearchUsersRequest{LoginPrefix: "SA", PageSize: 2, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GetUsers()) > 2 || page > 3 {
			t.Fatalf("page %d = %v", page, res)
		}
		for _, u := range res.GetUsers() {
			logins = append(logins, u.GetLogin())
		}
		if tok = res.GetNextPageToken(); tok == "" {
			break
		}
	}
	if want := "[sally Sam SAMANTHA samuel]"; fmt.Sprint(logins) != want {
		t.Fatalf("search = %v, want %s", logins, want)
	}
	all, err := f.users.SearchUsers(ctx, &userv1.SearchUsersRequest{LoginPrefix: "s", PageSize: 1000})
	if err != nil || len(all.GetUsers()) != 4 || all.GetNextPageToken() != "" {
		t.Fatalf("search with a large page = %v, %v", all, err)
	}

	// No response ever carries a credential.
	js, _ := protojson.Marshal(all)
	if strings.Contains(string(js), "argon2") || strings.Contains(string(js), "password") {
		t.Fatalf("profile leaks credentials: %s", js)
	}

	// Other services may read profiles; anonymous callers may not.
	if _, err := f.users.LookupUser(f.serviceCtx(), &userv1.LookupUserRequest{Login: "bob"}); err != nil {
		t.Fatalf("service lookup: %v", err)
	}
	_, err = f.users.GetUser(f.ctx(""), &userv1.GetUserRequest{UserId: ids[0]})
	wantCode(t, err, codes.Unauthenticated)
	_, err = f.users.GetUser(f.ctx("not.a.token"), &userv1.GetUserRequest{UserId: ids[0]})
	wantCode(t, err, codes.Unauthenticated)
	// A service is not a user: it has no current user.
	_, err = f.users.GetCurrentUser(f.serviceCtx(), &userv1.GetCurrentUserRequest{})
	wantCode(t, err, codes.Unauthenticated)
}

func TestUpdateCurrentUserEvent(t *testing.T) {
	f := newFixture(t)
	a := f.register("eventful")
	_, err := f.users.UpdateCurrentUser(a.ctx(f), &userv1.UpdateCurrentUserRequest{
		User:       &userv1.UserUpdate{DisplayName: "Event Ful", StatusText: "here"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name", "status_text"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := f.events(a.user.GetId())
	if len(evs) != 1 {
		t.Fatalf("events = %v", evs)
	}
	u := evs[0].GetPayload().(*eventsv1.Event_UserUpdated).UserUpdated
	if u.GetDisplayName() != "Event Ful" || u.GetStatusText() != "here" || evs[0].GetCursor() == "" || evs[0].GetScope() != "user:"+a.user.GetId() {
		t.Fatalf("event = %v", evs[0])
	}
}

func TestOperators(t *testing.T) {
	f := newFixture(t, func(_ *user.Options, env *platformtest.Env) {
		env.Config.Operators = []string{"boss", "late.boss"}
	})
	boss := f.register("BOSS")
	if !boss.user.GetOperator() {
		t.Fatal("configured operator registered without the role")
	}
	worker := f.register("worker")
	if worker.user.GetOperator() {
		t.Fatal("worker is an operator")
	}
	// Only operators grant the role.
	_, err := f.users.SetOperator(worker.ctx(f), &userv1.SetOperatorRequest{UserId: worker.user.GetId(), Operator: true})
	wantCode(t, err, codes.PermissionDenied)
	res, err := f.users.SetOperator(boss.ctx(f), &userv1.SetOperatorRequest{UserId: worker.user.GetId(), Operator: true})
	if err != nil || !res.GetUser().GetOperator() {
		t.Fatalf("SetOperator = %v, %v", res, err)
	}
	_, err = f.users.SetOperator(boss.ctx(f), &userv1.SetOperatorRequest{UserId: "0123456789abcdef01234567", Operator: true})
	wantCode(t, err, codes.NotFound)
	// The new role is in the tokens of the next sign-in.
	login, err := f.users.Login(f.ctx(""), &userv1.LoginRequest{Login: "worker", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.env.Verifier.Verify(login.GetTokens().GetAccessToken())
	if err != nil || !p.Operator || p.UserID != worker.user.GetId() || p.SessionID != login.GetTokens().GetSessionId() {
		t.Fatalf("principal = %+v, %v", p, err)
	}
	if exp := time.Until(p.ExpiresAt); exp <= 0 || exp > f.env.Config.AccessTokenTTL {
		t.Fatalf("access token lives %v", exp)
	}
}

func TestInternalServiceOnlyForServices(t *testing.T) {
	f := newFixture(t)
	a, b := f.register("inner_a"), f.register("inner_b")
	req := &userv1.CheckRelationshipsRequest{UserId: a.user.GetId(), OtherIds: []string{b.user.GetId()}}
	_, err := f.internal.CheckRelationships(a.ctx(f), req)
	wantCode(t, err, codes.PermissionDenied)
	_, err = f.internal.CheckRelationships(f.ctx(""), req)
	wantCode(t, err, codes.Unauthenticated)
	if _, err := f.internal.CheckRelationships(f.serviceCtx(), req); err != nil {
		t.Fatal(err)
	}
}
