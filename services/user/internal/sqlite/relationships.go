package sqlite

import (
	"context"

	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/user/internal/account"
)

func scanRel(r rowScanner) (account.Relationship, error) {
	var rel account.Relationship
	var typ string
	var updated int64
	if err := r.Scan(&rel.UserID, &rel.OtherID, &typ, &updated); err != nil {
		return account.Relationship{}, err
	}
	rel.Type, rel.UpdatedAt = account.ParseRelType(typ), fromMillis(updated)
	return rel, nil
}

// Relationship implements account.RelationshipStore.
func (s *Store) Relationship(ctx context.Context, userID, otherID string) (account.Relationship, error) {
	r, err := scanRel(s.db.QueryRow(ctx, qRelationship, userID, otherID))
	if sqlitex.IsNotFound(err) {
		return account.Relationship{UserID: userID, OtherID: otherID}, nil
	}
	if err != nil {
		return account.Relationship{}, sqlitex.Err(err, "find relationship", nil, nil)
	}
	return r, nil
}

// PutRelationship implements account.RelationshipStore with an upsert on
// the (user_id, other_id) key.
func (s *Store) PutRelationship(ctx context.Context, r account.Relationship) error {
	if _, err := s.db.Exec(ctx, qPutRelationship, r.UserID, r.OtherID, r.Type.String(), millis(utc(r.UpdatedAt))); err != nil {
		return sqlitex.Err(err, "put relationship", nil, nil)
	}
	return nil
}

// DeleteRelationship implements account.RelationshipStore.
func (s *Store) DeleteRelationship(ctx context.Context, userID, otherID string) error {
	if _, err := s.db.Exec(ctx, qDeleteRelationship, userID, otherID); err != nil {
		return sqlitex.Err(err, "delete relationship", nil, nil)
	}
	return nil
}

func (s *Store) findRels(ctx context.Context, query string, args ...any) ([]account.Relationship, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, sqlitex.Err(err, "find relationships", nil, nil)
	}
	defer rows.Close()
	var out []account.Relationship
	for rows.Next() {
		r, err := scanRel(rows)
		if err != nil {
			return nil, sqlitex.Err(err, "read relationships", nil, nil)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlitex.Err(err, "read relationships", nil, nil)
	}
	return out, nil
}

// ListRelationships implements account.RelationshipStore.
func (s *Store) ListRelationships(ctx context.Context, userID string, t account.RelType, after string, limit int) ([]account.Relationship, error) {
	if t == account.RelNone {
		return s.findRels(ctx, qListRelationships, userID, after, limit)
	}
	return s.findRels(ctx, qListRelationshipsOfType, userID, t.String(), after, limit)
}

// RelationshipsBetween implements account.RelationshipStore.
func (s *Store) RelationshipsBetween(ctx context.Context, owners, others []string) ([]account.Relationship, error) {
	if len(owners) == 0 || len(others) == 0 {
		return nil, nil
	}
	return s.findRels(ctx, qRelationshipsBetween, idList(owners), idList(others))
}
