package chat

import "context"

// UnreadCounter is what a MessageStore may also implement to count a
// channel's unread messages where they are stored, instead of handing
// their refs over one by one (the SQLite store: a first screen reads the
// state of hundreds of channels).
type UnreadCounter interface {
	// UnreadCount counts the messages not authored by userID among the
	// newest at most limit messages of the channel with an id greater than
	// after ("" any), and returns the id of the channel's newest message
	// ("" when it has none): what NewestMessages would tell.
	UnreadCount(ctx context.Context, channelID, after, userID string, limit int) (unread int, newestID string, err error)
}

// UnreadQuery is one channel of a batch count: the channel and the id of
// the caller's read marker in it ("" none).
type UnreadQuery struct {
	ChannelID, After string
}

// UnreadBatcher is what a MessageStore may also implement to count the
// unread messages of many channels in one read of the store (the SQLite
// store: one read transaction, where per-channel calls took the file's
// locks twice per channel).
type UnreadBatcher interface {
	// UnreadCounts answers UnreadCount for each of qs, in order.
	UnreadCounts(ctx context.Context, userID string, qs []UnreadQuery, limit int) ([]UnreadCount, error)
}

// UnreadCount is UnreadCounter's answer for one channel.
type UnreadCount struct {
	Unread   int
	NewestID string
}

// MentionBatcher is what a MentionIndex may also implement to count the
// caller's mentions in many channels in one read of the store.
type MentionBatcher interface {
	// CountMentionsIn answers CountMentions for each of qs, in order.
	CountMentionsIn(ctx context.Context, userID string, qs []UnreadQuery, limit int) ([]int, error)
}
