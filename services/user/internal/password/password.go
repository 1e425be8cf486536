// Package password hashes and checks passwords with argon2id. Hashes are
// stored in the PHC string format ("$argon2id$v=19$m=...,t=...,p=...$salt$key")
// so the cost can be raised later without invalidating existing hashes.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params is the argon2id cost.
type Params struct {
	// Time is the number of passes over memory.
	Time uint32
	// MemoryKiB is the memory used by one hash, in KiB.
	MemoryKiB uint32
	// Threads is the parallelism degree.
	Threads uint8
}

// DefaultParams is the OWASP-recommended minimum for argon2id (t=2, 19 MiB,
// p=1): a few tens of milliseconds per hash, little enough memory to serve
// many concurrent sign-ins.
func DefaultParams() Params { return Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1} }

const (
	saltLen = 16
	keyLen  = 32
)

// ErrMalformed reports a stored hash that is not an argon2id PHC string.
var ErrMalformed = errors.New("password: malformed hash")

// Hasher hashes and verifies passwords. It bounds how many hashes run at
// once, because each one holds Params.MemoryKiB of memory: a burst of
// sign-ins queues instead of exhausting memory.
type Hasher struct {
	p     Params
	sem   chan struct{}
	dummy string
}

// NewHasher returns a Hasher with cost p that runs at most concurrent hashes
// at a time (at least 1).
func NewHasher(p Params, concurrent int) (*Hasher, error) {
	h := &Hasher{p: p, sem: make(chan struct{}, max(concurrent, 1))}
	var err error
	// The dummy hash lets a sign-in with an unknown login cost as much as
	// one with a wrong password, so timing does not reveal which logins exist.
	if h.dummy, err = h.Hash(context.Background(), "accord-dummy-password"); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns the PHC-encoded argon2id hash of pw with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, h.p.Time, h.p.MemoryKiB, h.p.Threads, keyLen)
	h.release()
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.p.MemoryKiB, h.p.Time, h.p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches the encoded hash. An empty encoded hash
// (unknown account) is checked against a dummy hash and never matches.
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) (bool, error) {
	known := encoded != ""
	if !known {
		encoded = h.dummy
	}
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	h.release()
	return known && subtle.ConstantTimeCompare(got, want) == 1, nil
}

func decode(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformed
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, ErrMalformed
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil ||
		p.Time == 0 || p.Threads == 0 || p.MemoryKiB < 8*uint32(p.Threads) {
		return Params{}, nil, nil, ErrMalformed
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) == 0 {
		return Params{}, nil, nil, ErrMalformed
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return Params{}, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
}
