package mongo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// Records receives every record of a database, as it is (ids included),
// to move the service's data to another store (internal/sqlite's Loader).
type Records interface {
	Server(guild.Server) error
	Member(guild.Member, guild.Kind) error
	Channel(guild.Channel) error
	Invite(guild.Invite) error
	InviteUse(code string, slot int, serverID, userID string, at time.Time) error
	Message(chat.Message) error
	ReadMarker(chat.ReadMarker) error
	Mention(chat.Mention) error
	NotifySetting(chat.NotifySetting) error
}

// HasServers reports whether db holds any server.
func HasServers(ctx context.Context, db *mongo.Database) (bool, error) {
	err := db.Collection(ServersCollection).FindOne(ctx, bson.D{}, options.FindOne().SetSort(exportOrder)).Err()
	if err == mongo.ErrNoDocuments {
		return false, nil
	}
	return err == nil, err
}

// Export reads every record of the service's collections in db and hands
// each to r. It only reads: no index is created, nothing is changed.
func Export(ctx context.Context, db *mongo.Database, r Records) error {
	if err := each(ctx, db, ServersCollection, func(d serverDoc) error { return r.Server(d.server()) }); err != nil {
		return err
	}
	if err := each(ctx, db, MembersCollection, func(d memberDoc) error { return r.Member(d.member(), guild.Kind(d.Kind)) }); err != nil {
		return err
	}
	if err := each(ctx, db, ChannelsCollection, func(d channelDoc) error { return r.Channel(d.channel()) }); err != nil {
		return err
	}
	if err := each(ctx, db, InvitesCollection, func(d inviteDoc) error { return r.Invite(d.invite()) }); err != nil {
		return err
	}
	if err := each(ctx, db, InviteUsesCollection, func(d inviteUse) error {
		code, slot, ok := strings.Cut(d.ID, "#")
		n, err := strconv.Atoi(slot)
		if !ok || err != nil {
			return fmt.Errorf("invite use slot %q: want <code>#<slot>", d.ID)
		}
		return r.InviteUse(code, n, d.ServerID, d.UserID, d.At.UTC())
	}); err != nil {
		return err
	}
	if err := each(ctx, db, MessagesCollection, func(d messageDoc) error { return r.Message(d.message()) }); err != nil {
		return err
	}
	if err := each(ctx, db, ReadStatesCollection, func(d readStateDoc) error {
		return r.ReadMarker(chat.ReadMarker{UserID: d.UserID, ChannelID: d.ChannelID, ServerID: d.ServerID, LastReadID: d.LastReadID, UpdatedAt: d.UpdatedAt.UTC()})
	}); err != nil {
		return err
	}
	if err := each(ctx, db, MentionsCollection, func(d mentionDoc) error { return r.Mention(d.mention()) }); err != nil {
		return err
	}
	return each(ctx, db, NotifyCollection, func(d notifyDoc) error {
		return r.NotifySetting(chat.NotifySetting{UserID: d.UserID, ServerID: d.ServerID, ChannelID: d.ChannelID, Level: d.Level, Muted: d.Muted})
	})
}

// exportOrder walks a collection along its _id index, so that the export is
// an index scan (and a resumable order) rather than a collection scan.
var exportOrder = bson.D{{Key: "_id", Value: 1}}

// each decodes every document of a collection in turn, in _id order.
func each[T any](ctx context.Context, db *mongo.Database, coll string, fn func(T) error) error {
	cur, err := db.Collection(coll).Find(ctx, bson.D{}, options.Find().SetSort(exportOrder))
	if err != nil {
		return fmt.Errorf("export %s: %w", coll, err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d T
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("export %s: %w", coll, err)
		}
		if err := fn(d); err != nil {
			return fmt.Errorf("export %s: %w", coll, err)
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("export %s: %w", coll, err)
	}
	return nil
}
