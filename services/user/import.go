package user

import (
	"context"
	"fmt"
	"log/slog"

	mongodriver "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/user/internal/account"
	"github.com/accordchat/accord/services/user/internal/mongo"
	"github.com/accordchat/accord/services/user/internal/sqlite"
)

// ImportFromMongo copies the service's data from src, the MongoDB (or
// embedded FerretDB) database of earlier releases, into dst, its SQLite
// database, when dst holds no account yet and src holds some; otherwise it
// does nothing. The copy is one transaction; src is left as it was. It
// reports whether it copied.
func ImportFromMongo(ctx context.Context, src *mongodriver.Database, dst *sqlitex.DB, log *slog.Logger) (bool, error) {
	to, err := sqlite.New(ctx, dst)
	if err != nil {
		return false, err
	}
	empty, err := to.Empty(ctx)
	if err != nil || !empty {
		return false, err
	}
	from, err := mongo.New(ctx, src)
	if err != nil {
		return false, err
	}
	if has, err := from.HasUsers(ctx); err != nil || !has {
		return false, err
	}
	var c counter
	err = to.Import(ctx, func(r account.Records) error {
		c.Records = r
		return from.Export(ctx, &c)
	})
	if err != nil {
		return false, fmt.Errorf("user: import from MongoDB into %s: %w", dst.Path(), err)
	}
	log.Info("user: imported the accounts of the earlier embedded database into SQLite",
		"users", c.users, "sessions", c.sessions, "refresh_tokens", c.tokens, "relationships", c.rels, "into", dst.Path())
	return true, nil
}

// ExportToMongo copies the service's data from src, its SQLite database,
// into dst, a MongoDB database that holds no account yet (it refuses
// otherwise): the move from the one-machine store to a replica set. src is
// only read. It returns how many users it copied.
func ExportToMongo(ctx context.Context, src *sqlitex.DB, dst *mongodriver.Database, log *slog.Logger) (int, error) {
	from, err := sqlite.New(ctx, src)
	if err != nil {
		return 0, err
	}
	to, err := mongo.New(ctx, dst)
	if err != nil {
		return 0, err
	}
	if has, err := to.HasUsers(ctx); err != nil {
		return 0, err
	} else if has {
		return 0, fmt.Errorf("user: MongoDB database %s already holds accounts; export only into an empty one", dst.Name())
	}
	var c counter
	err = to.Import(ctx, func(r account.Records) error {
		c.Records = r
		return from.Export(ctx, &c)
	})
	if err != nil {
		return c.users, fmt.Errorf("user: export %s to MongoDB: %w", src.Path(), err)
	}
	log.Info("user: copied the accounts from SQLite to MongoDB",
		"users", c.users, "sessions", c.sessions, "refresh_tokens", c.tokens, "relationships", c.rels, "db", dst.Name())
	return c.users, nil
}

// MongoCollections are the collections of the service on MongoDB.
func MongoCollections() []string {
	return []string{mongo.UsersCollection, mongo.SessionsCollection, mongo.RefreshTokensCollection, mongo.RefreshUsesCollection, mongo.RelationshipsCollection}
}

// counter counts the records it passes on.
type counter struct {
	account.Records
	users, sessions, tokens, rels int
}

func (c *counter) PutUser(u account.User) error { c.users++; return c.Records.PutUser(u) }
func (c *counter) PutSession(s account.Session) error {
	c.sessions++
	return c.Records.PutSession(s)
}
func (c *counter) PutRefreshToken(t account.RefreshToken) error {
	c.tokens++
	return c.Records.PutRefreshToken(t)
}
func (c *counter) PutRelationship(r account.Relationship) error {
	c.rels++
	return c.Records.PutRelationship(r)
}
