// Package mongo stores the server service's records (servers, members,
// channels, invites, messages, read states) in MongoDB, or FerretDB in tests
// and dev. It implements the guild and chat stores and uses only what both
// servers offer alike: unique indexes, single-document updates and
// findAndModify; no transactions, $expr or $lookup. Driver errors become the
// errs kinds the stores promise (NotFound, AlreadyExists).
package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// Collection names. The stats service still reads messages and servers
// with these names and fields.
const (
	ServersCollection     = "servers"
	MembersCollection     = "members"
	ChannelsCollection    = "channels"
	InvitesCollection     = "invites"
	InviteUsesCollection  = "invite_uses"
	MessagesCollection    = "messages"
	ReadStatesCollection  = "read_states"
	MentionsCollection    = "mentions"
	NotifyCollection      = "notify_settings"
	ReactionsCollection   = "reactions"
	PinsCollection        = "pins"
	AttachmentsCollection = "attachments"
)

// Indexes are the indexes the stores rely on: the unique ones enforce one
// membership per (server, user), one conversation per pair of users, one
// message per (author, request id) and one read marker per (user,
// channel); the others serve the paged and ranged reads.
func Indexes() []mongox.Index {
	ix := func(coll string, keys bson.D, opts ...*options.IndexOptionsBuilder) mongox.Index {
		m := mongo.IndexModel{Keys: keys}
		if len(opts) > 0 {
			m.Options = opts[0]
		}
		return mongox.Index{Collection: coll, Model: m}
	}
	k := func(names ...string) bson.D {
		d := make(bson.D, len(names))
		for i, n := range names {
			d[i] = bson.E{Key: n, Value: 1}
		}
		return d
	}
	return []mongox.Index{
		ix(MembersCollection, k("server_id", "user_id"), options.Index().SetUnique(true)),
		ix(MembersCollection, k("user_id", "_id")),
		ix(MembersCollection, k("server_id", "_id")),
		ix(MembersCollection, k("user_id", "kind", "_id")),
		ix(ChannelsCollection, k("server_id", "position")),
		ix(ServersCollection, k("dm_key"), options.Index().SetUnique(true).SetSparse(true)),
		ix(InvitesCollection, k("server_id", "_id")),
		ix(InviteUsesCollection, k("server_id")),
		ix(MessagesCollection, k("channel_id", "_id")),
		ix(MessagesCollection, k("request_key"), options.Index().SetUnique(true).SetSparse(true)),
		// Stats rebuilds count messages by creation time. The name is the one
		// the stats service gave this index when it read the collection
		// itself, so that databases it created the index in keep it.
		ix(MessagesCollection, k("created_at"), options.Index().SetName(byCreatedAt)),
		ix(ReadStatesCollection, k("user_id", "channel_id"), options.Index().SetUnique(true)),
		// Deleting a channel or a server deletes its read states by channel.
		ix(ReadStatesCollection, k("channel_id")),
		// Mention counts (a user's entries in a channel after the marker),
		// the inbox (a user's entries newest first), and the deletes of a
		// message's and a channel's entries.
		ix(MentionsCollection, k("user_id", "channel_id", "message_id")),
		ix(MentionsCollection, k("user_id", "message_id")),
		ix(MentionsCollection, k("message_id")),
		ix(MentionsCollection, k("channel_id")),
		// A user's notification settings.
		ix(NotifyCollection, k("user_id")),
		// One reaction per (message, emoji, user); it also serves the counts
		// of a page's messages, the users of one emoji in user id order and
		// deleting a message's reactions.
		ix(ReactionsCollection, k("message_id", "emoji", "user_id"), options.Index().SetUnique(true).SetName(byReaction)),
		// The caller's own reactions among a page's messages.
		ix(ReactionsCollection, k("user_id", "message_id")),
		// Deleting a channel's or a server's reactions (by its channels).
		ix(ReactionsCollection, k("channel_id")),
		// One pin per (channel, message): pinned flags of a page.
		ix(PinsCollection, k("channel_id", "message_id"), options.Index().SetUnique(true)),
		// A channel's pins, the latest first.
		ix(PinsCollection, k("channel_id", "pinned_at", "message_id")),
		// A message's files, and the unattached uploads by age (the orphan
		// sweeper asks message_id "" sorted by created_at).
		ix(AttachmentsCollection, k("message_id", "created_at")),
		// A deleted channel's or server's files; the bytes a server keeps.
		ix(AttachmentsCollection, k("channel_id")),
		ix(AttachmentsCollection, k("server_id", "size")),
	}
}

// Store implements every store of the guild and chat domains over one
// database.
type Store struct {
	servers, members, channels, invites, uses, messages, reads *mongo.Collection
	mentions, notify, reactions, pins                          *mongo.Collection
	attachments                                                *mongo.Collection
}

var (
	_ guild.Store             = (*Store)(nil)
	_ chat.MessageStore       = (*Store)(nil)
	_ chat.ReadStateStore     = (*Store)(nil)
	_ chat.MentionIndex       = (*Store)(nil)
	_ chat.NotifySettingStore = (*Store)(nil)
	_ chat.ReactionStore      = (*Store)(nil)
	_ chat.PinStore           = (*Store)(nil)
)

// New returns a Store over db after ensuring its indexes.
func New(ctx context.Context, db *mongo.Database) (*Store, error) {
	if err := mongox.EnsureIndexes(ctx, db, Indexes()); err != nil {
		return nil, err
	}
	return &Store{
		servers:  db.Collection(ServersCollection),
		members:  db.Collection(MembersCollection),
		channels: db.Collection(ChannelsCollection),
		invites:  db.Collection(InvitesCollection),
		uses:     db.Collection(InviteUsesCollection),
		messages: db.Collection(MessagesCollection),
		reads:    db.Collection(ReadStatesCollection),
		mentions: db.Collection(MentionsCollection),
		notify:   db.Collection(NotifyCollection),

		reactions:   db.Collection(ReactionsCollection),
		pins:        db.Collection(PinsCollection),
		attachments: db.Collection(AttachmentsCollection),
	}, nil
}

// oids parses the well-formed ids among ids.
func oids(ids []string) []bson.ObjectID {
	out := make([]bson.ObjectID, 0, len(ids))
	for _, id := range ids {
		if o, ok := oid(id); ok {
			out = append(out, o)
		}
	}
	return out
}

// hexOr is the hex form of a stored id ("" for the zero id).
func hexOr(id bson.ObjectID) string {
	if id.IsZero() {
		return ""
	}
	return id.Hex()
}

// utc rounds to the millisecond BSON keeps, in UTC.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// afterHex adds "_id > after" to filter when after is set; a malformed
// after matches nothing, as no id of that shape exists.
func afterHex(filter bson.D, after string) (bson.D, bool) {
	if after == "" {
		return filter, true
	}
	o, ok := oid(after)
	if !ok {
		return filter, false
	}
	return append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: o}}}), true
}

func oid(id string) (bson.ObjectID, bool) {
	o, err := bson.ObjectIDFromHex(id)
	return o, err == nil
}

func notFound(what string) error { return errs.NotFound("%s not found", what) }

// insert maps a duplicate key to AlreadyExists.
func insert(ctx context.Context, c *mongo.Collection, doc any, what string) error {
	_, err := c.InsertOne(ctx, doc)
	if mongox.IsDuplicateKey(err) {
		return errs.AlreadyExists("%s already exists", what)
	}
	return err
}

func findOne[T any](ctx context.Context, c *mongo.Collection, filter any, what string) (T, error) {
	var v T
	err := c.FindOne(ctx, filter).Decode(&v)
	if mongox.IsNotFound(err) {
		return v, notFound(what)
	}
	return v, err
}

func findAll[T any](ctx context.Context, c *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, err
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// inviteUse is a taken use slot of a limited invite: _id "<code>#<slot>".
type inviteUse struct {
	ID       string    `bson:"_id"`
	ServerID string    `bson:"server_id"`
	UserID   string    `bson:"user_id"`
	At       time.Time `bson:"at"`
}

// useRange selects an invite's slots by _id range ('#' < '$').
func useRange(code string) bson.D {
	return bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: code + "#"}, {Key: "$lt", Value: code + "$"}}}}
}

// chunks splits ids into slices of at most n, so that each query's $in
// stays small.
func chunks(ids []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(ids) > 0 {
			k := min(n, len(ids))
			if !yield(ids[:k]) {
				return
			}
			ids = ids[k:]
		}
	}
}
