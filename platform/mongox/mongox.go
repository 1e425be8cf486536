// Package mongox connects to MongoDB (or a wire-compatible server such as
// FerretDB) with the official v2 driver and ensures indexes.
package mongox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Connect opens a client and waits until the server answers a ping, retrying
// with backoff until ctx ends, so services may start before the database.
// Retryable reads and writes are on: a primary election is retried by the driver.
// extra options apply after these (the test harness adds its query monitor).
func Connect(ctx context.Context, uri string, log *slog.Logger, extra ...*options.ClientOptions) (*mongo.Client, error) {
	opts := options.Client().ApplyURI(uri).
		SetRetryWrites(true).
		SetRetryReads(true).
		SetServerSelectionTimeout(10 * time.Second).
		SetAppName("accord")
	client, err := mongo.Connect(append([]*options.ClientOptions{opts}, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("mongo: %w", err)
	}
	backoff := 200 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = client.Ping(pctx, readpref.Primary())
		cancel()
		if err == nil {
			return client, nil
		}
		log.Warn("mongo not ready; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			_ = client.Disconnect(context.Background())
			return nil, fmt.Errorf("mongo: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// Index is one index of one collection.
type Index struct {
	Collection string
	Model      mongo.IndexModel
}

// EnsureIndexes creates the indexes that do not exist yet. Creating an
// existing index with the same definition is a no-op on MongoDB and FerretDB.
func EnsureIndexes(ctx context.Context, db *mongo.Database, indexes []Index) error {
	for _, ix := range indexes {
		if _, err := db.Collection(ix.Collection).Indexes().CreateOne(ctx, ix.Model); err != nil {
			return fmt.Errorf("index on %s: %w", ix.Collection, err)
		}
	}
	return nil
}

// IsDuplicateKey reports a unique index violation.
func IsDuplicateKey(err error) bool { return mongo.IsDuplicateKeyError(err) }

// IsNotFound reports a query that matched no document.
func IsNotFound(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }
