package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/accordchat/accord/platform/errs"
)

// Options tune the Service.
type Options struct {
	// AccessTTL is the lifetime of access tokens.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of refresh tokens.
	RefreshTTL time.Duration
	// Operators are login keys that get the operator role at sign-up and sign-in.
	Operators []string
	// Now reads the clock; nil means time.Now.
	Now func() time.Time
}

// Deps are what the Service is built from.
type Deps struct {
	Users         UserStore
	Sessions      SessionStore
	Relationships RelationshipStore
	Limiter       Limiter
	Locks         Locker
	Hasher        Hasher
	Tokens        Tokens
	Revoker       Revoker
	Events        Events
	// Blobs keeps avatar pictures; nil: avatars are unavailable.
	Blobs Blobs
	// Profiles is told of profile changes; nil: nobody is.
	Profiles Profiles
	Log      *slog.Logger
}

// Service implements the user service's behaviour over its stores.
type Service struct {
	d    Deps
	opts Options
}

// NewService returns a Service.
func NewService(d Deps, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{d: d, opts: o}
}

// Auth is the result of a sign-in: the account and its session's tokens.
type Auth struct {
	User           User
	SessionID      string
	AccessToken    string
	AccessExpires  time.Time
	RefreshToken   string
	RefreshExpires time.Time
}

var (
	errBadCredentials  = errs.Unauthenticated("wrong login or password").WithReason("BAD_CREDENTIALS")
	errBadRefresh      = errs.Unauthenticated("invalid refresh token; sign in again").WithReason("REFRESH_TOKEN_INVALID")
	errUserNotFound    = errs.NotFound("user not found")
	errWrongPassword   = errs.Invalid("current_password", "is wrong").WithReason("WRONG_PASSWORD")
	errSessionNotFound = errs.NotFound("session not found")
)

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

func (s *Service) isOperator(loginKey string) bool {
	return slices.Contains(s.opts.Operators, loginKey)
}

// Register creates an account and opens a session for it.
func (s *Service) Register(ctx context.Context, login, password, displayName, client string) (Auth, error) {
	if err := ValidateLogin("login", login); err != nil {
		return Auth{}, err
	}
	if err := ValidatePassword("password", password); err != nil {
		return Auth{}, err
	}
	if err := validateClient(client); err != nil {
		return Auth{}, err
	}
	name := login
	if !isBlank(displayName) {
		var err error
		if name, err = NormalizeDisplayName("display_name", displayName); err != nil {
			return Auth{}, err
		}
	}
	hash, err := s.d.Hasher.Hash(ctx, password)
	if err != nil {
		return Auth{}, err
	}
	u := User{
		Login: login, DisplayName: name, Operator: s.isOperator(LoginKey(login)),
		CreatedAt: s.now(), PasswordHash: hash,
	}
	if err := s.d.Users.CreateUser(ctx, &u); err != nil {
		return Auth{}, err
	}
	return s.openSession(ctx, u, client)
}

// Login checks a login and password, rate-limited per login and per client
// address, and opens a session.
func (s *Service) Login(ctx context.Context, login, password, client, addr string) (Auth, error) {
	if err := validateClient(client); err != nil {
		return Auth{}, err
	}
	key := LoginKey(login)
	ok, retry, err := s.d.Limiter.Acquire(ctx, key, addr)
	if err != nil {
		s.d.Log.ErrorContext(ctx, "login rate limiter failed", "err", err)
		return Auth{}, errs.Unavailable("sign-in is unavailable; try again")
	}
	if !ok {
		return Auth{}, errs.ResourceExhausted(retry, "too many failed sign-in attempts; try again later")
	}
	var u User
	if ValidLoginChars(key) && len(key) <= MaxLoginLen {
		u, err = s.d.Users.UserByLogin(ctx, key)
		if err != nil && !errors.Is(err, errs.ErrNotFound) {
			return Auth{}, err
		}
	}
	// An unknown login is still checked against a dummy hash (empty
	// PasswordHash) so both failures take the same time.
	match, err := s.d.Hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return Auth{}, err
	}
	if !match {
		return Auth{}, errBadCredentials
	}
	if err := s.d.Limiter.Release(ctx, key, addr); err != nil {
		s.d.Log.WarnContext(ctx, "login rate limiter release failed", "err", err)
	}
	if !u.Operator && s.isOperator(key) {
		if u, err = s.d.Users.SetOperator(ctx, u.ID, true); err != nil {
			return Auth{}, err
		}
	}
	return s.openSession(ctx, u, client)
}

func (s *Service) openSession(ctx context.Context, u User, client string) (Auth, error) {
	sess := Session{UserID: u.ID, Client: client, CreatedAt: s.now()}
	if err := s.d.Sessions.CreateSession(ctx, &sess); err != nil {
		return Auth{}, err
	}
	return s.issue(ctx, u, sess.ID)
}

// issue signs an access token and stores a new refresh token for a session.
func (s *Service) issue(ctx context.Context, u User, sessionID string) (Auth, error) {
	raw, hash, err := newRefreshToken()
	if err != nil {
		return Auth{}, err
	}
	exp := s.now().Add(s.opts.RefreshTTL)
	if err := s.d.Sessions.CreateRefreshToken(ctx, RefreshToken{Hash: hash, SessionID: sessionID, UserID: u.ID, ExpiresAt: exp}); err != nil {
		return Auth{}, err
	}
	if err := s.d.Sessions.TouchSession(ctx, sessionID, s.now()); err != nil {
		return Auth{}, err
	}
	access, accessExp, err := s.d.Tokens.UserToken(u.ID, sessionID, u.Operator, s.opts.AccessTTL)
	if err != nil {
		return Auth{}, err
	}
	return Auth{
		User: u, SessionID: sessionID,
		AccessToken: access, AccessExpires: accessExp,
		RefreshToken: raw, RefreshExpires: exp,
	}, nil
}

// newRefreshToken returns an opaque token and the hash it is stored under.
func newRefreshToken() (raw, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, HashToken(raw), nil
}

// HashToken is how refresh tokens are stored: hex SHA-256. The tokens carry
// 256 random bits, so a fast hash is enough to make a leaked table useless.
func HashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// Refresh rotates a refresh token. Presenting a token that was already
// rotated means it leaked (or a client raced itself): the whole session ends.
func (s *Service) Refresh(ctx context.Context, raw string) (Auth, error) {
	t, err := s.d.Sessions.SpendRefreshToken(ctx, HashToken(raw))
	switch {
	case errors.Is(err, ErrTokenSpent):
		if err := s.endSession(ctx, t.UserID, t.SessionID); err != nil {
			return Auth{}, err
		}
		s.d.Log.WarnContext(ctx, "refresh token reused; session revoked", "user", t.UserID, "session", t.SessionID)
		return Auth{}, ErrTokenSpent
	case errors.Is(err, errs.ErrNotFound):
		return Auth{}, errBadRefresh
	case err != nil:
		return Auth{}, err
	}
	now := s.now()
	if !now.Before(t.ExpiresAt) {
		return Auth{}, errs.Unauthenticated("refresh token expired; sign in again").WithReason("REFRESH_TOKEN_EXPIRED")
	}
	sess, err := s.d.Sessions.SessionByID(ctx, t.SessionID)
	if errors.Is(err, errs.ErrNotFound) || (err == nil && sess.Revoked) {
		return Auth{}, errs.Unauthenticated("session ended; sign in again").WithReason("SESSION_REVOKED")
	}
	if err != nil {
		return Auth{}, err
	}
	u, err := s.d.Users.UserByID(ctx, t.UserID)
	if errors.Is(err, errs.ErrNotFound) {
		return Auth{}, errBadRefresh
	}
	if err != nil {
		return Auth{}, err
	}
	if err := s.d.Sessions.PurgeRefreshTokens(ctx, sess.ID, now); err != nil {
		s.d.Log.WarnContext(ctx, "purge of expired refresh tokens failed", "err", err)
	}
	return s.issue(ctx, u, sess.ID)
}

// Logout ends the caller's session.
func (s *Service) Logout(ctx context.Context, userID, sessionID string) error {
	return s.endSession(ctx, userID, sessionID)
}

// ChangePassword checks the current password (rate-limited as sign-ins are,
// by the account's login and the client address), stores the new one and
// ends every other session of the user at once.
func (s *Service) ChangePassword(ctx context.Context, userID, sessionID, current, next, addr string) error {
	if err := ValidatePassword("new_password", next); err != nil {
		return err
	}
	u, err := s.d.Users.UserByID(ctx, userID)
	if errors.Is(err, errs.ErrNotFound) {
		return errUserNotFound
	}
	if err != nil {
		return err
	}
	key := LoginKey(u.Login)
	ok, retry, err := s.d.Limiter.Acquire(ctx, key, addr)
	if err != nil {
		s.d.Log.ErrorContext(ctx, "login rate limiter failed", "err", err)
		return errs.Unavailable("password change is unavailable; try again")
	}
	if !ok {
		return errs.ResourceExhausted(retry, "too many failed password checks; try again later")
	}
	match, err := s.d.Hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return err
	}
	if !match {
		return errWrongPassword
	}
	if err := s.d.Limiter.Release(ctx, key, addr); err != nil {
		s.d.Log.WarnContext(ctx, "login rate limiter release failed", "err", err)
	}
	hash, err := s.d.Hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	if err := s.d.Users.SetPasswordHash(ctx, userID, hash); err != nil {
		return err
	}
	sessions, err := s.d.Sessions.ListSessions(ctx, userID)
	if err != nil {
		return err
	}
	for _, sess := range sessions {
		if sess.ID == sessionID {
			continue
		}
		if err := s.endSession(ctx, userID, sess.ID); err != nil {
			return err
		}
	}
	return nil
}

// Sessions lists the user's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, userID string) ([]Session, error) {
	list, err := s.d.Sessions.ListSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return list, nil
}

// RevokeSession ends one of the user's sessions; a session of another user,
// or one already ended, is NotFound.
func (s *Service) RevokeSession(ctx context.Context, userID, sessionID string) error {
	sess, err := s.d.Sessions.SessionByID(ctx, sessionID)
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return err
	}
	if err != nil || sess.UserID != userID || sess.Revoked {
		return errSessionNotFound
	}
	return s.endSession(ctx, userID, sessionID)
}

// endSession marks the session revoked, so its refresh tokens stop working,
// and puts it on the revocation list every service's interceptor checks, so
// its access tokens stop working at once rather than at expiry.
func (s *Service) endSession(ctx context.Context, userID, sessionID string) error {
	ctx = context.WithoutCancel(ctx)
	if err := s.d.Sessions.RevokeSession(ctx, userID, sessionID); err != nil && !errors.Is(err, errs.ErrNotFound) {
		return err
	}
	return s.d.Revoker.Revoke(ctx, sessionID, s.opts.AccessTTL)
}

func validateClient(c string) error {
	if len(c) > 32 {
		return errs.Invalid("client", "must be at most 32 characters")
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return errs.Invalid("client", "may only hold a-z, 0-9, '_' and '-'")
		}
	}
	return nil
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }
