package sqlite

import (
	"context"

	"github.com/accordchat/accord/services/server/internal/chat"
)

var (
	_ chat.ReactionStore = (*Store)(nil)
	_ chat.PinStore      = (*Store)(nil)
)

// Reactions and pins: one row each, kept unique by the primary key; an
// insert that meets it changes nothing (ON CONFLICT DO NOTHING), so
// changes() tells whether this call added it.

func scanReaction(r rowScanner) (chat.Reaction, error) {
	var x chat.Reaction
	var at int64
	if err := r.Scan(&x.MessageID, &x.ChannelID, &x.Emoji, &x.UserID, &at); err != nil {
		return chat.Reaction{}, err
	}
	x.CreatedAt = fromMillis(at)
	return x, nil
}

// AddReaction implements chat.ReactionStore.
func (s *Store) AddReaction(ctx context.Context, r chat.Reaction) (bool, error) {
	return s.exec(ctx, "add reaction", qAddReaction, r.MessageID, r.Emoji, r.UserID, r.ChannelID, millis(r.CreatedAt))
}

// RemoveReaction implements chat.ReactionStore.
func (s *Store) RemoveReaction(ctx context.Context, messageID, emoji, userID string) (bool, error) {
	return s.exec(ctx, "remove reaction", qRemoveReaction, messageID, emoji, userID)
}

// ReactionCounts implements chat.ReactionStore.
func (s *Store) ReactionCounts(ctx context.Context, messageIDs []string) ([]chat.ReactionCount, error) {
	if len(messageIDs) == 0 {
		return nil, nil
	}
	return list(ctx, s, "count reactions", func(r rowScanner) (chat.ReactionCount, error) {
		var c chat.ReactionCount
		var first int64
		if err := r.Scan(&c.MessageID, &c.Emoji, &c.Count, &first); err != nil {
			return chat.ReactionCount{}, err
		}
		c.First = fromMillis(first)
		return c, nil
	}, qReactionCounts, idList(messageIDs))
}

// UserReactions implements chat.ReactionStore.
func (s *Store) UserReactions(ctx context.Context, userID string, messageIDs []string) ([]chat.Reaction, error) {
	if len(messageIDs) == 0 {
		return nil, nil
	}
	return list(ctx, s, "find reactions", scanReaction, qUserReactions, userID, idList(messageIDs))
}

// Reactors implements chat.ReactionStore.
func (s *Store) Reactors(ctx context.Context, messageID, emoji, afterUserID string, limit int) ([]chat.Reaction, error) {
	if limit <= 0 {
		return nil, nil
	}
	return list(ctx, s, "list reactions", scanReaction, qReactors, messageID, emoji, afterUserID, limit)
}

// DeleteMessageReactions implements chat.ReactionStore.
func (s *Store) DeleteMessageReactions(ctx context.Context, messageID string) error {
	_, err := s.exec(ctx, "delete reactions", qDeleteMessageReactions, messageID)
	return err
}

// AddPin implements chat.PinStore.
func (s *Store) AddPin(ctx context.Context, p chat.Pin) (bool, error) {
	return s.exec(ctx, "add pin", qAddPin, p.ChannelID, p.MessageID, p.PinnedBy, millis(p.PinnedAt))
}

// RemovePin implements chat.PinStore.
func (s *Store) RemovePin(ctx context.Context, channelID, messageID string) (bool, error) {
	return s.exec(ctx, "remove pin", qRemovePin, channelID, messageID)
}

// Pins implements chat.PinStore.
func (s *Store) Pins(ctx context.Context, channelID string, limit int) ([]chat.Pin, error) {
	if limit <= 0 {
		return nil, nil
	}
	return list(ctx, s, "list pins", func(r rowScanner) (chat.Pin, error) {
		var p chat.Pin
		var at int64
		if err := r.Scan(&p.ChannelID, &p.MessageID, &p.PinnedBy, &at); err != nil {
			return chat.Pin{}, err
		}
		p.PinnedAt = fromMillis(at)
		return p, nil
	}, qPins, channelID, limit)
}

// PinnedAmong implements chat.PinStore.
func (s *Store) PinnedAmong(ctx context.Context, channelID string, messageIDs []string) ([]string, error) {
	if len(messageIDs) == 0 {
		return nil, nil
	}
	return list(ctx, s, "find pins", func(r rowScanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, qPinnedAmong, channelID, idList(messageIDs))
}
