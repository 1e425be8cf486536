package chat

import (
	"context"
	"time"
)

// The stores of reactions and pins: documents (rows) of their own, one per
// (message, emoji, user) and one per (channel, message), each kept unique by
// an index, never arrays growing inside a message. Counts are derived on
// read from those unique entries, so they are exact without transactions
// (FerretDB has none): of concurrent adds of one reaction exactly one
// insert wins the unique index, and a remove deletes at most one entry.

// Reaction is one user's reaction with one emoji to one message.
type Reaction struct {
	MessageID string
	ChannelID string
	Emoji     string
	UserID    string
	CreatedAt time.Time
}

// ReactionCount is how many users reacted to one message with one emoji.
type ReactionCount struct {
	MessageID string
	Emoji     string
	Count     int
	// First is when the emoji was first used on the message (the order
	// clients show the emojis in).
	First time.Time
}

// ReactionStore keeps reactions: at most one per (message, emoji, user).
type ReactionStore interface {
	// AddReaction stores r and reports true, or reports false and changes
	// nothing when the user already reacted to the message with the emoji.
	// Of concurrent adds of one (message, emoji, user) exactly one reports
	// true.
	AddReaction(ctx context.Context, r Reaction) (bool, error)
	// RemoveReaction deletes the user's reaction and reports whether there
	// was one (of concurrent removes exactly one reports true).
	RemoveReaction(ctx context.Context, messageID, emoji, userID string) (bool, error)
	// ReactionCounts returns the counts of every emoji used on the given
	// messages, in no particular order; messages without reactions have
	// no entry.
	ReactionCounts(ctx context.Context, messageIDs []string) ([]ReactionCount, error)
	// UserReactions returns the user's reactions to the given messages.
	UserReactions(ctx context.Context, userID string, messageIDs []string) ([]Reaction, error)
	// Reactors returns at most limit reactions of the message with the
	// emoji whose user ids are greater than afterUserID ("" from the
	// start), in user id order.
	Reactors(ctx context.Context, messageID, emoji, afterUserID string, limit int) ([]Reaction, error)
	// DeleteMessageReactions removes every reaction to the message.
	DeleteMessageReactions(ctx context.Context, messageID string) error
}

// Pin is a pinned message.
type Pin struct {
	ChannelID string
	MessageID string
	PinnedBy  string
	PinnedAt  time.Time
}

// PinStore keeps pins: at most one per (channel, message).
type PinStore interface {
	// AddPin stores p and reports true, or reports false and changes
	// nothing when the message is pinned already (of concurrent pins of one
	// message exactly one reports true).
	AddPin(ctx context.Context, p Pin) (bool, error)
	// RemovePin deletes the pin and reports whether there was one.
	RemovePin(ctx context.Context, channelID, messageID string) (bool, error)
	// Pins returns at most limit pins of the channel, the latest first.
	Pins(ctx context.Context, channelID string, limit int) ([]Pin, error)
	// PinnedAmong returns which of the channel's messages among messageIDs
	// are pinned.
	PinnedAmong(ctx context.Context, channelID string, messageIDs []string) ([]string, error)
}
