package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/services/server/internal/chat"
)

// attachmentDoc is a document of the attachments collection.
type attachmentDoc struct {
	ID          bson.ObjectID `bson:"_id"`
	ServerID    string        `bson:"server_id"`
	ChannelID   string        `bson:"channel_id"`
	UploaderID  string        `bson:"uploader_id"`
	MessageID   string        `bson:"message_id"`
	Name        string        `bson:"name"`
	ContentType string        `bson:"content_type"`
	Size        int64         `bson:"size"`
	Width       int           `bson:"width,omitempty"`
	Height      int           `bson:"height,omitempty"`
	BlobKey     string        `bson:"blob_key"`
	ThumbKey    string        `bson:"thumb_key,omitempty"`
	ThumbWidth  int           `bson:"thumb_width,omitempty"`
	ThumbHeight int           `bson:"thumb_height,omitempty"`
	CreatedAt   time.Time     `bson:"created_at"`
}

func (d attachmentDoc) attachment() chat.Attachment {
	return chat.Attachment{
		ID: hexOr(d.ID), ServerID: d.ServerID, ChannelID: d.ChannelID, UploaderID: d.UploaderID, MessageID: d.MessageID,
		Name: d.Name, ContentType: d.ContentType, Size: d.Size, Width: d.Width, Height: d.Height, BlobKey: d.BlobKey,
		ThumbKey: d.ThumbKey, ThumbWidth: d.ThumbWidth, ThumbHeight: d.ThumbHeight, CreatedAt: d.CreatedAt.UTC(),
	}
}

var _ chat.AttachmentStore = (*Store)(nil)

// CreateAttachment implements chat.AttachmentStore.
func (s *Store) CreateAttachment(ctx context.Context, a chat.Attachment) error {
	id, err := docID(a.ID, "attachment")
	if err != nil {
		return err
	}
	return insert(ctx, s.attachments, attachmentDoc{
		ID: id, ServerID: a.ServerID, ChannelID: a.ChannelID, UploaderID: a.UploaderID, MessageID: a.MessageID,
		Name: a.Name, ContentType: a.ContentType, Size: a.Size, Width: a.Width, Height: a.Height, BlobKey: a.BlobKey,
		ThumbKey: a.ThumbKey, ThumbWidth: a.ThumbWidth, ThumbHeight: a.ThumbHeight, CreatedAt: utc(a.CreatedAt),
	}, "attachment")
}

// Attachment implements chat.AttachmentStore.
func (s *Store) Attachment(ctx context.Context, id string) (chat.Attachment, error) {
	o, ok := oid(id)
	if !ok {
		return chat.Attachment{}, notFound("attachment")
	}
	d, err := findOne[attachmentDoc](ctx, s.attachments, bson.D{{Key: "_id", Value: o}}, "attachment")
	return d.attachment(), err
}

// AttachmentsOf implements chat.AttachmentStore: an $in on the leading
// field of {message_id, created_at}, with no sort (the caller orders).
func (s *Store) AttachmentsOf(ctx context.Context, messageIDs []string) ([]chat.Attachment, error) {
	var out []chat.Attachment
	for part := range chunks(messageIDs, 500) {
		ds, err := findAll[attachmentDoc](ctx, s.attachments, bson.D{{Key: "message_id", Value: bson.D{{Key: "$in", Value: part}}}})
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if d.MessageID != "" {
				out = append(out, d.attachment())
			}
		}
	}
	return out, nil
}

// AttachToMessage implements chat.AttachmentStore. On FerretDB the
// conditional update is not atomic (see storetest.NonAtomicConditionalUpdates).
func (s *Store) AttachToMessage(ctx context.Context, id, messageID string) (bool, error) {
	o, ok := oid(id)
	if !ok {
		return false, nil
	}
	res, err := s.attachments.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}, {Key: "message_id", Value: ""}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "message_id", Value: messageID}}}})
	if err != nil {
		return false, err
	}
	return res.ModifiedCount > 0, nil
}

// CompleteAttachment implements chat.AttachmentStore: one update
// conditioned on the content type still being empty.
func (s *Store) CompleteAttachment(ctx context.Context, a chat.Attachment) (bool, error) {
	o, ok := oid(a.ID)
	if !ok {
		return false, nil
	}
	res, err := s.attachments.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}, {Key: "content_type", Value: ""}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "content_type", Value: a.ContentType}, {Key: "size", Value: a.Size},
			{Key: "width", Value: a.Width}, {Key: "height", Value: a.Height},
			{Key: "blob_key", Value: a.BlobKey}, {Key: "thumb_key", Value: a.ThumbKey},
			{Key: "thumb_width", Value: a.ThumbWidth}, {Key: "thumb_height", Value: a.ThumbHeight},
		}}})
	if err != nil {
		return false, err
	}
	return res.ModifiedCount > 0, nil
}

// DetachFromMessage implements chat.AttachmentStore.
func (s *Store) DetachFromMessage(ctx context.Context, id, messageID string) error {
	o, ok := oid(id)
	if !ok {
		return nil
	}
	_, err := s.attachments.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}, {Key: "message_id", Value: messageID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "message_id", Value: ""}}}})
	return err
}

// DeleteAttachment implements chat.AttachmentStore.
func (s *Store) DeleteAttachment(ctx context.Context, id string) error {
	o, ok := oid(id)
	if !ok {
		return notFound("attachment")
	}
	res, err := s.attachments.DeleteOne(ctx, bson.D{{Key: "_id", Value: o}})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return notFound("attachment")
	}
	return nil
}

// UnattachedBefore implements chat.AttachmentStore from the
// {message_id, created_at} index.
func (s *Store) UnattachedBefore(ctx context.Context, t time.Time, limit int) ([]chat.Attachment, error) {
	ds, err := findAll[attachmentDoc](ctx, s.attachments,
		bson.D{{Key: "message_id", Value: ""}, {Key: "created_at", Value: bson.D{{Key: "$lt", Value: utc(t)}}}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	out := make([]chat.Attachment, len(ds))
	for i, d := range ds {
		out[i] = d.attachment()
	}
	return out, nil
}

// AttachmentsIn implements chat.AttachmentStore from the {channel_id} or
// the {server_id, size} index.
func (s *Store) AttachmentsIn(ctx context.Context, serverID, channelID string, limit int) ([]chat.Attachment, error) {
	f := bson.D{{Key: "server_id", Value: serverID}}
	if channelID != "" {
		f = bson.D{{Key: "channel_id", Value: channelID}}
	}
	ds, err := findAll[attachmentDoc](ctx, s.attachments, f, options.Find().SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	out := make([]chat.Attachment, len(ds))
	for i, d := range ds {
		out[i] = d.attachment()
	}
	return out, nil
}

// byServerSize is the {server_id, size} index, which BytesByServer reads.
var byServerSize = bson.D{{Key: "server_id", Value: 1}, {Key: "size", Value: 1}}

// BytesByServer implements chat.AttachmentStore: a range of the
// {server_id, size} index grouped by server_id in the database, read
// through a cursor. One $match and one $group with a single $sum, which
// MongoDB and FerretDB both run correctly.
func (s *Store) BytesByServer(ctx context.Context, fn func(serverID string, bytes int64) error) error {
	p := mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "server_id", Value: bson.D{{Key: "$gt", Value: ""}}}}}},
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: "$server_id"},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: "$size"}}},
		}}},
	}
	cur, err := s.attachments.Aggregate(ctx, p, options.Aggregate().SetHint(byServerSize))
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d struct {
			ID string `bson:"_id"`
			N  int64  `bson:"n"`
		}
		if err := cur.Decode(&d); err != nil {
			return err
		}
		if err := fn(d.ID, d.N); err != nil {
			return err
		}
	}
	return cur.Err()
}
