package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/services/server/internal/chat"
)

// messageDoc is a document of the messages collection.
type messageDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	ServerID  string        `bson:"server_id"`
	ChannelID string        `bson:"channel_id"`
	AuthorID  string        `bson:"author_id"`
	Content   string        `bson:"content"`
	CreatedAt time.Time     `bson:"created_at"`
	EditedAt  *time.Time    `bson:"edited_at,omitempty"`
	ReplyToID string        `bson:"reply_to_id,omitempty"`
	RequestID string        `bson:"request_id,omitempty"`
	// RequestKey is "<author_id>/<request_id>", absent without a request id:
	// a unique sparse index on one field works on MongoDB and FerretDB alike,
	// unlike a partial compound index.
	RequestKey string `bson:"request_key,omitempty"`
	// The resolved mentions (absent when none).
	MentionUserIDs    []string `bson:"mention_user_ids,omitempty"`
	MentionChannelIDs []string `bson:"mention_channel_ids,omitempty"`
	MentionEveryone   bool     `bson:"mention_everyone,omitempty"`
}

func (d messageDoc) message() chat.Message {
	m := chat.Message{
		ID: hexOr(d.ID), ServerID: d.ServerID, ChannelID: d.ChannelID, AuthorID: d.AuthorID, Content: d.Content,
		CreatedAt: d.CreatedAt.UTC(), ReplyToID: d.ReplyToID, RequestID: d.RequestID,
		Mentions: chat.Mentions{UserIDs: d.MentionUserIDs, ChannelIDs: d.MentionChannelIDs, Everyone: d.MentionEveryone},
	}
	if len(m.Mentions.UserIDs) == 0 {
		m.Mentions.UserIDs = nil
	}
	if len(m.Mentions.ChannelIDs) == 0 {
		m.Mentions.ChannelIDs = nil
	}
	if d.EditedAt != nil {
		t := d.EditedAt.UTC()
		m.EditedAt = &t
	}
	return m
}

func requestKey(authorID, requestID string) string { return authorID + "/" + requestID }

// byChannel is the hint of every ranged read of a channel's history: the
// (channel_id, _id) index in its own order.
var byChannel = bson.D{{Key: "channel_id", Value: 1}, {Key: "_id", Value: 1}}

// CreateMessage implements chat.MessageStore.
func (s *Store) CreateMessage(ctx context.Context, m chat.Message) error {
	d, err := newMessageDoc(m)
	if err != nil {
		return err
	}
	return insert(ctx, s.messages, d, "message")
}

// CreateMessages implements chat.MessageStore with one unordered
// InsertMany: each document is written or refused on its own.
func (s *Store) CreateMessages(ctx context.Context, ms []chat.Message) ([]error, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	docs := make([]any, len(ms))
	for i, m := range ms {
		d, err := newMessageDoc(m)
		if err != nil {
			return nil, err
		}
		docs[i] = d
	}
	per := make([]error, len(ms))
	_, err := s.messages.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return per, nil
	}
	var bw mongo.BulkWriteException
	if !errors.As(err, &bw) || bw.WriteConcernError != nil {
		return nil, err
	}
	for _, we := range bw.WriteErrors {
		if we.Index < 0 || we.Index >= len(ms) {
			return nil, err
		}
		if we.Code == 11000 {
			per[we.Index] = errs.AlreadyExists("message already exists")
		} else {
			per[we.Index] = fmt.Errorf("insert message: %w", we)
		}
	}
	return per, nil
}

func newMessageDoc(m chat.Message) (messageDoc, error) {
	id, err := docID(m.ID, "message")
	if err != nil {
		return messageDoc{}, err
	}
	d := messageDoc{
		ID: id, ServerID: m.ServerID, ChannelID: m.ChannelID, AuthorID: m.AuthorID, Content: m.Content,
		CreatedAt: utc(m.CreatedAt), ReplyToID: m.ReplyToID, RequestID: m.RequestID,
		MentionUserIDs: m.Mentions.UserIDs, MentionChannelIDs: m.Mentions.ChannelIDs, MentionEveryone: m.Mentions.Everyone,
	}
	if m.EditedAt != nil {
		t := utc(*m.EditedAt)
		d.EditedAt = &t
	}
	if m.RequestID != "" {
		d.RequestKey = requestKey(m.AuthorID, m.RequestID)
	}
	return d, nil
}

// Message implements chat.MessageStore. It looks up by _id alone, the one
// lookup every backend serves from an index.
func (s *Store) Message(ctx context.Context, id string) (chat.Message, error) {
	o, ok := oid(id)
	if !ok {
		return chat.Message{}, notFound("message")
	}
	d, err := findOne[messageDoc](ctx, s.messages, bson.D{{Key: "_id", Value: o}}, "message")
	return d.message(), err
}

// MessageByRequest implements chat.MessageStore.
func (s *Store) MessageByRequest(ctx context.Context, authorID, requestID string) (chat.Message, error) {
	if requestID == "" {
		return chat.Message{}, notFound("message")
	}
	d, err := findOne[messageDoc](ctx, s.messages, bson.D{{Key: "request_key", Value: requestKey(authorID, requestID)}}, "message")
	return d.message(), err
}

// MessagesByID implements chat.MessageStore.
func (s *Store) MessagesByID(ctx context.Context, ids []string) ([]chat.Message, error) {
	os := oids(ids)
	if len(os) == 0 {
		return nil, nil
	}
	return all(ctx, s.messages, messageDoc.message, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: os}}}})
}

// channelRange is the filter of channel's messages with _id op bound.
func channelRange(channelID, op, bound string) (bson.D, bool) {
	f := bson.D{{Key: "channel_id", Value: channelID}}
	if bound == "" {
		return f, true
	}
	o, ok := oid(bound)
	if !ok {
		return f, false
	}
	return append(f, bson.E{Key: "_id", Value: bson.D{{Key: op, Value: o}}}), true
}

// ListMessages implements chat.MessageStore: one range scan of the
// (channel_id, _id) index.
func (s *Store) ListMessages(ctx context.Context, channelID string, p chat.MessagePage) ([]chat.Message, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	op, bound, dir := "$lt", p.Before, -1
	if p.After != "" {
		op, bound, dir = "$gt", p.After, 1
	}
	f, ok := channelRange(channelID, op, bound)
	if !ok {
		return nil, nil
	}
	return all(ctx, s.messages, messageDoc.message, f, options.Find().
		SetSort(bson.D{{Key: "_id", Value: dir}}).SetLimit(int64(p.Limit)).SetHint(byChannel))
}

// ScanMessages implements chat.MessageStore along the _id index.
func (s *Store) ScanMessages(ctx context.Context, after string, limit int) ([]chat.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	f := bson.D{}
	if after != "" {
		o, ok := oid(after)
		if !ok {
			return nil, nil
		}
		f = bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: o}}}}
	}
	return all(ctx, s.messages, messageDoc.message, f, options.Find().
		SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).SetHint(bson.D{{Key: "_id", Value: 1}}))
}

// NewestMessages implements chat.MessageStore.
func (s *Store) NewestMessages(ctx context.Context, channelID, after string, limit int) ([]chat.MessageRef, error) {
	if limit <= 0 {
		return nil, nil
	}
	f, ok := channelRange(channelID, "$gt", after)
	if !ok {
		return nil, nil
	}
	return all(ctx, s.messages, func(d messageDoc) chat.MessageRef { return chat.MessageRef{ID: d.ID.Hex(), AuthorID: d.AuthorID} }, f,
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "author_id", Value: 1}}).
			SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)).SetHint(byChannel))
}

// EditMessage implements chat.MessageStore.
func (s *Store) EditMessage(ctx context.Context, id, content string, mentions chat.Mentions, at time.Time) error {
	o, ok := oid(id)
	if !ok {
		return notFound("message")
	}
	ids := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	r, err := s.messages.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "content", Value: content}, {Key: "edited_at", Value: utc(at)},
			{Key: "mention_user_ids", Value: ids(mentions.UserIDs)}, {Key: "mention_channel_ids", Value: ids(mentions.ChannelIDs)},
			{Key: "mention_everyone", Value: mentions.Everyone},
		}}})
	if err != nil {
		return err
	}
	if r.MatchedCount == 0 {
		return notFound("message")
	}
	return nil
}

// DeleteMessage implements chat.MessageStore.
func (s *Store) DeleteMessage(ctx context.Context, id string) error {
	o, ok := oid(id)
	if !ok {
		return notFound("message")
	}
	r, err := s.messages.DeleteOne(ctx, bson.D{{Key: "_id", Value: o}})
	if err != nil {
		return err
	}
	if r.DeletedCount == 0 {
		return notFound("message")
	}
	return nil
}

// byCreatedAt is the name of the messages' created_at index, the hint of
// the reads by creation time.
const byCreatedAt = "created_at"

// OldestMessageTime implements chat.MessageStore: the first entry of the
// created_at index.
func (s *Store) OldestMessageTime(ctx context.Context) (time.Time, bool, error) {
	var d struct {
		CreatedAt time.Time `bson:"created_at"`
	}
	err := s.messages.FindOne(ctx, bson.D{}, options.FindOne().
		SetSort(bson.D{{Key: "created_at", Value: 1}}).SetProjection(bson.D{{Key: "created_at", Value: 1}}).SetHint(byCreatedAt)).Decode(&d)
	if mongox.IsNotFound(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return d.CreatedAt.UTC(), true, nil
}

// CountMessages implements chat.MessageStore: a range of the created_at
// index grouped by (author_id, server_id) in the database, read through a
// cursor. One $match and one $group with a single $sum, which MongoDB and
// FerretDB both run correctly.
func (s *Store) CountMessages(ctx context.Context, from, to time.Time, fn func(chat.MessageCount) error) error {
	p := mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "created_at", Value: bson.D{{Key: "$gte", Value: utc(from)}, {Key: "$lt", Value: utc(to)}}}}}},
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: bson.D{{Key: "a", Value: "$author_id"}, {Key: "s", Value: "$server_id"}}},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}},
		}}},
	}
	cur, err := s.messages.Aggregate(ctx, p, options.Aggregate().SetHint(byCreatedAt))
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d struct {
			ID struct {
				A string `bson:"a"`
				S string `bson:"s"`
			} `bson:"_id"`
			N int64 `bson:"n"`
		}
		if err := cur.Decode(&d); err != nil {
			return err
		}
		if err := fn(chat.MessageCount{AuthorID: d.ID.A, ServerID: d.ID.S, N: d.N}); err != nil {
			return err
		}
	}
	return cur.Err()
}

// readStateDoc is a document of the read_states collection: one per (user, channel).
type readStateDoc struct {
	ID         bson.ObjectID `bson:"_id"`
	UserID     string        `bson:"user_id"`
	ChannelID  string        `bson:"channel_id"`
	ServerID   string        `bson:"server_id"`
	LastReadID string        `bson:"last_read_id"` // hex; hex order is id order
	UpdatedAt  time.Time     `bson:"updated_at"`
}

// AdvanceReadMarker implements chat.ReadStateStore: a conditional update
// ("last_read_id < id"), else an insert; when a concurrent insert wins the
// unique (user_id, channel_id) index, one more conditional update settles it.
func (s *Store) AdvanceReadMarker(ctx context.Context, m chat.ReadMarker) (bool, error) {
	key := bson.D{{Key: "user_id", Value: m.UserID}, {Key: "channel_id", Value: m.ChannelID}}
	advance := func() (bool, error) {
		res, err := s.reads.UpdateOne(ctx,
			append(key[:len(key):len(key)], bson.E{Key: "last_read_id", Value: bson.D{{Key: "$lt", Value: m.LastReadID}}}),
			bson.D{{Key: "$set", Value: bson.D{{Key: "last_read_id", Value: m.LastReadID}, {Key: "updated_at", Value: utc(m.UpdatedAt)}}}})
		if err != nil {
			return false, err
		}
		return res.MatchedCount > 0, nil
	}
	moved, err := advance()
	if err != nil || moved {
		return moved, err
	}
	_, err = s.reads.InsertOne(ctx, readStateDoc{
		ID: bson.NewObjectID(), UserID: m.UserID, ChannelID: m.ChannelID, ServerID: m.ServerID,
		LastReadID: m.LastReadID, UpdatedAt: utc(m.UpdatedAt),
	})
	switch {
	case err == nil:
		return true, nil
	case mongox.IsDuplicateKey(err):
		// It exists: either at or past the id, or a concurrent insert that
		// is behind it.
		return advance()
	}
	return false, err
}

// ReadMarker implements chat.ReadStateStore.
func (s *Store) ReadMarker(ctx context.Context, userID, channelID string) (string, error) {
	var d readStateDoc
	err := s.reads.FindOne(ctx, bson.D{{Key: "user_id", Value: userID}, {Key: "channel_id", Value: channelID}}).Decode(&d)
	if mongox.IsNotFound(err) {
		return "", nil
	}
	return d.LastReadID, err
}

// ReadMarkers implements chat.ReadStateStore.
func (s *Store) ReadMarkers(ctx context.Context, userID string, channelIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(channelIDs))
	for ids := range chunks(channelIDs, 1000) {
		docs, err := findAll[readStateDoc](ctx, s.reads, bson.D{{Key: "user_id", Value: userID}, {Key: "channel_id", Value: bson.D{{Key: "$in", Value: ids}}}})
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			out[d.ChannelID] = d.LastReadID
		}
	}
	return out, nil
}
