package source

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/accordchat/accord/platform/platformtest"
)

func TestAggregations(t *testing.T) {
	db := platformtest.Mongo(t)
	ctx := context.Background()
	s := New(db)
	if _, ok, err := s.Oldest(ctx); err != nil || ok {
		t.Fatalf("empty collection: oldest %v %v", ok, err)
	}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var docs []any
	add := func(author, server string, at time.Time, n int) {
		for range n {
			docs = append(docs, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "author_id", Value: author}, {Key: "server_id", Value: server}, {Key: "created_at", Value: at}})
		}
	}
	add("a", "s1", base.Add(time.Hour), 3)
	add("a", "s2", base.Add(2*time.Hour), 1)
	add("b", "s1", base.Add(25*time.Hour), 2)
	add("c", "s1", base.Add(-time.Hour), 5)
	if _, err := db.Collection(Messages).InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	oldest, ok, err := s.Oldest(ctx)
	if err != nil || !ok || !oldest.Equal(base.Add(-time.Hour)) {
		t.Fatalf("oldest %v %v %v", oldest, ok, err)
	}
	rows, err := s.Count(ctx, base, base.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range rows {
		got[r.UserID+"/"+r.ServerID] = r.N
	}
	if want := map[string]int64{"a/s1": 3, "a/s2": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("count: got %v, want %v", got, want)
	}
	top, err := s.TopAuthors(ctx, base, 2)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(top) != "[{a 4} {b 2}]" {
		t.Errorf("top authors: %v", top)
	}

	srv, dm := bson.NewObjectID(), bson.NewObjectID()
	if _, err := db.Collection(Servers).InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: srv}, {Key: "name", Value: "General"}, {Key: "kind", Value: "guild"}},
		bson.D{{Key: "_id", Value: dm}, {Key: "kind", Value: "dm"}},
	}); err != nil {
		t.Fatal(err)
	}
	infos, err := s.Servers(ctx, []string{srv.Hex(), dm.Hex(), bson.NewObjectID().Hex(), "not-an-id"})
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[srv.Hex()] != (ServerInfo{"General", "guild"}) || infos[dm.Hex()].Kind != KindDM {
		t.Errorf("servers: %v", infos)
	}
}
