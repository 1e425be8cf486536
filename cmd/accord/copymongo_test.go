package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/devdb"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/user"
)

// copy-to-mongo moves a data folder (the user service on SQLite, the others
// in the embedded FerretDB) into MongoDB: the FerretDB collections as they
// are, the accounts from SQLite rather than their stale FerretDB copies.
func TestCopyToMongo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := platformtest.New(t)
	data := env.Config.DataDir

	// The copy keeps the database name: the data folder's is the target's.
	dst := platformtest.Mongo(t)

	// The embedded FerretDB: a server document and a stale account.
	fdb, err := devdb.Start(filepath.Join(data, "db"), "127.0.0.1:0", env.Log)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := mongox.Connect(ctx, fdb.URI(), env.Log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fc.Database(dst.Name()).Collection("servers").InsertOne(ctx, bson.D{{Key: "name", Value: "Guild"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := fc.Database(dst.Name()).Collection("users").InsertOne(ctx, bson.D{{Key: "login_key", Value: "stale"}}); err != nil {
		t.Fatal(err)
	}
	_ = fc.Disconnect(ctx)
	fdb.Close()

	// The user service on SQLite in the data folder.
	d := env.Deps("user")
	d.Mongo, d.SQLite = nil, env.SQLite("user")
	svc, err := user.New(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	users := userv1.NewUserServiceClient(env.Serve(func(s *grpc.Server) { svc.Register(s) }, user.OpenMethods()...))
	reg, err := users.Register(ctx, &userv1.RegisterRequest{Login: "mover", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}

	if err := copyToMongo(ctx, data, platformtest.MongoURI(t), dst.Name(), env.Log); err != nil {
		t.Fatal(err)
	}
	var server bson.M
	if err := dst.Collection("servers").FindOne(ctx, bson.D{}).Decode(&server); err != nil || server["name"] != "Guild" {
		t.Fatalf("server after the copy = %v, %v", server, err)
	}
	var got []bson.M
	cur, err := dst.Collection("users").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &got); err != nil || len(got) != 1 || got[0]["login_key"] != "mover" ||
		got[0]["_id"].(bson.ObjectID).Hex() != reg.GetUser().GetId() {
		t.Fatalf("users after the copy = %v, %v; want only mover, id %s", got, err, reg.GetUser().GetId())
	}
	if err := copyToMongo(ctx, data, platformtest.MongoURI(t), dst.Name(), env.Log); err == nil {
		t.Fatal("a second copy into a database with data was accepted")
	}
}
