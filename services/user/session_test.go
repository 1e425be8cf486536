package user_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/services/user"
)

func TestConcurrentRegistrationSameLogin(t *testing.T) {
	f := newFixture(t)
	logins := []string{"Racer", "rAcEr"}
	errsc := make([]error, len(logins))
	var wg sync.WaitGroup
	for i, l := range logins {
		wg.Go(func() {
			_, errsc[i] = f.users.Register(f.ctx(""), &userv1.RegisterRequest{Login: l, Password: testPassword})
		})
	}
	wg.Wait()
	var won, lost int
	for _, err := range errsc {
		switch {
		case err == nil:
			won++
		case status(err) == codes.AlreadyExists:
			lost++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if won != 1 || lost != 1 {
		t.Fatalf("won %d, lost %d; want one of each", won, lost)
	}
	store, err := user.OpenStore(f.ctx(""), f.env.Deps("user"))
	if err != nil {
		t.Fatal(err)
	}
	found, err := store.SearchUsers(f.ctx(""), "racer", "", 10)
	if err != nil || len(found) != 1 {
		t.Fatalf("accounts for racer = %v, %v", found, err)
	}
}

func TestSessionLifecycle(t *testing.T) {
	f := newFixture(t)
	reg := f.register("Cycle.User")
	if reg.user.GetLogin() != "Cycle.User" || reg.tokens.GetSessionId() == "" {
		t.Fatalf("register = %v %v", reg.user, reg.tokens)
	}

	// Login opens a second session, in any case of the login.
	login, err := f.users.Login(f.ctx(""), &userv1.LoginRequest{Login: "cycle.user", Password: testPassword, Client: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	tok := login.GetTokens()
	if tok.GetSessionId() == reg.tokens.GetSessionId() {
		t.Fatal("login reused the registration's session")
	}
	if len(tok.GetRefreshToken()) < 43 || time.Until(tok.GetAccessTokenExpireTime().AsTime()) > f.env.Config.AccessTokenTTL+time.Second ||
		!tok.GetRefreshTokenExpireTime().AsTime().After(tok.GetAccessTokenExpireTime().AsTime()) {
		t.Fatalf("tokens = %v", tok)
	}
	// Only the hash of the refresh token is stored.
	if f.stored(tok.GetRefreshToken()) {
		t.Fatal("refresh token stored in clear")
	}

	// A protected call works with the access token.
	me, err := f.users.GetCurrentUser(f.ctx(tok.GetAccessToken()), &userv1.GetCurrentUserRequest{})
	if err != nil || me.GetUser().GetId() != reg.user.GetId() {
		t.Fatalf("GetCurrentUser = %v, %v", me, err)
	}
	_, err = f.users.GetCurrentUser(f.ctx(""), &userv1.GetCurrentUserRequest{})
	wantCode(t, err, codes.Unauthenticated)

	// Refresh rotates the refresh token within the session.
	ref, err := f.users.RefreshToken(f.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: tok.GetRefreshToken()})
	if err != nil {
		t.Fatal(err)
	}
	rt := ref.GetTokens()
	if rt.GetSessionId() != tok.GetSessionId() || rt.GetRefreshToken() == tok.GetRefreshToken() || rt.GetAccessToken() == tok.GetAccessToken() {
		t.Fatalf("refresh = %v", rt)
	}
	if _, err := f.users.GetCurrentUser(f.ctx(rt.GetAccessToken()), &userv1.GetCurrentUserRequest{}); err != nil {
		t.Fatal(err)
	}

	// The old refresh token is refused, and its reuse ends the session:
	// the rotated refresh token and the session's access tokens stop working.
	_, err = f.users.RefreshToken(f.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: tok.GetRefreshToken()})
	wantCode(t, err, codes.Unauthenticated)
	if r := reason(err); r != "REFRESH_TOKEN_REUSED" {
		t.Fatalf("reason = %q", r)
	}
	_, err = f.users.RefreshToken(f.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: rt.GetRefreshToken()})
	wantCode(t, err, codes.Unauthenticated)
	_, err = f.users.GetCurrentUser(f.ctx(rt.GetAccessToken()), &userv1.GetCurrentUserRequest{})
	wantCode(t, err, codes.Unauthenticated)
	if r := reason(err); r != "SESSION_REVOKED" {
		t.Fatalf("reason = %q", r)
	}

	// An unknown refresh token is refused.
	_, err = f.users.RefreshToken(f.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: strings.Repeat("A", 43)})
	wantCode(t, err, codes.Unauthenticated)

	// The registration's session is untouched; log it out.
	regCtx := f.ctx(reg.tokens.GetAccessToken())
	if _, err := f.users.GetCurrentUser(regCtx, &userv1.GetCurrentUserRequest{}); err != nil {
		t.Fatal(err)
	}
	// Another service built on the same platform, with its own server and
	// interceptor chain, accepts the token before logout...
	other := f.otherService(t)
	if _, err := other.GetCurrentUser(regCtx, &userv1.GetCurrentUserRequest{}); err != nil {
		t.Fatalf("other service before logout: %v", err)
	}
	health := healthpb.NewHealthClient(f.conn)
	if _, err := health.Check(regCtx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.users.Logout(regCtx, &userv1.LogoutRequest{}); err != nil {
		t.Fatal(err)
	}
	// ...and refuses it at once after logout, long before it expires.
	_, err = other.GetCurrentUser(regCtx, &userv1.GetCurrentUserRequest{})
	wantCode(t, err, codes.Unauthenticated)
	if r := reason(err); r != "SESSION_REVOKED" {
		t.Fatalf("other service: reason = %q", r)
	}
	_, err = f.users.Logout(regCtx, &userv1.LogoutRequest{})
	wantCode(t, err, codes.Unauthenticated)
	_, err = f.users.RefreshToken(f.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: reg.tokens.GetRefreshToken()})
	wantCode(t, err, codes.Unauthenticated)
	store, err := user.OpenStore(f.ctx(""), f.env.Deps("user"))
	if err != nil {
		t.Fatal(err)
	}
	if sess, err := store.SessionByID(f.ctx(""), reg.tokens.GetSessionId()); err != nil || !sess.Revoked {
		t.Fatalf("session after logout = %+v, %v", sess, err)
	}

	// No response carries the password hash.
	js, _ := protojson.Marshal(login)
	if strings.Contains(string(js), "argon2") || strings.Contains(string(js), testPassword) {
		t.Fatalf("login response leaks credentials: %s", js)
	}
}

// otherService serves a second user service on its own gRPC server built
// from the same environment (same key, same Redis), standing in for any
// other Accord service's interceptor.
func (f *fixture) otherService(t *testing.T) userv1.UserServiceClient {
	d := f.env.Deps("other")
	if d.SQLite != nil {
		d.SQLite = f.env.SQLite("user") // the same data
	}
	svc, err := user.NewWithOptions(f.ctx(""), d, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	conn := f.env.Serve(func(s *grpc.Server) { svc.Register(s) }, user.OpenMethods()...)
	return userv1.NewUserServiceClient(conn)
}

// Concurrent uses of one refresh token: at most one rotates it; the others
// are reuse, which ends the session, so whatever the winner got stops working.
func TestConcurrentRefreshIsReuse(t *testing.T) {
	f := newFixture(t)
	a := f.register("double")
	var wg sync.WaitGroup
	res := make([]*userv1.RefreshTokenResponse, 5)
	codesc := make([]codes.Code, 5)
	for i := range codesc {
		wg.Go(func() {
			var err error
			res[i], err = f.users.RefreshToken(f.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: a.tokens.GetRefreshToken()})
			codesc[i] = status(err)
		})
	}
	wg.Wait()
	ok := 0
	for i, c := range codesc {
		switch c {
		case codes.OK:
			ok++
			_, err := f.users.RefreshToken(f.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: res[i].GetTokens().GetRefreshToken()})
			wantCode(t, err, codes.Unauthenticated)
			_, err = f.users.GetCurrentUser(f.ctx(res[i].GetTokens().GetAccessToken()), &userv1.GetCurrentUserRequest{})
			wantCode(t, err, codes.Unauthenticated)
		case codes.Unauthenticated:
		default:
			t.Fatalf("code %v", c)
		}
	}
	if ok > 1 {
		t.Fatalf("%d refreshes of one token succeeded, want at most 1", ok)
	}
	_, err := f.users.GetCurrentUser(a.ctx(f), &userv1.GetCurrentUserRequest{})
	wantCode(t, err, codes.Unauthenticated)
}
