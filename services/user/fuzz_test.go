package user_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
)

// FuzzValidateRegister sends arbitrary logins and display names through the
// whole chain (protovalidate, then the service's own checks): it must never
// fail with anything but OK, INVALID_ARGUMENT naming the field at fault, or
// ALREADY_EXISTS; what it accepts must be stored normalised; and what both
// rules allow must be accepted.
func FuzzValidateRegister(f *testing.F) {
	for _, seed := range [][2]string{
		{"alice", "Alice"}, {"Bob_2", "  Bob  "}, {"a.b-c", ""}, {"ab", "x"}, {"with space", "n"},
		{"ok_login", "\u2028"}, {"ok_login2", "tab\there"}, {"émile", "Émile"}, {"ok3", "   "},
		{strings.Repeat("x", 33), "long"}, {"ok4", strings.Repeat("é", 32)}, {"ok5", " " + strings.Repeat("a", 32)},
	} {
		f.Add(seed[0], seed[1])
	}
	fx := newFixture(f)
	reader := fx.register("fuzz_reader")
	readerToken := reader.tokens.GetAccessToken()
	f.Fuzz(func(t *testing.T, login, name string) {
		if !utf8.ValidString(login) || !utf8.ValidString(name) {
			t.Skip("proto strings are UTF-8; such a request cannot be sent")
		}
		// fx.ctx registers a cleanup on the fuzz target's F, which a fuzz
		// body may not do: use contexts of the body's own.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := fx.users.Register(ctx, &userv1.RegisterRequest{Login: login, Password: testPassword, DisplayName: name})
		switch status(err) {
		case codes.OK:
			u := res.GetUser()
			if !validLogin(login) || u.GetLogin() != login {
				t.Fatalf("accepted login %q as %q", login, u.GetLogin())
			}
			want := strings.TrimSpace(name)
			if want == "" {
				want = login
			}
			if u.GetDisplayName() != want || utf8.RuneCountInString(want) > 32 {
				t.Fatalf("display name %q stored as %q", name, u.GetDisplayName())
			}
		case codes.InvalidArgument:
			fields := badFields(err)
			if len(fields) == 0 {
				t.Fatalf("INVALID_ARGUMENT without a field: %v", err)
			}
			for _, fl := range fields {
				if fl != "login" && fl != "display_name" {
					t.Fatalf("INVALID_ARGUMENT names %q: %v", fl, err)
				}
			}
			if validLogin(login) && validName(name) {
				t.Fatalf("refused a valid request (%q, %q): %v", login, name, err)
			}
		case codes.AlreadyExists:
			if !validLogin(login) {
				t.Fatalf("ALREADY_EXISTS for an invalid login %q", login)
			}
		default:
			t.Fatalf("Register(%q, %q) = %v", login, name, err)
		}
		_, err = fx.users.LookupUser(auth.WithBearer(ctx, readerToken), &userv1.LookupUserRequest{Login: login})
		switch c := status(err); c {
		case codes.OK, codes.NotFound, codes.InvalidArgument:
		default:
			t.Fatalf("LookupUser(%q) = %v", login, err)
		}
	})
}

// validLogin is the login rule written out independently of the service.
func validLogin(s string) bool {
	if len(s) < 3 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", r) {
			return false
		}
	}
	return true
}

// validName is the display name rule: at most 32 characters as sent, all
// graphic (letters, marks, numbers, punctuation, symbols, spaces).
func validName(s string) bool {
	if utf8.RuneCountInString(s) > 32 {
		return false
	}
	for _, r := range s {
		if !unicode.IsGraphic(r) {
			return false
		}
	}
	return true
}
