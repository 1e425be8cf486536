package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/services/server/internal/chat"
)

// Reactions and pins are documents of their own, kept unique by an index;
// counts are derived on read from the unique entries, so they stay exact
// without transactions or conditional updates (which FerretDB does not make
// atomic).

// byReaction names the unique (message_id, emoji, user_id) index, the hint
// of the counts and of the reactor pages.
const byReaction = "reactions_message_emoji_user"

// reactionDoc is a document of the reactions collection.
type reactionDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	MessageID string        `bson:"message_id"`
	Emoji     string        `bson:"emoji"`
	UserID    string        `bson:"user_id"`
	ChannelID string        `bson:"channel_id"`
	CreatedAt time.Time     `bson:"created_at"`
}

func (d reactionDoc) reaction() chat.Reaction {
	return chat.Reaction{MessageID: d.MessageID, ChannelID: d.ChannelID, Emoji: d.Emoji, UserID: d.UserID, CreatedAt: d.CreatedAt.UTC()}
}

func reactionKey(messageID, emoji, userID string) bson.D {
	return bson.D{{Key: "message_id", Value: messageID}, {Key: "emoji", Value: emoji}, {Key: "user_id", Value: userID}}
}

// AddReaction implements chat.ReactionStore: the unique index decides.
func (s *Store) AddReaction(ctx context.Context, r chat.Reaction) (bool, error) {
	_, err := s.reactions.InsertOne(ctx, reactionDoc{
		ID: bson.NewObjectID(), MessageID: r.MessageID, Emoji: r.Emoji, UserID: r.UserID,
		ChannelID: r.ChannelID, CreatedAt: utc(r.CreatedAt),
	})
	if mongox.IsDuplicateKey(err) {
		return false, nil
	}
	return err == nil, err
}

// RemoveReaction implements chat.ReactionStore.
func (s *Store) RemoveReaction(ctx context.Context, messageID, emoji, userID string) (bool, error) {
	r, err := s.reactions.DeleteOne(ctx, reactionKey(messageID, emoji, userID))
	if err != nil {
		return false, err
	}
	return r.DeletedCount > 0, nil
}

// ReactionCounts implements chat.ReactionStore: the messages' entries of
// the unique index, counted here per (message, emoji). FerretDB has no $min
// accumulator (the first use of each emoji orders them), so the entries
// are read, projected to three fields, rather than grouped in the database;
// the cost is the page's reactions.
func (s *Store) ReactionCounts(ctx context.Context, messageIDs []string) ([]chat.ReactionCount, error) {
	type key struct{ m, e string }
	counts := map[key]*chat.ReactionCount{}
	var order []key
	for ids := range chunks(messageIDs, 1000) {
		cur, err := s.reactions.Find(ctx, bson.D{{Key: "message_id", Value: bson.D{{Key: "$in", Value: ids}}}},
			options.Find().SetProjection(bson.D{{Key: "_id", Value: 0}, {Key: "message_id", Value: 1}, {Key: "emoji", Value: 1}, {Key: "created_at", Value: 1}}).
				SetHint(byReaction))
		if err != nil {
			return nil, err
		}
		for cur.Next(ctx) {
			var d reactionDoc
			if err := cur.Decode(&d); err != nil {
				cur.Close(ctx)
				return nil, err
			}
			k := key{d.MessageID, d.Emoji}
			c, ok := counts[k]
			if !ok {
				c = &chat.ReactionCount{MessageID: d.MessageID, Emoji: d.Emoji, First: d.CreatedAt.UTC()}
				counts[k] = c
				order = append(order, k)
			}
			c.Count++
			if t := d.CreatedAt.UTC(); t.Before(c.First) {
				c.First = t
			}
		}
		err = cur.Err()
		cur.Close(ctx)
		if err != nil {
			return nil, err
		}
	}
	out := make([]chat.ReactionCount, len(order))
	for i, k := range order {
		out[i] = *counts[k]
	}
	return out, nil
}

// UserReactions implements chat.ReactionStore.
func (s *Store) UserReactions(ctx context.Context, userID string, messageIDs []string) ([]chat.Reaction, error) {
	var out []chat.Reaction
	for ids := range chunks(messageIDs, 1000) {
		rs, err := all(ctx, s.reactions, reactionDoc.reaction,
			bson.D{{Key: "user_id", Value: userID}, {Key: "message_id", Value: bson.D{{Key: "$in", Value: ids}}}})
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// Reactors implements chat.ReactionStore: one range of the unique index.
func (s *Store) Reactors(ctx context.Context, messageID, emoji, afterUserID string, limit int) ([]chat.Reaction, error) {
	if limit <= 0 {
		return nil, nil
	}
	f := bson.D{{Key: "message_id", Value: messageID}, {Key: "emoji", Value: emoji}}
	if afterUserID != "" {
		f = append(f, bson.E{Key: "user_id", Value: bson.D{{Key: "$gt", Value: afterUserID}}})
	}
	return all(ctx, s.reactions, reactionDoc.reaction, f,
		options.Find().SetSort(bson.D{{Key: "user_id", Value: 1}}).SetLimit(int64(limit)).SetHint(byReaction))
}

// DeleteMessageReactions implements chat.ReactionStore.
func (s *Store) DeleteMessageReactions(ctx context.Context, messageID string) error {
	_, err := s.reactions.DeleteMany(ctx, bson.D{{Key: "message_id", Value: messageID}})
	return err
}

// pinDoc is a document of the pins collection.
type pinDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	ChannelID string        `bson:"channel_id"`
	MessageID string        `bson:"message_id"`
	PinnedBy  string        `bson:"pinned_by"`
	PinnedAt  time.Time     `bson:"pinned_at"`
}

func (d pinDoc) pin() chat.Pin {
	return chat.Pin{ChannelID: d.ChannelID, MessageID: d.MessageID, PinnedBy: d.PinnedBy, PinnedAt: d.PinnedAt.UTC()}
}

// AddPin implements chat.PinStore: the unique (channel_id, message_id)
// index decides.
func (s *Store) AddPin(ctx context.Context, p chat.Pin) (bool, error) {
	_, err := s.pins.InsertOne(ctx, pinDoc{
		ID: bson.NewObjectID(), ChannelID: p.ChannelID, MessageID: p.MessageID, PinnedBy: p.PinnedBy, PinnedAt: utc(p.PinnedAt),
	})
	if mongox.IsDuplicateKey(err) {
		return false, nil
	}
	return err == nil, err
}

// RemovePin implements chat.PinStore.
func (s *Store) RemovePin(ctx context.Context, channelID, messageID string) (bool, error) {
	r, err := s.pins.DeleteOne(ctx, bson.D{{Key: "channel_id", Value: channelID}, {Key: "message_id", Value: messageID}})
	if err != nil {
		return false, err
	}
	return r.DeletedCount > 0, nil
}

// Pins implements chat.PinStore: the (channel_id, pinned_at, message_id)
// index read backwards.
func (s *Store) Pins(ctx context.Context, channelID string, limit int) ([]chat.Pin, error) {
	if limit <= 0 {
		return nil, nil
	}
	return all(ctx, s.pins, pinDoc.pin, bson.D{{Key: "channel_id", Value: channelID}},
		options.Find().SetSort(bson.D{{Key: "pinned_at", Value: -1}, {Key: "message_id", Value: -1}}).SetLimit(int64(limit)))
}

// PinnedAmong implements chat.PinStore.
func (s *Store) PinnedAmong(ctx context.Context, channelID string, messageIDs []string) ([]string, error) {
	var out []string
	for ids := range chunks(messageIDs, 1000) {
		ps, err := all(ctx, s.pins, func(d pinDoc) string { return d.MessageID },
			bson.D{{Key: "channel_id", Value: channelID}, {Key: "message_id", Value: bson.D{{Key: "$in", Value: ids}}}})
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}
