package main

import (
	"context"
	"fmt"
	"log/slog"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/user"
)

// importEarlierData copies the data of the services now on SQLite out of
// the MongoDB at cfg.MongoURI (the embedded FerretDB that held everything
// in earlier releases) on their first start on SQLite, so that upgrading
// loses nothing. A service whose SQLite database already holds data is
// left alone, and MongoDB is only read.
func importEarlierData(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	type importer struct {
		name string
		spec func(listen, metrics string) app.Spec
		copy func(ctx context.Context, src *mongo.Database, dst *sqlitex.DB, log *slog.Logger) (bool, error)
	}
	var todo []importer
	for _, im := range []importer{
		{"user", user.Spec, user.ImportFromMongo},
		{"server", server.Spec, server.ImportFromMongo},
	} {
		if im.spec("", "").Store(cfg) == config.StoreSQLite {
			todo = append(todo, im)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	client, err := mongox.Connect(ctx, cfg.MongoURI, log)
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	for _, im := range todo {
		if err := importOne(ctx, cfg, client.Database(cfg.MongoDB), im.name, im.copy, log); err != nil {
			return fmt.Errorf("import %s: %w", im.name, err)
		}
	}
	return nil
}

func importOne(ctx context.Context, cfg config.Config, src *mongo.Database, name string,
	copyFn func(context.Context, *mongo.Database, *sqlitex.DB, *slog.Logger) (bool, error), log *slog.Logger) error {
	db, err := sqlitex.Open(ctx, sqlitex.Path(cfg.DataDir, name))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = copyFn(ctx, src, db, log.With("service", name))
	return err
}
