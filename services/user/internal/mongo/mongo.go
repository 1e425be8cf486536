// Package mongo stores the user service's accounts, sessions and
// relationships in MongoDB (or FerretDB). It turns driver errors into the
// errs kinds the account package expects.
package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/mongox"
)

// Collection names.
const (
	UsersCollection         = "users"
	SessionsCollection      = "sessions"
	RefreshTokensCollection = "refresh_tokens"
	RefreshUsesCollection   = "refresh_token_uses"
	RelationshipsCollection = "relationships"
)

// Indexes are the indexes the stores rely on. The unique ones are what keep
// a login taken once in any case and one document per side of a pair.
func Indexes() []mongox.Index {
	return []mongox.Index{
		{Collection: UsersCollection, Model: mongo.IndexModel{
			Keys: bson.D{{Key: "login_key", Value: 1}}, Options: options.Index().SetUnique(true).SetName("login_key_unique"),
		}},
		// A user's live sessions (ListSessions: user_id and revoked equal).
		// It replaces the earlier {user_id} index, which an existing
		// database may still hold unused.
		{Collection: SessionsCollection, Model: mongo.IndexModel{
			Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "revoked", Value: 1}}, Options: options.Index().SetName("user_revoked"),
		}},
		{Collection: RefreshTokensCollection, Model: mongo.IndexModel{
			Keys: bson.D{{Key: "session_id", Value: 1}, {Key: "expires_at", Value: 1}}, Options: options.Index().SetName("session_expiry"),
		}},
		{Collection: RefreshUsesCollection, Model: mongo.IndexModel{
			Keys: bson.D{{Key: "session_id", Value: 1}, {Key: "expires_at", Value: 1}}, Options: options.Index().SetName("session_expiry"),
		}},
		{Collection: RelationshipsCollection, Model: mongo.IndexModel{
			Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "other_id", Value: 1}}, Options: options.Index().SetUnique(true).SetName("pair_unique"),
		}},
		{Collection: RelationshipsCollection, Model: mongo.IndexModel{
			Keys: bson.D{{Key: "other_id", Value: 1}}, Options: options.Index().SetName("other_id"),
		}},
		// ListRelationships of one type: equality on user and type, then
		// the page order.
		{Collection: RelationshipsCollection, Model: mongo.IndexModel{
			Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "type", Value: 1}, {Key: "other_id", Value: 1}}, Options: options.Index().SetName("user_type_other"),
		}},
	}
}

// Store implements the account package's stores over one database.
type Store struct {
	users, sessions, tokens, uses, rels *mongo.Collection
}

// New returns a Store over db after ensuring its indexes.
func New(ctx context.Context, db *mongo.Database) (*Store, error) {
	if err := mongox.EnsureIndexes(ctx, db, Indexes()); err != nil {
		return nil, err
	}
	return &Store{
		users:    db.Collection(UsersCollection),
		sessions: db.Collection(SessionsCollection),
		tokens:   db.Collection(RefreshTokensCollection),
		uses:     db.Collection(RefreshUsesCollection),
		rels:     db.Collection(RelationshipsCollection),
	}, nil
}

// oid parses a hex id; a malformed one cannot name anything, so it is not found.
func oid(id string, what string) (bson.ObjectID, error) {
	o, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return bson.ObjectID{}, errs.NotFound("%s not found", what)
	}
	return o, nil
}

// oids parses the well-formed ids among ids.
func oids(ids []string) []bson.ObjectID {
	out := make([]bson.ObjectID, 0, len(ids))
	for _, id := range ids {
		if o, err := bson.ObjectIDFromHex(id); err == nil {
			out = append(out, o)
		}
	}
	return out
}

// utc drops the monotonic reading and rounds to the millisecond BSON keeps,
// so a value written and read back compares equal.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
