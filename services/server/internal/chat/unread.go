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
