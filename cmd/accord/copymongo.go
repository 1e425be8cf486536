package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/platform/devdb"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/user"
)

// copyToMongo copies everything the data folder holds into the database
// dbName of the MongoDB at uri, the move from the one-machine stores to a
// replica set: the embedded FerretDB's collections as they are, and the
// services' SQLite databases through their stores. Accord must be stopped;
// the target collections must be empty; the data folder is only read.
// Start Accord with ACCORD_STORE=mongo (or just ACCORD_MONGO_URI) after.
func copyToMongo(ctx context.Context, dataDir, uri, dbName string, log *slog.Logger) error {
	unlock, err := lockDataDir(dataDir)
	if err != nil {
		return fmt.Errorf("copy-to-mongo: %w", err)
	}
	defer unlock()
	client, err := mongox.Connect(ctx, uri, log)
	if err != nil {
		return fmt.Errorf("copy-to-mongo: %w", err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	dst := client.Database(dbName)

	userDB := sqlitex.Path(dataDir, "user")
	_, err = os.Stat(userDB)
	userOnSQLite := err == nil

	ferretDir := filepath.Join(dataDir, "db")
	if _, err := os.Stat(ferretDir); err == nil {
		// The user service's collections there are stale once it moved to SQLite.
		var skip []string
		if userOnSQLite {
			skip = user.MongoCollections()
		}
		if err := copyFerret(ctx, ferretDir, dbName, dst, skip, log); err != nil {
			return fmt.Errorf("copy-to-mongo: %w", err)
		}
	}
	if userOnSQLite {
		db, err := sqlitex.Open(ctx, userDB)
		if err != nil {
			return fmt.Errorf("copy-to-mongo: %w", err)
		}
		defer db.Close()
		if _, err := user.ExportToMongo(ctx, db, dst, log); err != nil {
			return fmt.Errorf("copy-to-mongo: %w", err)
		}
	}
	log.Info("copied the data folder to MongoDB; start Accord with ACCORD_STORE=mongo and this ACCORD_MONGO_URI", "db", dbName)
	return nil
}

// copyFerret copies every collection of the database dbName of the embedded
// FerretDB in dir, except skip, into dst, document by document in _id order.
func copyFerret(ctx context.Context, dir, dbName string, dst *mongo.Database, skip []string, log *slog.Logger) error {
	fdb, err := devdb.Start(dir, "127.0.0.1:0", log)
	if err != nil {
		return err
	}
	defer fdb.Close()
	fc, err := mongox.Connect(ctx, fdb.URI(), log)
	if err != nil {
		return err
	}
	defer func() { _ = fc.Disconnect(context.Background()) }()
	src := fc.Database(dbName)
	names, err := src.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return err
	}
	slices.Sort(names)
	for _, name := range names {
		if slices.Contains(skip, name) {
			continue
		}
		if err := dst.Collection(name).FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "_id", Value: 1}})).Err(); !errors.Is(err, mongo.ErrNoDocuments) {
			if err == nil {
				return fmt.Errorf("collection %s of %s is not empty; copy only into an empty database", name, dst.Name())
			}
			return err
		}
		n, err := copyCollection(ctx, src.Collection(name), dst.Collection(name))
		if err != nil {
			return fmt.Errorf("collection %s: %w", name, err)
		}
		log.Info("copied a collection of the embedded FerretDB", "collection", name, "documents", n)
	}
	return nil
}

func copyCollection(ctx context.Context, from, to *mongo.Collection) (int, error) {
	cur, err := from.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return 0, err
	}
	defer cur.Close(ctx)
	n := 0
	var batch []any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := to.InsertMany(ctx, batch)
		n += len(batch)
		batch = batch[:0]
		return err
	}
	for cur.Next(ctx) {
		batch = append(batch, bson.Raw(slices.Clone(cur.Current)))
		if len(batch) == 1000 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := cur.Err(); err != nil {
		return n, err
	}
	return n, flush()
}
