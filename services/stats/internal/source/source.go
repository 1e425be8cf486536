// Package source reads what the stats service needs from the server
// service's database: message counts (aggregations over the messages
// collection) and server names. It never writes.
package source

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/services/stats/internal/counters"
)

// Collections of the server service that are read here.
const (
	Messages = "messages"
	Servers  = "servers"
)

// KindDM is the kind of a private conversation's server document.
const KindDM = "dm"

// Source reads the messages and servers collections.
type Source struct {
	db *mongo.Database
}

// New returns a Source over db.
func New(db *mongo.Database) *Source { return &Source{db: db} }

// Oldest is the creation time of the oldest message; false when there is none.
func (s *Source) Oldest(ctx context.Context) (time.Time, bool, error) {
	var doc struct {
		CreatedAt time.Time `bson:"created_at"`
	}
	err := s.db.Collection(Messages).FindOne(ctx, bson.D{{Key: "created_at", Value: bson.D{{Key: "$exists", Value: true}}}},
		options.FindOne().SetSort(bson.D{{Key: "created_at", Value: 1}}).SetProjection(bson.D{{Key: "created_at", Value: 1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("find oldest message: %w", err)
	}
	return doc.CreatedAt, true, nil
}

// Count groups the messages created in [from, to) by author and server:
// one $match and one $group with a single $sum, which MongoDB and FerretDB
// both run correctly.
func (s *Source) Count(ctx context.Context, from, to time.Time) ([]counters.Row, error) {
	p := mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "created_at", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}}}},
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: bson.D{{Key: "a", Value: "$author_id"}, {Key: "s", Value: "$server_id"}}},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}},
		}}},
	}
	cur, err := s.db.Collection(Messages).Aggregate(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	var docs []struct {
		ID struct {
			A string `bson:"a"`
			S string `bson:"s"`
		} `bson:"_id"`
		N int64 `bson:"n"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	rows := make([]counters.Row, 0, len(docs))
	for _, d := range docs {
		if d.ID.A == "" || d.ID.S == "" {
			continue // the live path cannot count these either
		}
		rows = append(rows, counters.Row{UserID: d.ID.A, ServerID: d.ID.S, N: d.N})
	}
	return rows, nil
}

// TopAuthors ranks the authors of messages created since since by an
// aggregation over the whole collection. It is the slow path the counters
// replace, kept to check them and to measure against.
func (s *Source) TopAuthors(ctx context.Context, since time.Time, limit int) ([]counters.Count, error) {
	p := mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "created_at", Value: bson.D{{Key: "$gte", Value: since}}}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$author_id"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
		{{Key: "$sort", Value: bson.D{{Key: "n", Value: -1}, {Key: "_id", Value: -1}}}},
		{{Key: "$limit", Value: limit}},
	}
	cur, err := s.db.Collection(Messages).Aggregate(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("rank authors: %w", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
		N  int64  `bson:"n"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("rank authors: %w", err)
	}
	out := make([]counters.Count, len(docs))
	for i, d := range docs {
		out[i] = counters.Count{ID: d.ID, Count: d.N}
	}
	return out, nil
}

// ServerInfo is what reports show of a server.
type ServerInfo struct {
	Name string
	Kind string
}

// Servers returns the name and kind of the servers among ids that exist.
func (s *Source) Servers(ctx context.Context, ids []string) (map[string]ServerInfo, error) {
	oids := make([]bson.ObjectID, 0, len(ids))
	for _, id := range ids {
		if oid, err := bson.ObjectIDFromHex(id); err == nil {
			oids = append(oids, oid)
		}
	}
	out := make(map[string]ServerInfo, len(oids))
	if len(oids) == 0 {
		return out, nil
	}
	cur, err := s.db.Collection(Servers).Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: oids}}}},
		options.Find().SetProjection(bson.D{{Key: "name", Value: 1}, {Key: "kind", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find servers: %w", err)
	}
	var docs []struct {
		ID   bson.ObjectID `bson:"_id"`
		Name string        `bson:"name"`
		Kind string        `bson:"kind"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find servers: %w", err)
	}
	for _, d := range docs {
		out[d.ID.Hex()] = ServerInfo{Name: d.Name, Kind: d.Kind}
	}
	return out, nil
}
