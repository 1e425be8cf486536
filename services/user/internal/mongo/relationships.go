package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/services/user/internal/account"
)

// relDoc is one side of a pair: how user_id relates to other_id.
type relDoc struct {
	UserID    string    `bson:"user_id"`
	OtherID   string    `bson:"other_id"`
	Type      string    `bson:"type"`
	UpdatedAt time.Time `bson:"updated_at"`
}

func (d relDoc) rel() account.Relationship {
	return account.Relationship{UserID: d.UserID, OtherID: d.OtherID, Type: account.ParseRelType(d.Type), UpdatedAt: d.UpdatedAt.UTC()}
}

func pairFilter(userID, otherID string) bson.D {
	return bson.D{{Key: "user_id", Value: userID}, {Key: "other_id", Value: otherID}}
}

// Relationship implements account.RelationshipStore.
func (s *Store) Relationship(ctx context.Context, userID, otherID string) (account.Relationship, error) {
	var d relDoc
	if err := s.rels.FindOne(ctx, pairFilter(userID, otherID)).Decode(&d); err != nil {
		if mongox.IsNotFound(err) {
			return account.Relationship{UserID: userID, OtherID: otherID}, nil
		}
		return account.Relationship{}, fmt.Errorf("find relationship: %w", err)
	}
	return d.rel(), nil
}

// PutRelationship implements account.RelationshipStore with an upsert on
// the unique (user_id, other_id) index. Two upserts racing to insert the
// same side make one fail with a duplicate key; the retry then updates.
func (s *Store) PutRelationship(ctx context.Context, r account.Relationship) error {
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: "type", Value: r.Type.String()},
		{Key: "updated_at", Value: utc(r.UpdatedAt)},
	}}}
	var err error
	for range 3 {
		_, err = s.rels.UpdateOne(ctx, pairFilter(r.UserID, r.OtherID), update, options.UpdateOne().SetUpsert(true))
		if !mongox.IsDuplicateKey(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("put relationship: %w", err)
	}
	return nil
}

// DeleteRelationship implements account.RelationshipStore.
func (s *Store) DeleteRelationship(ctx context.Context, userID, otherID string) error {
	if _, err := s.rels.DeleteOne(ctx, pairFilter(userID, otherID)); err != nil {
		return fmt.Errorf("delete relationship: %w", err)
	}
	return nil
}

func (s *Store) findRels(ctx context.Context, filter bson.D, opts ...options.Lister[options.FindOptions]) ([]account.Relationship, error) {
	cur, err := s.rels.Find(ctx, filter, opts...)
	if err != nil {
		return nil, fmt.Errorf("find relationships: %w", err)
	}
	var docs []relDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read relationships: %w", err)
	}
	out := make([]account.Relationship, len(docs))
	for i, d := range docs {
		out[i] = d.rel()
	}
	return out, nil
}

// ListRelationships implements account.RelationshipStore.
func (s *Store) ListRelationships(ctx context.Context, userID string, t account.RelType, after string, limit int) ([]account.Relationship, error) {
	filter := bson.D{{Key: "user_id", Value: userID}}
	if after != "" {
		filter = append(filter, bson.E{Key: "other_id", Value: bson.D{{Key: "$gt", Value: after}}})
	}
	if t != account.RelNone {
		filter = append(filter, bson.E{Key: "type", Value: t.String()})
	}
	return s.findRels(ctx, filter, options.Find().SetSort(bson.D{{Key: "other_id", Value: 1}}).SetLimit(int64(limit)))
}

// RelationshipsBetween implements account.RelationshipStore.
func (s *Store) RelationshipsBetween(ctx context.Context, owners, others []string) ([]account.Relationship, error) {
	if len(owners) == 0 || len(others) == 0 {
		return nil, nil
	}
	return s.findRels(ctx, bson.D{
		{Key: "user_id", Value: bson.D{{Key: "$in", Value: owners}}},
		{Key: "other_id", Value: bson.D{{Key: "$in", Value: others}}},
	})
}
