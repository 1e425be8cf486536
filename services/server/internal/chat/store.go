package chat

import (
	"context"
	"time"
)

// This file holds the chat domain's stored types and the storage it needs.
// internal/mongo implements the stores; the contract suites in
// internal/storetest pin down what every implementation must do.
//
// Conventions (the same as package guild's stores):
//   - Ids are opaque strings made by package ids; string order is creation
//     order, and message history pages by it. A store may assume ids were
//     made there; an id of another shape names nothing (NotFound on a
//     lookup, no match in a range).
//   - "NotFound"/"AlreadyExists" mean errors matching errs.ErrNotFound /
//     errs.ErrAlreadyExists with errors.Is; anything else is a storage
//     failure.
//   - Times are stored to the millisecond and come back in UTC.

// Message is a stored message.
type Message struct {
	// ID is made by the sender under the channel's lock (ids.After), so a
	// channel's ids grow in the order its messages were sent.
	ID        string
	ServerID  string
	ChannelID string
	AuthorID  string
	Content   string
	CreatedAt time.Time
	// EditedAt is the time of the last edit; nil if never edited.
	EditedAt *time.Time
	// ReplyToID is the message this one answers ("" none). The replied-to
	// message may have been deleted since.
	ReplyToID string
	// RequestID is the client's idempotency key ("" none). A store keeps at
	// most one message per (AuthorID, RequestID) with RequestID not empty.
	RequestID string
	// Mentions are the message's resolved mentions (stored with it).
	Mentions Mentions
}

// MessageRef is the part of a message that unread counts need.
type MessageRef struct {
	ID       string
	AuthorID string
}

// MessagePage selects a range of one channel's history. At most one of
// Before and After is set.
type MessagePage struct {
	// Before selects messages with an id less than it, newest first.
	Before string
	// After selects messages with an id greater than it, oldest first
	// (the ones closest to After).
	After string
	// Limit is the most messages returned (> 0).
	Limit int
}

// MessageStore keeps messages.
type MessageStore interface {
	// CreateMessage stores m as given (m.ID set by the caller). It returns
	// AlreadyExists when m.ID is taken, or when m.RequestID is not empty
	// and the author already has a message with that request id; the
	// latter is atomic: of concurrent creates with one (author, request id)
	// exactly one succeeds.
	CreateMessage(ctx context.Context, m Message) error
	// CreateMessages stores each of ms as CreateMessage does, in one
	// transaction (SQLite) or one unordered bulk insert (MongoDB), and
	// returns one error per message: nil when it is stored, AlreadyExists
	// on CreateMessage's conflicts (the others are stored all the same).
	// A failure of the whole call is err (the per-message errors are then
	// nil): nothing is stored on SQLite; on MongoDB any of ms may be.
	CreateMessages(ctx context.Context, ms []Message) (per []error, err error)
	// Message returns the message with the id, or NotFound.
	Message(ctx context.Context, id string) (Message, error)
	// MessageByRequest returns the author's message created with the
	// request id, or NotFound (also for an empty request id).
	MessageByRequest(ctx context.Context, authorID, requestID string) (Message, error)
	// MessagesByID returns the messages among ids that exist, in no
	// particular order; unknown and malformed ids are left out.
	MessagesByID(ctx context.Context, ids []string) ([]Message, error)
	// ListMessages returns at most p.Limit messages of the channel: with
	// p.After set, those with greater ids in ascending id order starting
	// right after p.After; otherwise those with ids less than p.Before
	// (any id when empty) in descending id order starting right before it.
	// The cost does not depend on how long the channel's history is.
	ListMessages(ctx context.Context, channelID string, p MessagePage) ([]Message, error)
	// NewestMessages returns the newest at most limit messages of the
	// channel with an id greater than after ("" any), newest first, as
	// refs. ReadStates count unread messages with it.
	NewestMessages(ctx context.Context, channelID, after string, limit int) ([]MessageRef, error)
	// EditMessage sets the message's Content, Mentions and EditedAt, or
	// NotFound.
	EditMessage(ctx context.Context, id, content string, mentions Mentions, at time.Time) error
	// DeleteMessage deletes the message; NotFound when there is none (of
	// concurrent deletes of one message exactly one succeeds).
	DeleteMessage(ctx context.Context, id string) error
	// OldestMessageTime returns the CreatedAt of the oldest message; false
	// when there is none. It reads one index entry.
	OldestMessageTime(ctx context.Context) (time.Time, bool, error)
	// CountMessages calls fn once for every (author, server) pair with how
	// many messages created in [from, to) it has, pairs in no particular
	// order, and stops at fn's first error. It scans the range through an
	// index on CreatedAt and holds the counts of one range, never the
	// messages.
	CountMessages(ctx context.Context, from, to time.Time, fn func(MessageCount) error) error
	// ScanMessages returns at most limit messages with ids greater than
	// after ("" any), across all channels, in ascending id order, read
	// along the id index. The search service rebuilds its index from it.
	ScanMessages(ctx context.Context, after string, limit int) ([]Message, error)
}

// MessageCount is how many messages one author created in one server.
type MessageCount struct {
	AuthorID string
	ServerID string
	N        int64
}

// ReadMarker is how far one user has read in one channel.
type ReadMarker struct {
	UserID    string
	ChannelID string
	ServerID  string
	// LastReadID is the id of the last message read.
	LastReadID string
	UpdatedAt  time.Time
}

// ReadStateStore keeps read markers: at most one per (user, channel).
type ReadStateStore interface {
	// AdvanceReadMarker sets the user's marker in the channel to
	// m.LastReadID (and m.UpdatedAt) if there is none yet or the stored one
	// is less, creating it if needed; it reports whether it moved. A marker
	// never moves back: concurrent calls leave the greatest id, and each
	// call reports true only if its id was written.
	AdvanceReadMarker(ctx context.Context, m ReadMarker) (bool, error)
	// ReadMarker returns the user's last read id in the channel, "" when
	// the user has no marker there.
	ReadMarker(ctx context.Context, userID, channelID string) (string, error)
	// ReadMarkers returns the user's last read ids in the given channels,
	// keyed by channel id; channels without a marker are left out.
	ReadMarkers(ctx context.Context, userID string, channelIDs []string) (map[string]string, error)
}

// Mention is one entry of the mention index: a message that notifies a
// user (mentioned directly, or through @everyone). A message has at most
// one entry per user.
type Mention struct {
	UserID    string
	MessageID string
	ChannelID string
	ServerID  string
	AuthorID  string
}

// MentionIndex keeps the mention entries: what mention counts and the
// inbox of mentions read.
type MentionIndex interface {
	// AddMentions stores the entries; an entry already stored (same user
	// and message) is left as it is.
	AddMentions(ctx context.Context, ms []Mention) error
	// DeleteMentions deletes every entry of the message (none is not an
	// error).
	DeleteMentions(ctx context.Context, messageID string) error
	// CountMentions counts the user's entries in the channel with a
	// message id greater than after ("" any), reading at most limit.
	CountMentions(ctx context.Context, userID, channelID, after string, limit int) (int, error)
	// ListMentions returns at most limit of the user's entries with a
	// message id less than before ("" any), newest first.
	ListMentions(ctx context.Context, userID, before string, limit int) ([]Mention, error)
}

// Notification levels of a server.
const (
	LevelDefault  = 0 // every message, the default
	LevelAll      = 1
	LevelMentions = 2
	LevelNothing  = 3
)

// NotifySetting is one user's setting of one server (ChannelID "") or of
// one channel of it.
type NotifySetting struct {
	UserID    string
	ServerID  string
	ChannelID string
	// Level is a server's level (Level* constants); 0 on a channel's.
	Level int
	// Muted is set on a muted channel's setting.
	Muted bool
}

// NotifySettingStore keeps notification settings: at most one per (user,
// server, channel).
type NotifySettingStore interface {
	// PutNotifySetting creates or replaces the setting of (UserID,
	// ServerID, ChannelID).
	PutNotifySetting(ctx context.Context, s NotifySetting) error
	// NotifySettings returns every setting of the user, in no particular
	// order.
	NotifySettings(ctx context.Context, userID string) ([]NotifySetting, error)
}

// Attachment is a stored file: its bytes are in the blob store under
// BlobKey (and a thumbnail under ThumbKey for images), the rest here.
type Attachment struct {
	ID         string
	ServerID   string
	ChannelID  string
	UploaderID string
	// MessageID is the message carrying the file; "" until it is sent (an
	// upload that stays unattached past the grace period is deleted).
	MessageID string
	// Name is the file name the uploader gave (cleaned).
	Name string
	// ContentType is sniffed from the bytes, never taken from the client;
	// "" while the upload is pending (CreateUpload until CompleteUpload): a
	// pending upload is neither readable nor sendable.
	ContentType string
	Size        int64
	// Width and Height are an image's dimensions (0 for other files).
	Width, Height int
	// BlobKey names the bytes served; random, so unguessable.
	BlobKey string
	// ThumbKey names the thumbnail ("" none), ThumbWidth x ThumbHeight.
	ThumbKey                string
	ThumbWidth, ThumbHeight int
	CreatedAt               time.Time
}

// AttachmentStore keeps attachment metadata.
type AttachmentStore interface {
	// CreateAttachment stores a as given (a.ID set by the caller);
	// AlreadyExists when the id is taken.
	CreateAttachment(ctx context.Context, a Attachment) error
	// Attachment returns the attachment with the id, or NotFound.
	Attachment(ctx context.Context, id string) (Attachment, error)
	// AttachmentsOf returns the attachments of the messages, in no
	// particular order.
	AttachmentsOf(ctx context.Context, messageIDs []string) ([]Attachment, error)
	// AttachToMessage sets the attachment's MessageID to messageID if it
	// has none; it reports whether it did (false for a missing attachment
	// or one attached already).
	AttachToMessage(ctx context.Context, id, messageID string) (bool, error)
	// CompleteAttachment stores what a.ID's pending upload became
	// (content type, size, dimensions, keys) if it is still pending (its
	// ContentType is ""); it reports whether it did.
	CompleteAttachment(ctx context.Context, a Attachment) (bool, error)
	// DetachFromMessage clears MessageID if it is messageID (a send that
	// failed after attaching).
	DetachFromMessage(ctx context.Context, id, messageID string) error
	// DeleteAttachment deletes the attachment's metadata; NotFound when
	// there is none.
	DeleteAttachment(ctx context.Context, id string) error
	// UnattachedBefore returns at most limit attachments with no message
	// created before t, oldest first.
	UnattachedBefore(ctx context.Context, t time.Time, limit int) ([]Attachment, error)
	// AttachmentsIn returns at most limit attachments of the channel, or of
	// the server when channelID is "", sent or not, in no particular order
	// (the files of a deleted channel or server, deleted as they are read).
	AttachmentsIn(ctx context.Context, serverID, channelID string, limit int) ([]Attachment, error)
	// BytesByServer calls fn with the total size of each server's
	// attachments, sent or not, once per server that has any, in no
	// particular order, and stops at fn's first error. It sums in the
	// database from the {server_id, size} index.
	BytesByServer(ctx context.Context, fn func(serverID string, bytes int64) error) error
}
