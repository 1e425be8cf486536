package user_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/user"
)

func (f *fixture) login(login, pw, client string) *userv1.Tokens {
	f.t.Helper()
	res, err := f.users.Login(f.ctx(""), &userv1.LoginRequest{Login: login, Password: pw, Client: client})
	if err != nil {
		f.t.Fatalf("login %s: %v", login, err)
	}
	return res.GetTokens()
}

func TestListAndRevokeSessions(t *testing.T) {
	f := newFixture(t)
	me := f.register("sessions.owner")
	cli := f.login("sessions.owner", testPassword, "cli")
	other := f.register("someone.else")

	list, err := f.users.ListSessions(me.ctx(f), &userv1.ListSessionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := list.GetSessions()
	if len(got) != 2 || got[0].GetSessionId() != cli.GetSessionId() || got[1].GetSessionId() != me.tokens.GetSessionId() {
		t.Fatalf("sessions = %v; want the cli session then the registration's", got)
	}
	if got[0].GetCurrent() || !got[1].GetCurrent() || got[0].GetClient() != "cli" {
		t.Fatalf("sessions = %v; want only the caller's marked current", got)
	}
	for _, s := range got {
		if s.GetCreateTime().AsTime().IsZero() || s.GetLastUsedTime().AsTime().Before(s.GetCreateTime().AsTime()) {
			t.Fatalf("session times = %v", s)
		}
	}

	// Refreshing a session moves its last use forward.
	before := got[0].GetLastUsedTime().AsTime()
	// The stores keep milliseconds: wait for the clock to pass the last use.
	platformtest.Eventually(t, time.Second, func() bool { return time.Now().Truncate(time.Millisecond).After(before) }, "clock past the last use")
	ref, err := f.users.RefreshToken(f.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: cli.GetRefreshToken()})
	if err != nil {
		t.Fatal(err)
	}
	list, err = f.users.ListSessions(me.ctx(f), &userv1.ListSessionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if after := list.GetSessions()[0].GetLastUsedTime().AsTime(); !after.After(before) {
		t.Fatalf("last used after refresh = %v, before %v", after, before)
	}

	// Another user's session is not found, and stays signed in.
	_, err = f.users.RevokeSession(me.ctx(f), &userv1.RevokeSessionRequest{SessionId: other.tokens.GetSessionId()})
	wantCode(t, err, codes.NotFound)
	if _, err := f.users.GetCurrentUser(other.ctx(f), &userv1.GetCurrentUserRequest{}); err != nil {
		t.Fatalf("other user after a foreign revoke: %v", err)
	}
	_, err = f.users.RevokeSession(me.ctx(f), &userv1.RevokeSessionRequest{SessionId: "not-an-id"})
	wantInvalid(t, err, "session_id")

	// Revoking the cli session ends its access and refresh tokens at once.
	cliTok := ref.GetTokens()
	if _, err := f.users.RevokeSession(me.ctx(f), &userv1.RevokeSessionRequest{SessionId: cliTok.GetSessionId()}); err != nil {
		t.Fatal(err)
	}
	_, err = f.users.GetCurrentUser(f.ctx(cliTok.GetAccessToken()), &userv1.GetCurrentUserRequest{})
	wantCode(t, err, codes.Unauthenticated)
	_, err = f.users.RefreshToken(f.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: cliTok.GetRefreshToken()})
	wantCode(t, err, codes.Unauthenticated)
	// Revoked sessions leave the list and cannot be revoked again.
	list, err = f.users.ListSessions(me.ctx(f), &userv1.ListSessionsRequest{})
	if err != nil || len(list.GetSessions()) != 1 || !list.GetSessions()[0].GetCurrent() {
		t.Fatalf("sessions after revoke = %v, %v", list.GetSessions(), err)
	}
	_, err = f.users.RevokeSession(me.ctx(f), &userv1.RevokeSessionRequest{SessionId: cliTok.GetSessionId()})
	wantCode(t, err, codes.NotFound)

	_, err = f.users.ListSessions(f.ctx(""), &userv1.ListSessionsRequest{})
	wantCode(t, err, codes.Unauthenticated)
}

func TestChangePassword(t *testing.T) {
	f := newFixture(t)
	me := f.register("changer")
	phone := f.login("changer", testPassword, "phone")
	laptop := f.login("changer", testPassword, "laptop")
	bystander := f.register("bystander")
	const newPassword = "a brand new passphrase"

	// A wrong current password changes nothing and signs no one out.
	_, err := f.users.ChangePassword(me.ctx(f), &userv1.ChangePasswordRequest{CurrentPassword: "not my password", NewPassword: newPassword})
	wantInvalid(t, err, "current_password")
	if _, err := f.users.GetCurrentUser(f.ctx(phone.GetAccessToken()), &userv1.GetCurrentUserRequest{}); err != nil {
		t.Fatalf("other session after a failed change: %v", err)
	}
	f.login("changer", testPassword, "")

	// The new password follows Register's rules.
	_, err = f.users.ChangePassword(me.ctx(f), &userv1.ChangePasswordRequest{CurrentPassword: testPassword, NewPassword: "short"})
	wantInvalid(t, err, "new_password")

	if _, err := f.users.ChangePassword(me.ctx(f), &userv1.ChangePasswordRequest{CurrentPassword: testPassword, NewPassword: newPassword}); err != nil {
		t.Fatal(err)
	}
	// Every other session ends at once: access and refresh tokens.
	for _, tok := range []*userv1.Tokens{phone, laptop} {
		_, err := f.users.GetCurrentUser(f.ctx(tok.GetAccessToken()), &userv1.GetCurrentUserRequest{})
		wantCode(t, err, codes.Unauthenticated)
		_, err = f.users.RefreshToken(f.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: tok.GetRefreshToken()})
		wantCode(t, err, codes.Unauthenticated)
	}
	// The caller's session keeps working, refresh included.
	if _, err := f.users.GetCurrentUser(me.ctx(f), &userv1.GetCurrentUserRequest{}); err != nil {
		t.Fatalf("own session after change: %v", err)
	}
	if _, err := f.users.RefreshToken(f.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: me.tokens.GetRefreshToken()}); err != nil {
		t.Fatalf("own refresh after change: %v", err)
	}
	list, err := f.users.ListSessions(me.ctx(f), &userv1.ListSessionsRequest{})
	if err != nil || len(list.GetSessions()) != 1 || list.GetSessions()[0].GetSessionId() != me.tokens.GetSessionId() {
		t.Fatalf("sessions after change = %v, %v", list.GetSessions(), err)
	}
	// Another user's sessions are untouched.
	if _, err := f.users.GetCurrentUser(bystander.ctx(f), &userv1.GetCurrentUserRequest{}); err != nil {
		t.Fatalf("another user after change: %v", err)
	}
	// Only the new password signs in.
	_, err = f.users.Login(f.ctx(""), &userv1.LoginRequest{Login: "changer", Password: testPassword})
	wantCode(t, err, codes.Unauthenticated)
	f.login("changer", newPassword, "")
}

func TestChangePasswordRateLimited(t *testing.T) {
	f := newFixture(t, func(o *user.Options, _ *platformtest.Env) {
		o.Limiter.PerLogin, o.Limiter.PerAddr, o.Limiter.Window = 3, 100, time.Minute
	})
	me := f.register("guessed")
	change := func(current string) error {
		_, err := f.users.ChangePassword(me.ctx(f), &userv1.ChangePasswordRequest{CurrentPassword: current, NewPassword: "another passphrase"})
		return err
	}
	for range 3 {
		wantInvalid(t, change("wrong guess"), "current_password")
	}
	// The check shares the account's sign-in allowance: the right password
	// is refused too, and so is a sign-in.
	wantCode(t, change(testPassword), codes.ResourceExhausted)
	_, err := f.users.Login(f.ctx(""), &userv1.LoginRequest{Login: "guessed", Password: testPassword})
	wantCode(t, err, codes.ResourceExhausted)
}
