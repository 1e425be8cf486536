package user_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/services/user"
)

func TestRegisterValidation(t *testing.T) {
	f := newFixture(t)
	ok := func() *userv1.RegisterRequest {
		return &userv1.RegisterRequest{Login: "valid_login", Password: "long enough", DisplayName: "Val", Client: "web"}
	}
	tests := []struct {
		name  string
		edit  func(r *userv1.RegisterRequest)
		field string
	}{
		{"login too short", func(r *userv1.RegisterRequest) { r.Login = "ab" }, "login"},
		{"login too long", func(r *userv1.RegisterRequest) { r.Login = strings.Repeat("a", 33) }, "login"},
		{"login with a space", func(r *userv1.RegisterRequest) { r.Login = "a b c" }, "login"},
		{"login with unicode", func(r *userv1.RegisterRequest) { r.Login = "ünïcode" }, "login"},
		{"login with @", func(r *userv1.RegisterRequest) { r.Login = "me@example" }, "login"},
		{"password too short", func(r *userv1.RegisterRequest) { r.Password = "1234567" }, "password"},
		{"password too long", func(r *userv1.RegisterRequest) { r.Password = strings.Repeat("p", 129) }, "password"},
		{"display name too long", func(r *userv1.RegisterRequest) { r.DisplayName = strings.Repeat("d", 33) }, "display_name"},
		{"display name with a newline", func(r *userv1.RegisterRequest) { r.DisplayName = "two\nlines" }, "display_name"},
		{"display name with a control character", func(r *userv1.RegisterRequest) { r.DisplayName = "bell\a" }, "display_name"},
		{"display name with a line separator", func(r *userv1.RegisterRequest) { r.DisplayName = "a\u2028b" }, "display_name"},
		{"client with capitals", func(r *userv1.RegisterRequest) { r.Client = "Web" }, "client"},
		{"client too long", func(r *userv1.RegisterRequest) { r.Client = strings.Repeat("c", 33) }, "client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := ok()
			tc.edit(req)
			_, err := f.users.Register(f.ctx(""), req)
			wantInvalid(t, err, tc.field)
		})
	}
	// Nothing was created by the refused requests.
	// An empty prefix searches every login.
	store, err := user.OpenStore(f.ctx(""), f.env.Deps("user"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := store.SearchUsers(f.ctx(""), "", "", 1000)
	if n := len(all); err != nil || n != 0 {
		t.Fatalf("users after refused registrations = %d, %v; want 0", n, err)
	}

	t.Run("display name is trimmed", func(t *testing.T) {
		req := ok()
		req.DisplayName = "  Trimmed Name  "
		res, err := f.users.Register(f.ctx(""), req)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.GetUser().GetDisplayName(); got != "Trimmed Name" {
			t.Fatalf("display name = %q", got)
		}
	})
	t.Run("blank display name defaults to the login", func(t *testing.T) {
		res, err := f.users.Register(f.ctx(""), &userv1.RegisterRequest{Login: "Blank.Name", Password: "long enough", DisplayName: "   "})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.GetUser().GetDisplayName(); got != "Blank.Name" {
			t.Fatalf("display name = %q, want the login", got)
		}
	})
	t.Run("login taken in another case", func(t *testing.T) {
		_, err := f.users.Register(f.ctx(""), &userv1.RegisterRequest{Login: "blank.NAME", Password: "long enough"})
		wantCode(t, err, codes.AlreadyExists)
		if r := reason(err); r != "LOGIN_TAKEN" {
			t.Fatalf("reason = %q", r)
		}
	})
}

func TestUpdateCurrentUserValidation(t *testing.T) {
	f := newFixture(t)
	a := f.register("updater")
	mask := func(p ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: p} }
	tests := []struct {
		name  string
		req   *userv1.UpdateCurrentUserRequest
		field string
	}{
		{"blank display name", &userv1.UpdateCurrentUserRequest{User: &userv1.UserUpdate{DisplayName: "   "}, UpdateMask: mask("display_name")}, "user.display_name"},
		{"empty display name", &userv1.UpdateCurrentUserRequest{User: &userv1.UserUpdate{}, UpdateMask: mask("display_name")}, "user.display_name"},
		{"display name too long", &userv1.UpdateCurrentUserRequest{User: &userv1.UserUpdate{DisplayName: strings.Repeat("x", 33)}, UpdateMask: mask("display_name")}, "user.display_name"},
		{"display name with a tab", &userv1.UpdateCurrentUserRequest{User: &userv1.UserUpdate{DisplayName: "a\tb"}, UpdateMask: mask("display_name")}, "user.display_name"},
		{"status text too long", &userv1.UpdateCurrentUserRequest{User: &userv1.UserUpdate{StatusText: strings.Repeat("s", 129)}, UpdateMask: mask("status_text")}, "user.status_text"},
		{"status text with a control character", &userv1.UpdateCurrentUserRequest{User: &userv1.UserUpdate{StatusText: "x\x00"}, UpdateMask: mask("status_text")}, "user.status_text"},
		{"unknown mask path", &userv1.UpdateCurrentUserRequest{User: &userv1.UserUpdate{DisplayName: "ok"}, UpdateMask: mask("display_name", "operator")}, "update_mask"},
		{"empty mask", &userv1.UpdateCurrentUserRequest{User: &userv1.UserUpdate{DisplayName: "ok"}, UpdateMask: mask()}, "update_mask"},
		{"missing mask", &userv1.UpdateCurrentUserRequest{User: &userv1.UserUpdate{DisplayName: "ok"}}, "update_mask"},
		{"missing user", &userv1.UpdateCurrentUserRequest{UpdateMask: mask("display_name")}, "user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.users.UpdateCurrentUser(a.ctx(f), tc.req)
			wantInvalid(t, err, tc.field)
		})
	}
	got, err := f.users.GetCurrentUser(a.ctx(f), &userv1.GetCurrentUserRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetUser().GetDisplayName() != "updater" || got.GetUser().GetStatusText() != "" {
		t.Fatalf("refused updates changed the profile: %v", got.GetUser())
	}

	t.Run("only masked fields change, trimmed", func(t *testing.T) {
		res, err := f.users.UpdateCurrentUser(a.ctx(f), &userv1.UpdateCurrentUserRequest{
			User:       &userv1.UserUpdate{DisplayName: "  New Name ", StatusText: "ignored"},
			UpdateMask: mask("display_name"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if u := res.GetUser(); u.GetDisplayName() != "New Name" || u.GetStatusText() != "" {
			t.Fatalf("user = %v", u)
		}
		res, err = f.users.UpdateCurrentUser(a.ctx(f), &userv1.UpdateCurrentUserRequest{
			User: &userv1.UserUpdate{StatusText: " busy "}, UpdateMask: mask("status_text"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if u := res.GetUser(); u.GetDisplayName() != "New Name" || u.GetStatusText() != "busy" {
			t.Fatalf("user = %v", u)
		}
	})
}

func TestRequestValidation(t *testing.T) {
	f := newFixture(t)
	a := f.register("validator")
	ctx := a.ctx(f)
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"get user with a bad id", func() error {
			_, err := f.users.GetUser(ctx, &userv1.GetUserRequest{UserId: "not-an-id"})
			return err
		}, "user_id"},
		{"batch get with no ids", func() error {
			_, err := f.users.BatchGetUsers(ctx, &userv1.BatchGetUsersRequest{})
			return err
		}, "user_ids"},
		{"batch get with a bad id", func() error {
			_, err := f.users.BatchGetUsers(ctx, &userv1.BatchGetUsersRequest{UserIds: []string{a.user.GetId(), "ZZ"}})
			return err
		}, "user_ids[1]"},
		{"lookup with a bad login", func() error {
			_, err := f.users.LookupUser(ctx, &userv1.LookupUserRequest{Login: "a b"})
			return err
		}, "login"},
		{"search with an empty prefix", func() error {
			_, err := f.users.SearchUsers(ctx, &userv1.SearchUsersRequest{})
			return err
		}, "login_prefix"},
		{"search with a negative page size", func() error {
			_, err := f.users.SearchUsers(ctx, &userv1.SearchUsersRequest{LoginPrefix: "v", PageSize: -1})
			return err
		}, "page_size"},
		{"search with a forged page token", func() error {
			_, err := f.users.SearchUsers(ctx, &userv1.SearchUsersRequest{LoginPrefix: "v", PageToken: "garbage!"})
			return err
		}, "page_token"},
		{"friend request with a bad login", func() error {
			_, err := f.users.SendFriendRequest(ctx, &userv1.SendFriendRequestRequest{Login: "no/slash"})
			return err
		}, "login"},
		{"friend request to oneself", func() error {
			_, err := f.users.SendFriendRequest(ctx, &userv1.SendFriendRequestRequest{Login: "VALIDATOR"})
			return err
		}, "login"},
		{"accept with a bad id", func() error {
			_, err := f.users.AcceptFriendRequest(ctx, &userv1.AcceptFriendRequestRequest{UserId: "123"})
			return err
		}, "user_id"},
		{"block oneself", func() error {
			_, err := f.users.BlockUser(ctx, &userv1.BlockUserRequest{UserId: a.user.GetId()})
			return err
		}, "user_id"},
		{"list with an unknown type", func() error {
			_, err := f.users.ListRelationships(ctx, &userv1.ListRelationshipsRequest{Type: 99})
			return err
		}, "type"},
		{"list with a negative page size", func() error {
			_, err := f.users.ListRelationships(ctx, &userv1.ListRelationshipsRequest{PageSize: -5})
			return err
		}, "page_size"},
		{"list with a forged page token", func() error {
			_, err := f.users.ListRelationships(ctx, &userv1.ListRelationshipsRequest{PageToken: "MTpub3QtYW4taWQ"})
			return err
		}, "page_token"},
		{"set operator with a bad id", func() error {
			_, err := f.users.SetOperator(ctx, &userv1.SetOperatorRequest{UserId: "x"})
			return err
		}, "user_id"},
		{"refresh with an empty token", func() error {
			_, err := f.users.RefreshToken(f.ctx(""), &userv1.RefreshTokenRequest{})
			return err
		}, "refresh_token"},
		{"login with an empty password", func() error {
			_, err := f.users.Login(f.ctx(""), &userv1.LoginRequest{Login: "validator"})
			return err
		}, "password"},
		{"check relationships with no ids", func() error {
			_, err := f.internal.CheckRelationships(f.serviceCtx(), &userv1.CheckRelationshipsRequest{UserId: a.user.GetId()})
			return err
		}, "other_ids"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantInvalid(t, tc.call(), tc.field)
		})
	}
}
