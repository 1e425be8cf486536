package chat

import (
	"context"
	"errors"
	"time"
)

// This file holds what the chat domain needs besides its stores: the
// short-lived coordination state (internal/redis implements it) and the
// event log (the caller's adapter turns domain values into events).

// View is a message as clients see it: with its author's display name and
// a preview of the message it replies to.
type View struct {
	Message
	// AuthorName is the author's display name ("" when unknown).
	AuthorName string
	// ReplyTo previews Message.ReplyToID; nil when the message replies to
	// nothing.
	ReplyTo *Preview
	// Reactions summarise the message's reactions, in the order each emoji
	// was first used.
	Reactions []ReactionSummary
	// Pinned tells whether the message is pinned in its channel.
	Pinned bool
	// Attachments are the files the message carries, in upload order.
	Attachments []Attachment
}

// Preview is the start of a replied-to message.
type Preview struct {
	ID         string
	AuthorID   string
	AuthorName string
	// Content is at most PreviewLen characters.
	Content string
	// Deleted is set when the replied-to message is gone (the other
	// fields but ID are then empty).
	Deleted bool
}

// ReadState is one user's position in one channel.
type ReadState struct {
	ServerID   string
	ChannelID  string
	LastReadID string
	// LastMessageID is the channel's newest message ("" when empty).
	LastMessageID string
	// UnreadCount counts others' messages after LastReadID, at most UnreadCap.
	UnreadCount int
	// MentionCount counts the messages after LastReadID that mention the
	// user, at most UnreadCap.
	MentionCount int
	// Muted is set when the user muted the channel.
	Muted bool
	// Level is the user's notification level of the server (never
	// LevelDefault).
	Level int
}

// Typing is an announcement that a user is typing in a channel.
type Typing struct {
	ServerID, ChannelID, UserID string
	DisplayName                 string
	At                          time.Time
	// Until is when the indicator stops showing unless renewed.
	Until time.Time
}

// Events is where the chat domain announces what it changed, after the
// change is stored. Implementations append to the event log the feed reads.
type Events interface {
	// MessageCreated announces a new message in its server's log. held,
	// when not nil, is the message's channel lock: the implementation
	// releases it (recording m.ID as allocated) once the event is in the
	// log, whether or not the append succeeded, so the channel's order of
	// events is the order of its ids. If held expired before the append
	// (its holder stalled past the lock's lifetime, and a redelivery may
	// have announced m meanwhile), nothing is appended and the error is
	// ErrLockLost.
	MessageCreated(ctx context.Context, m View, held ChannelLock) error
	// MessagesCreated is MessageCreated for messages of one channel, all
	// under held (not nil), in their order: it releases held recording
	// allocated (the greatest id allocated under it) once the events are
	// in the log, all of them or none (then the error; ErrLockLost as
	// MessageCreated).
	MessagesCreated(ctx context.Context, ms []View, held ChannelLock, allocated string) error
	// MessageUpdated announces an edit.
	MessageUpdated(ctx context.Context, m View) error
	// MessageDeleted announces a deletion.
	MessageDeleted(ctx context.Context, m Message) error
	// MessageAnnounced reports whether m's creation is in its server's log
	// already (a sender may have died after announcing it).
	MessageAnnounced(ctx context.Context, m Message) (bool, error)
	// ReadStateUpdated tells the user's other clients about a moved marker.
	ReadStateUpdated(ctx context.Context, userID string, st ReadState) error
	// NotificationSettingsUpdated tells the user's clients about their new
	// settings of a server.
	NotificationSettingsUpdated(ctx context.Context, userID string, st ServerSettings) error
	// Typing publishes a typing indicator to the channel's server. It is
	// not logged: a reconnecting client does not need old typing.
	Typing(ctx context.Context, t Typing) error
	// ReactionChanged announces an added (added true) or removed reaction
	// with the emoji's count after the change.
	ReactionChanged(ctx context.Context, c ReactionChange, added bool) error
	// PinChanged announces a pin (pinned true, c.Pin set) or an unpin.
	PinChanged(ctx context.Context, c PinChange, pinned bool) error
}

// RateLimiter bounds how fast one user sends in one channel.
type RateLimiter interface {
	// Allow admits one send of the user in the channel and returns 0 when
	// fewer than limit sends were admitted in the last window (the send is
	// then counted); otherwise it counts nothing and returns how long until
	// a send would be admitted (> 0). Every instance shares the count.
	Allow(ctx context.Context, userID, channelID string, limit int, window time.Duration) (time.Duration, error)
}

// RequestRecords remember which message a request id created. They only
// save a retry a store query: the store's unique (author, request id) is
// the guarantee, so a record may be lost.
type RequestRecords interface {
	// Remember records that the author's request created the message, for ttl.
	Remember(ctx context.Context, authorID, requestID, messageID string, ttl time.Duration) error
	// Recall returns the message id recorded for the request, "" when none.
	Recall(ctx context.Context, authorID, requestID string) (string, error)
}

// OutboxEntry names a message that may be stored but not yet announced.
type OutboxEntry struct {
	ChannelID, MessageID string
}

// Outbox holds messages between their insert and their announcement (see
// outbox.go). It is shared by every instance.
type Outbox interface {
	// Add records e as entering at time at (adding it again moves its time).
	Add(ctx context.Context, e OutboxEntry, at time.Time) error
	// AddAll adds each of es at time at, in one step.
	AddAll(ctx context.Context, es []OutboxEntry, at time.Time) error
	// Remove forgets e; removing an absent entry is not an error.
	Remove(ctx context.Context, e OutboxEntry) error
	// Pending reports whether e is in the outbox.
	Pending(ctx context.Context, e OutboxEntry) (bool, error)
	// Due returns at most limit entries that entered at or before t,
	// oldest first.
	Due(ctx context.Context, t time.Time, limit int) ([]OutboxEntry, error)
}

// ChannelLocks serialise the writes of one channel across instances: a
// message id is allocated, the message stored and announced under the
// lock, so history order is event order everywhere.
type ChannelLocks interface {
	// Lock takes the channel's lock, waiting a bounded time for it; when it
	// stays taken it returns errs.Unavailable, and ctx's error when ctx
	// ends first. A lock whose holder vanished expires by itself.
	Lock(ctx context.Context, channelID string) (ChannelLock, error)
}

// OutboxLocks is an optional side of ChannelLocks: LockAdding takes the
// channel's lock as Lock does and, in the same step, adds es to the Outbox
// at time at, reporting whether it did (when not, the caller adds them).
// The entries' ids are allocated before the lock is taken, so the caller
// checks them against the lock's LastID.
type OutboxLocks interface {
	LockAdding(ctx context.Context, channelID string, es []OutboxEntry, at time.Time) (ChannelLock, bool, error)
}

// ErrLockLost is returned by an append fenced by a channel lock that had
// expired: nothing was appended.
var ErrLockLost = errors.New("channel lock expired before the append")

// ChannelLock is a held channel lock.
type ChannelLock interface {
	// LastID is the id recorded by the last Unlock of this channel's lock
	// ("" none), so the holder can allocate a greater one (ids.After).
	LastID() string
	// Unlock releases the lock, recording allocated as the channel's last
	// id when not empty. Calls after the first do nothing.
	Unlock(allocated string)
}

// TypingWindows throttle typing announcements: one per user and channel
// per window.
type TypingWindows interface {
	// Open opens the user's window in the channel for every, recording
	// until, and returns (true, until). If a window is open already it
	// changes nothing and returns false and the until recorded by its
	// opener.
	Open(ctx context.Context, channelID, userID string, until time.Time, every time.Duration) (bool, time.Time, error)
	// Close closes the user's window in the channel (a sent message ends
	// the indicator, so the next keystroke is announced at once).
	Close(ctx context.Context, channelID, userID string) error
}

// SendDone does the steps that end a send after its announcement in one
// round trip: RequestRecords.Remember of m's request id for remember (when
// both are set), Outbox.Remove of e, TypingWindows.Close of m's author
// (when closeTyping) and Activity.Record of "message_created". It reports
// each step's failure apart. It is optional (Deps.SendDone); without it
// Send takes the steps one by one.
type SendDone interface {
	SendDone(ctx context.Context, m Message, e OutboxEntry, remember time.Duration, closeTyping bool) SendDoneErrors
}

// SendDoneOnRelease is an optional side of a SendDone: it queues SendDone's
// steps for m on held, to run in the round trip of Events.MessagesCreated
// that announces m and releases held, right after the release and only if
// the announcement is made, and reports whether it could (a failed step is
// logged there). Send then skips SendDone.
type SendDoneOnRelease interface {
	SendDoneOnRelease(held ChannelLock, m Message, e OutboxEntry, remember time.Duration, closeTyping bool) bool
}

// SendDoneErrors are the failures of SendDone's steps.
type SendDoneErrors struct {
	Request, Outbox, Typing, Activity error
}

// Activity is the stream of message activity the stats service reads.
type Activity interface {
	// Record appends one entry of kind ("message_created",
	// "message_deleted") about m.
	Record(ctx context.Context, kind string, m Message) error
}
