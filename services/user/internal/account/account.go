// Package account is the user service's domain: accounts, sign-in sessions
// and relationships between users, the rules that govern them, and the
// interfaces of the stores and helpers the Service needs. It has no I/O
// dependencies of its own.
package account

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/accordchat/accord/platform/errs"
)

// User is an account. PasswordHash never leaves the service.
type User struct {
	ID           string
	Login        string
	DisplayName  string
	StatusText   string
	Operator     bool
	CreatedAt    time.Time
	PasswordHash string
	// Avatar is the hash of the current avatar picture; empty: none.
	Avatar string
}

// Session is one signed-in device.
type Session struct {
	ID        string
	UserID    string
	Client    string
	CreatedAt time.Time
	// LastUsedAt is when tokens were last issued for it; zero when never
	// recorded (sessions opened before it was kept).
	LastUsedAt time.Time
	Revoked    bool
}

// RefreshToken is one issued refresh token, known by its SHA-256 hash only.
type RefreshToken struct {
	Hash      string
	SessionID string
	UserID    string
	ExpiresAt time.Time
	Spent     bool
}

// RelType is how a user relates to another, seen from the first user.
type RelType int

// Relationship types. RelNone is the absence of a relationship.
const (
	RelNone RelType = iota
	RelFriend
	RelIncoming
	RelOutgoing
	RelBlocked
)

// String names the type as stored.
func (t RelType) String() string {
	switch t {
	case RelFriend:
		return "friend"
	case RelIncoming:
		return "incoming"
	case RelOutgoing:
		return "outgoing"
	case RelBlocked:
		return "blocked"
	}
	return "none"
}

// ParseRelType is the inverse of RelType.String.
func ParseRelType(s string) RelType {
	for _, t := range []RelType{RelFriend, RelIncoming, RelOutgoing, RelBlocked} {
		if t.String() == s {
			return t
		}
	}
	return RelNone
}

// Relationship is one side of a pair: how UserID relates to OtherID.
type Relationship struct {
	UserID    string
	OtherID   string
	Type      RelType
	UpdatedAt time.Time
}

// View is a relationship as its owner sees it, with the other's profile.
type View struct {
	Other     User
	Type      RelType
	UpdatedAt time.Time
}

// Check tells what a user shares with another (CheckRelationships).
type Check struct {
	OtherID string
	Friend  bool
	Blocked bool
	Exists  bool
}

// ProfileUpdate holds the profile fields to change; nil means unchanged.
type ProfileUpdate struct {
	DisplayName *string
	StatusText  *string
}

// Limits of the profile fields, in characters.
const (
	MinLoginLen       = 3
	MaxLoginLen       = 32
	MinPasswordLen    = 8
	MaxPasswordLen    = 128
	MaxDisplayNameLen = 32
	MaxStatusTextLen  = 128
)

// LoginKey is the case-insensitive form of a login, unique among accounts.
func LoginKey(login string) string { return strings.ToLower(login) }

// IsLoginChar reports the characters a login may hold.
func IsLoginChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-'
}

// ValidLoginChars reports whether s is non-empty and only login characters;
// it is also the rule for lookups and search prefixes.
func ValidLoginChars(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !IsLoginChar(r) {
			return false
		}
	}
	return true
}

// ValidateLogin checks a new login; field names the request field.
func ValidateLogin(field, login string) error {
	if n := len(login); n < MinLoginLen || n > MaxLoginLen {
		return errs.Invalid(field, "must be %d to %d characters", MinLoginLen, MaxLoginLen)
	}
	if !ValidLoginChars(login) {
		return errs.Invalid(field, "may only hold letters, digits, '_', '.' and '-'")
	}
	return nil
}

// ValidatePassword checks a new password's length in characters.
func ValidatePassword(field, pw string) error {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLen || n > MaxPasswordLen {
		return errs.Invalid(field, "must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// printable reports valid UTF-8 text of graphic characters and spaces only:
// no control, format, private-use, unassigned, line or paragraph separator
// characters (a superset of the proto's \p{C}\p{Zl}\p{Zp} rule).
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsGraphic(r) {
			return false
		}
	}
	return true
}

// NormalizeDisplayName trims s and checks it: 1 to 32 printable characters.
func NormalizeDisplayName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errs.Invalid(field, "must not be empty")
	}
	if !printable(s) {
		return "", errs.Invalid(field, "must be printable characters")
	}
	if utf8.RuneCountInString(s) > MaxDisplayNameLen {
		return "", errs.Invalid(field, "must be at most %d characters", MaxDisplayNameLen)
	}
	return s, nil
}

// NormalizeStatusText trims s and checks it: up to 128 printable characters.
func NormalizeStatusText(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if !printable(s) {
		return "", errs.Invalid(field, "must be printable characters")
	}
	if utf8.RuneCountInString(s) > MaxStatusTextLen {
		return "", errs.Invalid(field, "must be at most %d characters", MaxStatusTextLen)
	}
	return s, nil
}

// Errors the stores return for the Service to recognise.
var (
	// ErrLoginTaken is a registration whose login exists in any case.
	ErrLoginTaken = errs.AlreadyExists("this login is taken").WithReason("LOGIN_TAKEN")
	// ErrTokenSpent is a refresh token that was already rotated.
	ErrTokenSpent = errs.Unauthenticated("refresh token already used; session ended").WithReason("REFRESH_TOKEN_REUSED")
)

// UserStore keeps accounts. Missing users are errs.NotFound errors.
type UserStore interface {
	// CreateUser inserts u and sets its ID; ErrLoginTaken when the login exists.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (User, error)
	UserByLogin(ctx context.Context, login string) (User, error)
	// UsersByIDs returns the users found, in no particular order.
	UsersByIDs(ctx context.Context, ids []string) ([]User, error)
	// SearchUsers lists users whose login key starts with prefix and is
	// greater than after, in login key order.
	SearchUsers(ctx context.Context, prefix, after string, limit int) ([]User, error)
	UpdateProfile(ctx context.Context, id string, upd ProfileUpdate) (User, error)
	SetOperator(ctx context.Context, id string, operator bool) (User, error)
	// SetPasswordHash replaces the user's password hash.
	SetPasswordHash(ctx context.Context, id, hash string) error
	// SetAvatar sets the user's avatar hash (empty: none).
	SetAvatar(ctx context.Context, id, avatar string) (User, error)
}

// SessionStore keeps sessions and their refresh tokens.
type SessionStore interface {
	// CreateSession inserts s and sets its ID.
	CreateSession(ctx context.Context, s *Session) error
	SessionByID(ctx context.Context, id string) (Session, error)
	// RevokeSession marks the session revoked; it reports NotFound when the
	// session is not the user's.
	RevokeSession(ctx context.Context, userID, id string) error
	// ListSessions returns the user's sessions that are not revoked, in no
	// particular order.
	ListSessions(ctx context.Context, userID string) ([]Session, error)
	// TouchSession records that the session's tokens were issued at t.
	TouchSession(ctx context.Context, id string, t time.Time) error
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// SpendRefreshToken marks the token with hash spent and returns it; an
	// unknown token is NotFound, an already spent one ErrTokenSpent (with
	// the token, so the caller can end its session).
	SpendRefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	// PurgeRefreshTokens deletes a session's tokens that expired before t.
	PurgeRefreshTokens(ctx context.Context, sessionID string, t time.Time) error
}

// RelationshipStore keeps one document per side of each pair.
type RelationshipStore interface {
	// Relationship returns how userID relates to otherID (RelNone when not at all).
	Relationship(ctx context.Context, userID, otherID string) (Relationship, error)
	// PutRelationship creates or replaces one side.
	PutRelationship(ctx context.Context, r Relationship) error
	// DeleteRelationship removes one side.
	DeleteRelationship(ctx context.Context, userID, otherID string) error
	// ListRelationships pages userID's relationships by other id (after it),
	// only of type t unless t is RelNone.
	ListRelationships(ctx context.Context, userID string, t RelType, after string, limit int) ([]Relationship, error)
	// RelationshipsBetween returns the sides owned by any of owners toward any of others.
	RelationshipsBetween(ctx context.Context, owners, others []string) ([]Relationship, error)
}

// Records receives every record of the stores when the data moves from one
// store to another (the embedded FerretDB of earlier releases to SQLite).
// IDs and times are kept as they are.
type Records interface {
	PutUser(u User) error
	PutSession(s Session) error
	PutRefreshToken(t RefreshToken) error
	PutRelationship(r Relationship) error
}

// Limiter rate-limits failed sign-ins by login and client address.
type Limiter interface {
	// Acquire reserves one attempt. When the login or the address has used
	// up its attempts in the window, it returns ok false and when to retry.
	Acquire(ctx context.Context, loginKey, addr string) (ok bool, retryAfter time.Duration, err error)
	// Release gives back an attempt that succeeded.
	Release(ctx context.Context, loginKey, addr string) error
}

// Locker serialises changes to one pair of users.
type Locker interface {
	// Lock takes the named lock, waiting until ctx ends; unlock releases it.
	Lock(ctx context.Context, name string) (unlock func(), err error)
}

// Hasher hashes and verifies passwords.
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	// Verify checks pw against encoded; an empty encoded never matches but
	// costs as much as a real check.
	Verify(ctx context.Context, encoded, pw string) (bool, error)
}

// Tokens signs access tokens.
type Tokens interface {
	UserToken(userID, sessionID string, operator bool, ttl time.Duration) (string, time.Time, error)
}

// Revoker tells every service that a session ended.
type Revoker interface {
	Revoke(ctx context.Context, sessionID string, ttl time.Duration) error
}

// Change is one side's new view of a pair, for the event log; Type RelNone
// means the relationship ended.
type Change struct {
	OwnerID string
	View    View
}

// Events publishes changes to the users' event streams.
type Events interface {
	UserUpdated(ctx context.Context, u User) error
	RelationshipsChanged(ctx context.Context, changes []Change) error
}
