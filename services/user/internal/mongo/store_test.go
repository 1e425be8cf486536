package mongo_test

import (
	"context"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/user/internal/account"
	"github.com/accordchat/accord/services/user/internal/mongo"
	"github.com/accordchat/accord/services/user/internal/storetest"
)

func newStore(t *testing.T) *mongo.Store {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := platformtest.Mongo(t)
	s, err := mongo.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	// Ensuring the indexes again is a no-op.
	if _, err := mongo.New(ctx, db); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUserStore(t *testing.T) {
	storetest.Users(t, func(t *testing.T) account.UserStore { return newStore(t) })
}

func TestSessionStore(t *testing.T) {
	storetest.Sessions(t, func(t *testing.T) account.SessionStore { return newStore(t) })
}

func TestRelationshipStore(t *testing.T) {
	storetest.Relationships(t, func(t *testing.T) account.RelationshipStore { return newStore(t) })
}
