package user_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/user"
)

func TestLoginRateLimitPerLogin(t *testing.T) {
	const window = 2 * time.Second
	f := newFixture(t, func(o *user.Options, _ *platformtest.Env) {
		o.Limiter.PerLogin, o.Limiter.PerAddr, o.Limiter.Window = 3, 100, window
	})
	f.register("limited")
	login := func(pw string) error {
		_, err := f.users.Login(f.ctx(""), &userv1.LoginRequest{Login: "Limited", Password: pw})
		return err
	}
	// Successful sign-ins do not use up the allowance.
	for range 5 {
		if err := login(testPassword); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		err := login("wrong password")
		wantCode(t, err, codes.Unauthenticated)
		if r := reason(err); r != "BAD_CREDENTIALS" {
			t.Fatalf("failure %d: reason = %q", i, r)
		}
	}
	// The 4th failure inside the window is refused before the password is checked...
	err := login("wrong password")
	wantCode(t, err, codes.ResourceExhausted)
	d, derr := retryDelay(err)
	if derr != nil || d <= 0 || d > window {
		t.Fatalf("retry delay = %v, %v", d, derr)
	}
	// ...and so is the right password, until the window passes.
	wantCode(t, login(testPassword), codes.ResourceExhausted)
	platformtest.Eventually(t, 3*window, func() bool { return login(testPassword) == nil }, "sign-in after the window")
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	f := newFixture(t, func(o *user.Options, _ *platformtest.Env) {
		o.Limiter.PerLogin, o.Limiter.PerAddr, o.Limiter.Window = 100, 3, time.Minute
	})
	f.register("victim")
	from := func(addr string) context.Context {
		// The gateway forwards the client's address in x-forwarded-for.
		return metadata.AppendToOutgoingContext(f.ctx(""), "x-forwarded-for", addr)
	}
	// Unknown logins count against the address like wrong passwords.
	for _, l := range []string{"nobody1", "nobody2", "victim"} {
		_, err := f.users.Login(from("203.0.113.7"), &userv1.LoginRequest{Login: l, Password: "guess guess"})
		wantCode(t, err, codes.Unauthenticated)
		if r := reason(err); r != "BAD_CREDENTIALS" {
			t.Fatalf("%s: reason = %q", l, r)
		}
	}
	_, err := f.users.Login(from("203.0.113.7"), &userv1.LoginRequest{Login: "victim", Password: testPassword})
	wantCode(t, err, codes.ResourceExhausted)
	// Only the entry the gateway appended counts: a client cannot escape
	// the limit by sending its own x-forwarded-for.
	_, err = f.users.Login(from("10.9.9.9, 203.0.113.7"), &userv1.LoginRequest{Login: "victim", Password: testPassword})
	wantCode(t, err, codes.ResourceExhausted)
	// Another address is not affected.
	if _, err := f.users.Login(from("198.51.100.1"), &userv1.LoginRequest{Login: "victim", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
}

func TestLoginUnknownAndWrongPasswordLookAlike(t *testing.T) {
	f := newFixture(t)
	f.register("existing")
	_, errWrong := f.users.Login(f.ctx(""), &userv1.LoginRequest{Login: "existing", Password: "not the password"})
	_, errUnknown := f.users.Login(f.ctx(""), &userv1.LoginRequest{Login: "missing", Password: "not the password"})
	_, errOdd := f.users.Login(f.ctx(""), &userv1.LoginRequest{Login: "we ird/login", Password: "not the password"})
	for _, err := range []error{errWrong, errUnknown, errOdd} {
		wantCode(t, err, codes.Unauthenticated)
		if err.Error() != errWrong.Error() || reason(err) != "BAD_CREDENTIALS" {
			t.Fatalf("errors differ: %v vs %v", err, errWrong)
		}
	}
}
