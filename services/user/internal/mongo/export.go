package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/services/user/internal/account"
)

// HasUsers reports whether the database holds any account.
func (s *Store) HasUsers(ctx context.Context) (bool, error) {
	err := s.users.FindOne(ctx, bson.D{}, options.FindOne().SetSort(byID)).Err()
	if err == mongo.ErrNoDocuments {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find a user: %w", err)
	}
	return true, nil
}

// Export hands every record of the database to r: users, sessions,
// refresh tokens (spent when a use was recorded) and relationships.
func (s *Store) Export(ctx context.Context, r account.Records) error {
	if err := each(ctx, s.users, func(d userDoc) error { return r.PutUser(d.user()) }); err != nil {
		return err
	}
	if err := each(ctx, s.sessions, func(d sessionDoc) error {
		return r.PutSession(account.Session{ID: d.ID.Hex(), UserID: d.UserID, Client: d.Client, CreatedAt: d.CreatedAt.UTC(), Revoked: d.Revoked})
	}); err != nil {
		return err
	}
	used := map[string]bool{}
	if err := each(ctx, s.uses, func(d useDoc) error { used[d.Hash] = true; return nil }); err != nil {
		return err
	}
	if err := each(ctx, s.tokens, func(d tokenDoc) error {
		t := d.token()
		t.Spent = t.Spent || used[d.Hash]
		return r.PutRefreshToken(t)
	}); err != nil {
		return err
	}
	return each(ctx, s.rels, func(d relDoc) error { return r.PutRelationship(d.rel()) })
}

// byID reads a whole collection in the order of its _id index: an export
// reads every document, and walks an index to do it.
var byID = bson.D{{Key: "_id", Value: 1}}

// each decodes every document of c into a T and hands it to fn.
func each[T any](ctx context.Context, c *mongo.Collection, fn func(T) error) error {
	cur, err := c.Find(ctx, bson.D{}, options.Find().SetSort(byID))
	if err != nil {
		return fmt.Errorf("export %s: %w", c.Name(), err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d T
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("export %s: %w", c.Name(), err)
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("export %s: %w", c.Name(), err)
	}
	return nil
}

// Import writes every record export hands it, ids kept. MongoDB has no
// transaction here (FerretDB has none): a failure leaves the records
// written so far, and the caller imports only into an empty database.
func (s *Store) Import(ctx context.Context, export func(account.Records) error) error {
	return export(importer{ctx: ctx, s: s})
}

type importer struct {
	ctx context.Context
	s   *Store
}

func (im importer) PutUser(u account.User) error {
	id, err := bson.ObjectIDFromHex(u.ID)
	if err != nil {
		return fmt.Errorf("import user %q: %w", u.ID, err)
	}
	_, err = im.s.users.InsertOne(im.ctx, userDoc{
		ID: id, Login: u.Login, LoginKey: account.LoginKey(u.Login), DisplayName: u.DisplayName, StatusText: u.StatusText,
		Operator: u.Operator, PasswordHash: u.PasswordHash, CreatedAt: utc(u.CreatedAt), Avatar: u.Avatar,
	})
	if err != nil {
		return fmt.Errorf("import user: %w", err)
	}
	return nil
}

func (im importer) PutSession(sess account.Session) error {
	id, err := bson.ObjectIDFromHex(sess.ID)
	if err != nil {
		return fmt.Errorf("import session %q: %w", sess.ID, err)
	}
	if _, err := im.s.sessions.InsertOne(im.ctx, sessionDoc{ID: id, UserID: sess.UserID, Client: sess.Client, CreatedAt: utc(sess.CreatedAt), Revoked: sess.Revoked}); err != nil {
		return fmt.Errorf("import session: %w", err)
	}
	return nil
}

func (im importer) PutRefreshToken(t account.RefreshToken) error {
	d := tokenDoc{Hash: t.Hash, SessionID: t.SessionID, UserID: t.UserID, ExpiresAt: utc(t.ExpiresAt), Spent: t.Spent}
	if _, err := im.s.tokens.InsertOne(im.ctx, d); err != nil {
		return fmt.Errorf("import refresh token: %w", err)
	}
	if t.Spent {
		// The use record is what makes a spent token reuse.
		if _, err := im.s.uses.InsertOne(im.ctx, useDoc{Hash: t.Hash, SessionID: t.SessionID, ExpiresAt: d.ExpiresAt, UsedAt: utc(time.Now())}); err != nil {
			return fmt.Errorf("import refresh token use: %w", err)
		}
	}
	return nil
}

func (im importer) PutRelationship(r account.Relationship) error {
	return im.s.PutRelationship(im.ctx, r)
}
