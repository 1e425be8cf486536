package querylog_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/querylog"
	"github.com/accordchat/accord/platform/querylog/internal/fixture"
)

// A query whose index is missing fails the check, named with its call
// site, while the indexed query next to it passes: the whole path from the
// driver's command monitor through the log file to the check.
func TestCheckFailsOnQueryWithoutIndex(t *testing.T) {
	dir := t.TempDir()
	qlog, err := querylog.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := mongox.Connect(ctx, platformtest.MongoURI(t), logging.Discard(), options.Client().SetMonitor(qlog.Monitor()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	db := client.Database("q_" + platformtest.RandomHex(6))
	defer func() { _ = db.Drop(context.Background()) }()
	if err := mongox.EnsureIndexes(ctx, db, fixture.Indexes()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection(fixture.Posts).InsertOne(ctx, bson.D{{Key: "channel_id", Value: "c"}, {Key: "author_id", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := fixture.ByChannel(ctx, db, "c", bson.NewObjectID()); err != nil || n != 1 {
		t.Fatalf("ByChannel = %d, %v; want 1 post", n, err)
	}
	if n, err := fixture.ByAuthor(ctx, db, "a"); err != nil || n != 1 {
		t.Fatalf("ByAuthor = %d, %v; want 1 post", n, err)
	}
	if err := qlog.Err(); err != nil {
		t.Fatal(err)
	}

	recs, err := querylog.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep := querylog.Check(recs, nil)
	if len(rep.Findings) != 1 {
		t.Fatalf("got %d findings, want 1 (ByAuthor):\n%v", len(rep.Findings), rep.Findings)
	}
	f := rep.Findings[0]
	if got, want := f.Shape.Site.Func, "platform/querylog/internal/fixture.ByAuthor"; got != want {
		t.Errorf("call site %q, want %q", got, want)
	}
	if got := f.String(); !strings.Contains(got, "author_id: eq") || !strings.Contains(got, "{channel_id: 1, _id: 1}") ||
		!strings.Contains(got, "platform/querylog/internal/fixture/fixture.go:") {
		t.Errorf("the finding does not name the shape, the indexes considered and the file:\n%s", got)
	}
	if rep.Shapes != 2 {
		t.Errorf("checked %d shapes, want 2 (ByChannel and ByAuthor)", rep.Shapes)
	}
}
