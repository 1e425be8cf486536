package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/services/user/internal/account"
)

type sessionDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	UserID    string        `bson:"user_id"`
	Client    string        `bson:"client"`
	CreatedAt time.Time     `bson:"created_at"`
	Revoked   bool          `bson:"revoked"`
	RevokedAt *time.Time    `bson:"revoked_at,omitempty"`
	// LastUsedAt is when the session's tokens were last issued.
	LastUsedAt *time.Time `bson:"last_used_at,omitempty"`
}

func (d sessionDoc) session() account.Session {
	sess := account.Session{ID: d.ID.Hex(), UserID: d.UserID, Client: d.Client, CreatedAt: d.CreatedAt.UTC(), Revoked: d.Revoked}
	if d.LastUsedAt != nil {
		sess.LastUsedAt = d.LastUsedAt.UTC()
	}
	return sess
}

// tokenDoc is one refresh token, keyed by its hash: the token itself is
// never stored.
type tokenDoc struct {
	Hash      string     `bson:"_id"`
	SessionID string     `bson:"session_id"`
	UserID    string     `bson:"user_id"`
	ExpiresAt time.Time  `bson:"expires_at"`
	Spent     bool       `bson:"spent"`
	SpentAt   *time.Time `bson:"spent_at,omitempty"`
}

func (d tokenDoc) token() account.RefreshToken {
	return account.RefreshToken{Hash: d.Hash, SessionID: d.SessionID, UserID: d.UserID, ExpiresAt: d.ExpiresAt.UTC(), Spent: d.Spent}
}

var errSessionNotFound = errs.NotFound("session not found")

// CreateSession implements account.SessionStore.
func (s *Store) CreateSession(ctx context.Context, sess *account.Session) error {
	d := sessionDoc{ID: bson.NewObjectID(), UserID: sess.UserID, Client: sess.Client, CreatedAt: utc(sess.CreatedAt)}
	if _, err := s.sessions.InsertOne(ctx, d); err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	sess.ID, sess.CreatedAt = d.ID.Hex(), d.CreatedAt
	return nil
}

// SessionByID implements account.SessionStore.
func (s *Store) SessionByID(ctx context.Context, id string) (account.Session, error) {
	o, err := oid(id, "session")
	if err != nil {
		return account.Session{}, err
	}
	var d sessionDoc
	if err := s.sessions.FindOne(ctx, bson.D{{Key: "_id", Value: o}}).Decode(&d); err != nil {
		if mongox.IsNotFound(err) {
			return account.Session{}, errSessionNotFound
		}
		return account.Session{}, fmt.Errorf("find session: %w", err)
	}
	return d.session(), nil
}

// ListSessions implements account.SessionStore; the {user_id, revoked} index serves it.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]account.Session, error) {
	cur, err := s.sessions.Find(ctx, bson.D{{Key: "user_id", Value: userID}, {Key: "revoked", Value: false}})
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	var docs []sessionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]account.Session, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.session())
	}
	return out, nil
}

// TouchSession implements account.SessionStore.
func (s *Store) TouchSession(ctx context.Context, id string, t time.Time) error {
	o, err := oid(id, "session")
	if err != nil {
		return err
	}
	if _, err := s.sessions.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "last_used_at", Value: utc(t)}}}}); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// RevokeSession implements account.SessionStore.
func (s *Store) RevokeSession(ctx context.Context, userID, id string) error {
	o, err := oid(id, "session")
	if err != nil {
		return err
	}
	now := utc(time.Now())
	res, err := s.sessions.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: o}, {Key: "user_id", Value: userID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked", Value: true}, {Key: "revoked_at", Value: now}}}})
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if res.MatchedCount == 0 {
		return errSessionNotFound
	}
	return nil
}

// CreateRefreshToken implements account.SessionStore.
func (s *Store) CreateRefreshToken(ctx context.Context, t account.RefreshToken) error {
	d := tokenDoc{Hash: t.Hash, SessionID: t.SessionID, UserID: t.UserID, ExpiresAt: utc(t.ExpiresAt)}
	if _, err := s.tokens.InsertOne(ctx, d); err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

// useDoc records that a refresh token was spent. Spending inserts it under
// the token's hash: the unique _id makes that atomic on any wire-compatible
// server (FerretDB does not run findAndModify atomically), so of two
// concurrent uses exactly one wins and the other is seen as reuse.
type useDoc struct {
	Hash      string    `bson:"_id"`
	SessionID string    `bson:"session_id"`
	ExpiresAt time.Time `bson:"expires_at"`
	UsedAt    time.Time `bson:"used_at"`
}

// SpendRefreshToken implements account.SessionStore.
func (s *Store) SpendRefreshToken(ctx context.Context, hash string) (account.RefreshToken, error) {
	var d tokenDoc
	if err := s.tokens.FindOne(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&d); err != nil {
		if mongox.IsNotFound(err) {
			return account.RefreshToken{}, errs.NotFound("refresh token not found")
		}
		return account.RefreshToken{}, fmt.Errorf("find refresh token: %w", err)
	}
	now := utc(time.Now())
	_, err := s.uses.InsertOne(ctx, useDoc{Hash: hash, SessionID: d.SessionID, ExpiresAt: d.ExpiresAt, UsedAt: now})
	if mongox.IsDuplicateKey(err) {
		d.Spent = true
		return d.token(), account.ErrTokenSpent
	}
	if err != nil {
		return account.RefreshToken{}, fmt.Errorf("spend refresh token: %w", err)
	}
	// The flag is informational (the use document decides); a failure to
	// set it changes nothing.
	_, _ = s.tokens.UpdateOne(ctx, bson.D{{Key: "_id", Value: hash}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "spent", Value: true}, {Key: "spent_at", Value: now}}}})
	d.Spent = true
	return d.token(), nil
}

// PurgeRefreshTokens implements account.SessionStore.
func (s *Store) PurgeRefreshTokens(ctx context.Context, sessionID string, t time.Time) error {
	filter := bson.D{
		{Key: "session_id", Value: sessionID},
		{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: utc(t)}}},
	}
	// Uses go first: a token whose use record is gone but which still
	// exists would be spendable again.
	if _, err := s.uses.DeleteMany(ctx, filter); err != nil {
		return fmt.Errorf("purge refresh token uses: %w", err)
	}
	if _, err := s.tokens.DeleteMany(ctx, filter); err != nil {
		return fmt.Errorf("purge refresh tokens: %w", err)
	}
	return nil
}
