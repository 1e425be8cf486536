// Package auth issues and verifies Accord's access tokens: JWTs signed with
// Ed25519 (alg EdDSA). The user service alone signs user tokens, with the
// signing key; every service verifies them with its public half, and signs
// short-lived service tokens for calls between services with a separate
// service key, so that no service but the user service can mint user
// tokens (NewVerifierByKind).
package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/accordchat/accord/platform/errs"
)

// Issuer is the iss claim of every Accord token.
const Issuer = "accord"

// header is the only JWT header Accord accepts; fixing it byte for byte rules
// out algorithm confusion ("none", HS256 with the public key, ...).
var header = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","typ":"JWT"}`))

// claims is the token payload.
type claims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Sid string `json:"sid,omitempty"`
	Op  bool   `json:"op,omitempty"`
	Svc string `json:"svc,omitempty"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
}

// Principal is who a verified token speaks for.
type Principal struct {
	// UserID is the user's id; empty for a service.
	UserID string
	// SessionID is the login session; empty for a service.
	SessionID string
	// Operator is true for accounts with the operator role.
	Operator bool
	// Service names the calling service for service tokens.
	Service string
	// ExpiresAt is when the token stops being valid.
	ExpiresAt time.Time
}

// IsService reports whether the principal is another Accord service.
func (p Principal) IsService() bool { return p.Service != "" }

// Signer signs tokens.
type Signer struct {
	key ed25519.PrivateKey
	now func() time.Time
}

// NewSigner returns a Signer using key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key, now: time.Now}
}

// WithClock returns a copy of s that reads the time from now (for tests).
func (s *Signer) WithClock(now func() time.Time) *Signer {
	c := *s
	c.now = now
	return &c
}

// Public returns the public key matching the signer.
func (s *Signer) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// UserToken signs an access token for a user session.
func (s *Signer) UserToken(userID, sessionID string, operator bool, ttl time.Duration) (string, time.Time, error) {
	return s.sign(claims{Sub: userID, Sid: sessionID, Op: operator}, ttl)
}

// ServiceToken signs a token that identifies an Accord service.
func (s *Signer) ServiceToken(service string, ttl time.Duration) (string, time.Time, error) {
	return s.sign(claims{Sub: "service:" + service, Svc: service}, ttl)
}

func (s *Signer) sign(c claims, ttl time.Duration) (string, time.Time, error) {
	now := s.now()
	exp := now.Add(ttl)
	var jti [12]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", time.Time{}, err
	}
	c.Iss, c.Iat, c.Exp, c.Jti = Issuer, now.Unix(), exp.Unix(), hex.EncodeToString(jti[:])
	body, err := json.Marshal(c)
	if err != nil {
		return "", time.Time{}, err
	}
	signing := header + "." + base64.RawURLEncoding.EncodeToString(body)
	sig := ed25519.Sign(s.key, []byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), time.Unix(c.Exp, 0), nil
}

// Verifier checks tokens. Verified tokens are cached until they expire, so a
// client's repeated calls cost a map lookup, not a signature check.
type Verifier struct {
	pub    ed25519.PublicKey // verifies user tokens
	svcPub ed25519.PublicKey // verifies service tokens
	now    func() time.Time

	mu    sync.RWMutex
	cache map[string]Principal
}

// maxCached bounds the verified-token cache; past it the cache starts over.
const maxCached = 50_000

// NewVerifier returns a Verifier for tokens of both kinds signed by the key
// matching pub.
func NewVerifier(pub ed25519.PublicKey) *Verifier {
	return NewVerifierByKind(pub, pub)
}

// NewVerifierByKind returns a Verifier that accepts user tokens signed by
// the key matching user and service tokens signed by the key matching
// service: a holder of the service key cannot mint user tokens, nor the
// user key service tokens.
func NewVerifierByKind(user, service ed25519.PublicKey) *Verifier {
	return &Verifier{pub: user, svcPub: service, now: time.Now, cache: make(map[string]Principal)}
}

// WithClock returns a Verifier with its own cache that reads the time from now.
func (v *Verifier) WithClock(now func() time.Time) *Verifier {
	return &Verifier{pub: v.pub, svcPub: v.svcPub, now: now, cache: make(map[string]Principal)}
}

// Verify checks a token's signature, issuer and expiry and returns its principal.
// Every failure is an errs.Unauthenticated error that does not say which check failed
// beyond "expired" or "invalid".
func (v *Verifier) Verify(token string) (Principal, error) {
	now := v.now()
	v.mu.RLock()
	p, ok := v.cache[token]
	v.mu.RUnlock()
	if ok {
		if !now.Before(p.ExpiresAt) {
			return Principal{}, errs.Unauthenticated("access token expired").WithReason("TOKEN_EXPIRED")
		}
		return p, nil
	}
	p, err := v.verify(token, now)
	if err != nil {
		return Principal{}, err
	}
	v.mu.Lock()
	if len(v.cache) >= maxCached {
		clear(v.cache)
	}
	v.cache[token] = p
	v.mu.Unlock()
	return p, nil
}

func (v *Verifier) verify(token string, now time.Time) (Principal, error) {
	invalid := errs.Unauthenticated("invalid access token").WithReason("TOKEN_INVALID")
	if len(token) > 4096 {
		return Principal{}, invalid
	}
	h, rest, ok := strings.Cut(token, ".")
	if !ok || h != header {
		return Principal{}, invalid
	}
	body, sig64, ok := strings.Cut(rest, ".")
	if !ok {
		return Principal{}, invalid
	}
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Principal{}, invalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return Principal{}, invalid
	}
	var c claims
	if err := json.Unmarshal(raw, &c); err != nil {
		return Principal{}, invalid
	}
	// The kind of token picks the key it must be signed with.
	pub := v.pub
	if c.Svc != "" {
		pub = v.svcPub
	}
	if !ed25519.Verify(pub, []byte(token[:len(h)+1+len(body)]), sig) || c.Iss != Issuer || c.Sub == "" {
		return Principal{}, invalid
	}
	exp := time.Unix(c.Exp, 0)
	if !now.Before(exp) {
		return Principal{}, errs.Unauthenticated("access token expired").WithReason("TOKEN_EXPIRED")
	}
	if c.Svc != "" {
		return Principal{Service: c.Svc, ExpiresAt: exp}, nil
	}
	if c.Sid == "" {
		return Principal{}, invalid
	}
	return Principal{UserID: c.Sub, SessionID: c.Sid, Operator: c.Op, ExpiresAt: exp}, nil
}

// String describes the principal for logs.
func (p Principal) String() string {
	if p.IsService() {
		return fmt.Sprintf("service:%s", p.Service)
	}
	return fmt.Sprintf("user:%s", p.UserID)
}
