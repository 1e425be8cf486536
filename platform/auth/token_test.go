package auth_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
)

func TestTokenRoundTrip(t *testing.T) {
	s := auth.NewSigner(auth.GenerateKey())
	v := auth.NewVerifier(s.Public())
	tok, exp, err := s.UserToken("u1", "s1", true, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != "u1" || p.SessionID != "s1" || !p.Operator || p.IsService() || !p.ExpiresAt.Equal(exp) {
		t.Fatalf("got %+v", p)
	}
	stok, _, err := s.ServiceToken("server", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := v.Verify(stok)
	if err != nil || !sp.IsService() || sp.Service != "server" || sp.UserID != "" {
		t.Fatalf("service token: %+v %v", sp, err)
	}
}

func TestVerifyRejects(t *testing.T) {
	s := auth.NewSigner(auth.GenerateKey())
	other := auth.NewSigner(auth.GenerateKey())
	v := auth.NewVerifier(s.Public())
	good, _, _ := s.UserToken("u1", "s1", false, time.Minute)
	foreign, _, _ := other.UserToken("u1", "s1", false, time.Minute)
	expired, _, _ := s.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }).UserToken("u1", "s1", false, time.Minute)
	parts := strings.Split(good, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	elevated := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"accord","sub":"u1","sid":"s1","op":true,"iat":1,"exp":99999999999,"jti":"x"}`)) + "." + parts[2]

	tests := []struct {
		name, token, reason string
	}{
		{"empty", "", "TOKEN_INVALID"},
		{"garbage", "not-a-token", "TOKEN_INVALID"},
		{"signed by another key", foreign, "TOKEN_INVALID"},
		{"expired", expired, "TOKEN_EXPIRED"},
		{"alg none", none, "TOKEN_INVALID"},
		{"claims changed after signing", elevated, "TOKEN_INVALID"},
		{"truncated signature", good[:len(good)-4], "TOKEN_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(tt.token)
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.KindUnauthenticated || e.Reason != tt.reason {
				t.Fatalf("got %v, want unauthenticated %s", err, tt.reason)
			}
		})
	}
}

func TestCachedTokenStillExpires(t *testing.T) {
	s := auth.NewSigner(auth.GenerateKey())
	now := time.Now()
	v := auth.NewVerifier(s.Public()).WithClock(func() time.Time { return now })
	tok, _, _ := s.UserToken("u1", "s1", false, time.Minute)
	if _, err := v.Verify(tok); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := v.Verify(tok); err == nil {
		t.Fatal("expired token accepted from cache")
	}
}

// BenchmarkVerify measures token verification as the auth interceptor does
// it: "cold" checks the signature of a token never seen, "cached" is a
// client's repeated calls with the same token.
func BenchmarkVerify(b *testing.B) {
	s := auth.NewSigner(auth.GenerateKey())
	b.Run("cold", func(b *testing.B) {
		toks := make([]string, 1000)
		for i := range toks {
			toks[i], _, _ = s.UserToken("u1", "s1", false, time.Hour)
		}
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			v := auth.NewVerifier(s.Public())
			if _, err := v.Verify(toks[i%len(toks)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		v := auth.NewVerifier(s.Public())
		tok, _, _ := s.UserToken("u1", "s1", false, time.Hour)
		for b.Loop() {
			if _, err := v.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A verifier by kind takes user tokens only under the user key and service
// tokens only under the service key: a service holding the service signer
// cannot mint a user token, nor the other way round.
func TestVerifierByKind(t *testing.T) {
	users := auth.NewSigner(auth.GenerateKey())
	services := auth.NewSigner(auth.GenerateKey())
	v := auth.NewVerifierByKind(users.Public(), services.Public())
	userTok, _, _ := users.UserToken("u1", "s1", false, time.Minute)
	svcTok, _, _ := services.ServiceToken("presence", time.Minute)
	forgedUser, _, _ := services.UserToken("u1", "s1", true, time.Minute)
	svcUnderUserKey, _, _ := users.ServiceToken("presence", time.Minute)
	if p, err := v.Verify(userTok); err != nil || p.UserID != "u1" {
		t.Errorf("user token: %+v, %v", p, err)
	}
	if p, err := v.Verify(svcTok); err != nil || p.Service != "presence" {
		t.Errorf("service token: %+v, %v", p, err)
	}
	for name, tok := range map[string]string{"user token signed with the service key": forgedUser, "service token signed with the user key": svcUnderUserKey} {
		_, err := v.Verify(tok)
		if e, ok := errs.As(err); !ok || e.Reason != "TOKEN_INVALID" {
			t.Errorf("%s: got %v, want TOKEN_INVALID", name, err)
		}
	}
}

func TestPublicKeyRoundTrip(t *testing.T) {
	k := auth.GenerateKey()
	pub := k.Public().(ed25519.PublicKey)
	path := filepath.Join(t.TempDir(), "verify.pem")
	if err := os.WriteFile(path, auth.MarshalPublicKey(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := auth.LoadPublicKey(path)
	if err != nil || !got.Equal(pub) {
		t.Fatalf("LoadPublicKey = %x, %v; want %x", got, err, pub)
	}
	// A private key is not a verify key.
	if _, err := auth.ParsePublicKey(auth.MarshalKey(k)); err == nil {
		t.Fatal("a private key parsed as a verify key")
	}
}
