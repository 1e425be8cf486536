package password

import (
	"context"
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h, err := NewHasher(Params{Time: 1, MemoryKiB: 1024, Threads: 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("encoded = %q", enc)
	}
	if strings.Contains(enc, "correct horse") {
		t.Fatal("hash contains the password")
	}
	for _, tc := range []struct {
		name, enc, pw string
		want          bool
	}{
		{"right password", enc, "correct horse", true},
		{"wrong password", enc, "correct horsE", false},
		{"unknown account", "", "accord-dummy-password", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Verify(ctx, tc.enc, tc.pw)
			if err != nil || got != tc.want {
				t.Fatalf("Verify = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	enc2, _ := h.Hash(ctx, "correct horse")
	if enc2 == enc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestVerifyMalformed(t *testing.T) {
	h, err := NewHasher(Params{Time: 1, MemoryKiB: 64, Threads: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []string{"x", "$argon2id$v=19$m=0,t=0,p=0$AA$AA", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		if ok, err := h.Verify(context.Background(), enc, "pw"); ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want an error", enc, ok, err)
		}
	}
}
