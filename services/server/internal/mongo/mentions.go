package mongo

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/services/server/internal/chat"
)

// mentionDoc is a document of the mentions collection: one per (user,
// message), _id "<user_id>/<message_id>".
type mentionDoc struct {
	ID        string `bson:"_id"`
	UserID    string `bson:"user_id"`
	MessageID string `bson:"message_id"` // hex; hex order is id order
	ChannelID string `bson:"channel_id"`
	ServerID  string `bson:"server_id"`
	AuthorID  string `bson:"author_id"`
}

func (d mentionDoc) mention() chat.Mention {
	return chat.Mention{UserID: d.UserID, MessageID: d.MessageID, ChannelID: d.ChannelID, ServerID: d.ServerID, AuthorID: d.AuthorID}
}

// The hints of the mention reads.
var (
	mentionsByUserChannel = bson.D{{Key: "user_id", Value: 1}, {Key: "channel_id", Value: 1}, {Key: "message_id", Value: 1}}
	mentionsByUser        = bson.D{{Key: "user_id", Value: 1}, {Key: "message_id", Value: 1}}
)

// AddMentions implements chat.MentionIndex: one unordered insert; entries
// already stored are duplicates of their _id and left as they are.
func (s *Store) AddMentions(ctx context.Context, ms []chat.Mention) error {
	if len(ms) == 0 {
		return nil
	}
	docs := make([]any, len(ms))
	for i, m := range ms {
		docs[i] = mentionDoc{
			ID: m.UserID + "/" + m.MessageID, UserID: m.UserID, MessageID: m.MessageID,
			ChannelID: m.ChannelID, ServerID: m.ServerID, AuthorID: m.AuthorID,
		}
	}
	_, err := s.mentions.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err != nil && onlyDuplicates(err) {
		return nil
	}
	return err
}

// onlyDuplicates reports whether every write error of a bulk insert is a
// duplicate key.
func onlyDuplicates(err error) bool {
	var bw mongo.BulkWriteException
	if !errors.As(err, &bw) {
		return mongox.IsDuplicateKey(err)
	}
	if bw.WriteConcernError != nil {
		return false
	}
	for _, we := range bw.WriteErrors {
		if we.Code != 11000 {
			return false
		}
	}
	return true
}

// DeleteMentions implements chat.MentionIndex.
func (s *Store) DeleteMentions(ctx context.Context, messageID string) error {
	_, err := s.mentions.DeleteMany(ctx, bson.D{{Key: "message_id", Value: messageID}})
	return err
}

// CountMentions implements chat.MentionIndex: at most limit entries of the
// (user_id, channel_id, message_id) index.
func (s *Store) CountMentions(ctx context.Context, userID, channelID, after string, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	f := bson.D{{Key: "user_id", Value: userID}, {Key: "channel_id", Value: channelID}}
	if after != "" {
		f = append(f, bson.E{Key: "message_id", Value: bson.D{{Key: "$gt", Value: after}}})
	}
	docs, err := findAll[struct {
		ID string `bson:"_id"`
	}](ctx, s.mentions, f, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).
		SetLimit(int64(limit)).SetHint(mentionsByUserChannel))
	return len(docs), err
}

// ListMentions implements chat.MentionIndex: one range of the (user_id,
// message_id) index, read backwards.
func (s *Store) ListMentions(ctx context.Context, userID, before string, limit int) ([]chat.Mention, error) {
	if limit <= 0 {
		return nil, nil
	}
	f := bson.D{{Key: "user_id", Value: userID}}
	if before != "" {
		f = append(f, bson.E{Key: "message_id", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	return all(ctx, s.mentions, mentionDoc.mention, f, options.Find().
		SetSort(bson.D{{Key: "message_id", Value: -1}}).SetLimit(int64(limit)).SetHint(mentionsByUser))
}

// notifyDoc is a document of the notify_settings collection, _id
// "<user_id>/<server_id>/<channel_id>".
type notifyDoc struct {
	ID        string `bson:"_id"`
	UserID    string `bson:"user_id"`
	ServerID  string `bson:"server_id"`
	ChannelID string `bson:"channel_id"`
	Level     int    `bson:"level"`
	Muted     bool   `bson:"muted"`
}

// PutNotifySetting implements chat.NotifySettingStore: a replace by _id.
func (s *Store) PutNotifySetting(ctx context.Context, n chat.NotifySetting) error {
	d := notifyDoc{
		ID: n.UserID + "/" + n.ServerID + "/" + n.ChannelID, UserID: n.UserID, ServerID: n.ServerID,
		ChannelID: n.ChannelID, Level: n.Level, Muted: n.Muted,
	}
	_, err := s.notify.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d, options.Replace().SetUpsert(true))
	return err
}

// NotifySettings implements chat.NotifySettingStore.
func (s *Store) NotifySettings(ctx context.Context, userID string) ([]chat.NotifySetting, error) {
	return all(ctx, s.notify, func(d notifyDoc) chat.NotifySetting {
		return chat.NotifySetting{UserID: d.UserID, ServerID: d.ServerID, ChannelID: d.ChannelID, Level: d.Level, Muted: d.Muted}
	}, bson.D{{Key: "user_id", Value: userID}})
}
