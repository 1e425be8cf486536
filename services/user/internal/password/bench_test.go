package password

import (
	"context"
	"testing"
)

// BenchmarkVerify is one argon2id verification at DefaultParams.
func BenchmarkVerify(b *testing.B) {
	h, err := NewHasher(DefaultParams(), 1)
	if err != nil {
		b.Fatal(err)
	}
	enc, err := h.Hash(context.Background(), "correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if ok, err := h.Verify(context.Background(), enc, "correct horse battery"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
