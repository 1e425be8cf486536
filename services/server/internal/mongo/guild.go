// Package mongo stores the guild half's documents (servers, members,
// channels, invites) in MongoDB, or FerretDB in tests and dev. It uses only
// what both serve alike: unique indexes, conditional single-document
// updates and findAndModify; no transactions, $expr or $lookup.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/services/server/internal/access"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// InviteUses is the collection of invite use slots.
const InviteUses = "invite_uses"

// GuildStore implements guild.Store.
type GuildStore struct {
	db *mongo.Database
}

var _ guild.Store = (*GuildStore)(nil)

// NewGuildStore returns a store over db.
func NewGuildStore(db *mongo.Database) *GuildStore { return &GuildStore{db: db} }

// GuildIndexes are the indexes the guild half needs beyond access.Indexes.
func GuildIndexes() []mongox.Index {
	return []mongox.Index{
		{Collection: access.Invites, Model: mongo.IndexModel{Keys: bson.D{{Key: "server_id", Value: 1}, {Key: "_id", Value: 1}}}},
		{Collection: access.Members, Model: mongo.IndexModel{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "kind", Value: 1}, {Key: "_id", Value: 1}}}},
		{Collection: InviteUses, Model: mongo.IndexModel{Keys: bson.D{{Key: "server_id", Value: 1}}}},
	}
}

// EnsureIndexes creates the shared and the guild indexes.
func (s *GuildStore) EnsureIndexes(ctx context.Context) error {
	return mongox.EnsureIndexes(ctx, s.db, append(access.Indexes(), GuildIndexes()...))
}

// memberRecord is a membership as stored: access.MemberDoc plus the
// server's kind, which ListServers filters on.
type memberRecord struct {
	access.MemberDoc `bson:",inline"`
	Kind             string `bson:"kind"`
}

func (s *GuildStore) c(name string) *mongo.Collection { return s.db.Collection(name) }

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

// InsertServer implements guild.Store.
func (s *GuildStore) InsertServer(ctx context.Context, d access.ServerDoc) error {
	return insert(ctx, s.c(access.Servers), d, "server")
}

// Server implements guild.Store.
func (s *GuildStore) Server(ctx context.Context, id string) (access.ServerDoc, error) {
	o, ok := oid(id)
	if !ok {
		return access.ServerDoc{}, notFound("server")
	}
	return findOne[access.ServerDoc](ctx, s.c(access.Servers), bson.D{{Key: "_id", Value: o}}, "server")
}

// ServerByDMKey implements guild.Store.
func (s *GuildStore) ServerByDMKey(ctx context.Context, key string) (access.ServerDoc, error) {
	return findOne[access.ServerDoc](ctx, s.c(access.Servers), bson.D{{Key: "dm_key", Value: key}}, "server")
}

// ServersByID implements guild.Store.
func (s *GuildStore) ServersByID(ctx context.Context, ids []string) (map[string]access.ServerDoc, error) {
	out := make(map[string]access.ServerDoc, len(ids))
	oids := make([]bson.ObjectID, 0, len(ids))
	for _, id := range ids {
		if o, ok := oid(id); ok {
			oids = append(oids, o)
		}
	}
	if len(oids) == 0 {
		return out, nil
	}
	docs, err := findAll[access.ServerDoc](ctx, s.c(access.Servers), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: oids}}}})
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		out[d.ID.Hex()] = d
	}
	return out, nil
}

// RenameServer implements guild.Store.
func (s *GuildStore) RenameServer(ctx context.Context, id, name string) (access.ServerDoc, error) {
	var d access.ServerDoc
	o, ok := oid(id)
	if !ok {
		return d, notFound("server")
	}
	err := s.c(access.Servers).FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: o}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: name}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if mongox.IsNotFound(err) {
		return d, notFound("server")
	}
	return d, err
}

// SwapOwner implements guild.Store.
func (s *GuildStore) SwapOwner(ctx context.Context, id, from, to string) (bool, error) {
	o, ok := oid(id)
	if !ok {
		return false, nil
	}
	r, err := s.c(access.Servers).UpdateOne(ctx, bson.D{{Key: "_id", Value: o}, {Key: "owner_id", Value: from}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "owner_id", Value: to}}}})
	if err != nil {
		return false, err
	}
	return r.MatchedCount == 1, nil
}

// IncMemberCount implements guild.Store.
func (s *GuildStore) IncMemberCount(ctx context.Context, id string, delta int64) error {
	o, ok := oid(id)
	if !ok {
		return nil
	}
	_, err := s.c(access.Servers).UpdateOne(ctx, bson.D{{Key: "_id", Value: o}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "member_count", Value: delta}}}})
	return err
}

// DeleteServer implements guild.Store.
func (s *GuildStore) DeleteServer(ctx context.Context, id string) (bool, error) {
	o, ok := oid(id)
	if !ok {
		return false, nil
	}
	r, err := s.c(access.Servers).DeleteOne(ctx, bson.D{{Key: "_id", Value: o}})
	if err != nil {
		return false, err
	}
	return r.DeletedCount == 1, nil
}

// InsertMember implements guild.Store.
func (s *GuildStore) InsertMember(ctx context.Context, m access.MemberDoc, kind string) error {
	return insert(ctx, s.c(access.Members), memberRecord{MemberDoc: m, Kind: kind}, "member")
}

// Member implements guild.Store.
func (s *GuildStore) Member(ctx context.Context, serverID, userID string) (access.MemberDoc, error) {
	return findOne[access.MemberDoc](ctx, s.c(access.Members), bson.D{{Key: "server_id", Value: serverID}, {Key: "user_id", Value: userID}}, "member")
}

func afterID(filter bson.D, after bson.ObjectID) bson.D {
	if !after.IsZero() {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	}
	return filter
}

// Members implements guild.Store.
func (s *GuildStore) Members(ctx context.Context, serverID string, after bson.ObjectID, limit int) ([]access.MemberDoc, error) {
	return findAll[access.MemberDoc](ctx, s.c(access.Members), afterID(bson.D{{Key: "server_id", Value: serverID}}, after),
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// Memberships implements guild.Store.
func (s *GuildStore) Memberships(ctx context.Context, userID, kind string, after bson.ObjectID, limit int) ([]access.MemberDoc, error) {
	f := bson.D{{Key: "user_id", Value: userID}}
	if kind != "" {
		f = append(f, bson.E{Key: "kind", Value: kind})
	}
	return findAll[access.MemberDoc](ctx, s.c(access.Members), afterID(f, after),
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// MemberUserIDs implements guild.Store.
func (s *GuildStore) MemberUserIDs(ctx context.Context, serverID string) ([]string, error) {
	docs, err := findAll[access.MemberDoc](ctx, s.c(access.Members), bson.D{{Key: "server_id", Value: serverID}},
		options.Find().SetProjection(bson.D{{Key: "user_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.UserID
	}
	return out, nil
}

// SetMemberRole implements guild.Store.
func (s *GuildStore) SetMemberRole(ctx context.Context, serverID, userID string, from, to serverv1.Role) (bool, error) {
	r, err := s.c(access.Members).UpdateOne(ctx,
		bson.D{{Key: "server_id", Value: serverID}, {Key: "user_id", Value: userID}, {Key: "role", Value: int32(from)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "role", Value: int32(to)}}}})
	if err != nil {
		return false, err
	}
	return r.MatchedCount == 1, nil
}

// DeleteMember implements guild.Store.
func (s *GuildStore) DeleteMember(ctx context.Context, serverID, userID string, role serverv1.Role) (bool, error) {
	r, err := s.c(access.Members).DeleteOne(ctx,
		bson.D{{Key: "server_id", Value: serverID}, {Key: "user_id", Value: userID}, {Key: "role", Value: int32(role)}})
	if err != nil {
		return false, err
	}
	return r.DeletedCount == 1, nil
}

// SharedUsers implements guild.Store. Candidates go in chunks so that each
// query's $in stays small.
func (s *GuildStore) SharedUsers(ctx context.Context, serverIDs, userIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for chunk := range chunks(userIDs, 1000) {
		docs, err := findAll[access.MemberDoc](ctx, s.c(access.Members), bson.D{
			{Key: "user_id", Value: bson.D{{Key: "$in", Value: chunk}}},
			{Key: "server_id", Value: bson.D{{Key: "$in", Value: serverIDs}}},
		}, options.Find().SetProjection(bson.D{{Key: "user_id", Value: 1}}))
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			out[d.UserID] = true
		}
	}
	return out, nil
}

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

// InsertChannel implements guild.Store.
func (s *GuildStore) InsertChannel(ctx context.Context, c access.ChannelDoc) error {
	return insert(ctx, s.c(access.Channels), c, "channel")
}

// Channel implements guild.Store.
func (s *GuildStore) Channel(ctx context.Context, id string) (access.ChannelDoc, error) {
	o, ok := oid(id)
	if !ok {
		return access.ChannelDoc{}, notFound("channel")
	}
	return findOne[access.ChannelDoc](ctx, s.c(access.Channels), bson.D{{Key: "_id", Value: o}}, "channel")
}

// Channels implements guild.Store.
func (s *GuildStore) Channels(ctx context.Context, serverID string) ([]access.ChannelDoc, error) {
	return findAll[access.ChannelDoc](ctx, s.c(access.Channels), bson.D{{Key: "server_id", Value: serverID}},
		options.Find().SetSort(bson.D{{Key: "position", Value: 1}, {Key: "_id", Value: 1}}))
}

// UpdateChannel implements guild.Store.
func (s *GuildStore) UpdateChannel(ctx context.Context, id string, name, topic *string) (access.ChannelDoc, error) {
	var d access.ChannelDoc
	o, ok := oid(id)
	if !ok {
		return d, notFound("channel")
	}
	set := bson.D{}
	if name != nil {
		set = append(set, bson.E{Key: "name", Value: *name})
	}
	if topic != nil {
		set = append(set, bson.E{Key: "topic", Value: *topic})
	}
	err := s.c(access.Channels).FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: o}},
		bson.D{{Key: "$set", Value: set}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if mongox.IsNotFound(err) {
		return d, notFound("channel")
	}
	return d, err
}

// SetChannelPosition implements guild.Store.
func (s *GuildStore) SetChannelPosition(ctx context.Context, id string, pos int32) error {
	o, ok := oid(id)
	if !ok {
		return notFound("channel")
	}
	_, err := s.c(access.Channels).UpdateOne(ctx, bson.D{{Key: "_id", Value: o}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "position", Value: pos}}}})
	return err
}

// DeleteChannel implements guild.Store.
func (s *GuildStore) DeleteChannel(ctx context.Context, id string) (bool, error) {
	o, ok := oid(id)
	if !ok {
		return false, nil
	}
	r, err := s.c(access.Channels).DeleteOne(ctx, bson.D{{Key: "_id", Value: o}})
	if err != nil {
		return false, err
	}
	return r.DeletedCount == 1, nil
}

// InsertInvite implements guild.Store.
func (s *GuildStore) InsertInvite(ctx context.Context, inv guild.Invite) error {
	return insert(ctx, s.c(access.Invites), inv, "invite")
}

// Invite implements guild.Store.
func (s *GuildStore) Invite(ctx context.Context, code string) (guild.Invite, error) {
	return findOne[guild.Invite](ctx, s.c(access.Invites), bson.D{{Key: "_id", Value: code}}, "invite")
}

// Invites implements guild.Store.
func (s *GuildStore) Invites(ctx context.Context, serverID, after string, limit int) ([]guild.Invite, error) {
	f := bson.D{{Key: "server_id", Value: serverID}}
	if after != "" {
		f = append(f, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	}
	return findAll[guild.Invite](ctx, s.c(access.Invites), f,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// DeleteInvite implements guild.Store.
func (s *GuildStore) DeleteInvite(ctx context.Context, serverID, code string) (bool, error) {
	r, err := s.c(access.Invites).DeleteOne(ctx, bson.D{{Key: "_id", Value: code}, {Key: "server_id", Value: serverID}})
	if err != nil || r.DeletedCount == 0 {
		return false, err
	}
	_, err = s.c(InviteUses).DeleteMany(ctx, useRange(code))
	return true, err
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

// ClaimInviteUse implements guild.Store. It starts at the number of slots
// taken and tries the next ones: concurrent joiners collide on the unique
// _id and move on, so k racers need at most k tries each, and no slot at
// or past MaxUses is ever written.
func (s *GuildStore) ClaimInviteUse(ctx context.Context, inv guild.Invite, userID string) (bool, error) {
	n, err := s.InviteUses(ctx, inv.Code)
	if err != nil {
		return false, err
	}
	for slot := n; slot < inv.MaxUses; slot++ {
		_, err := s.c(InviteUses).InsertOne(ctx, inviteUse{ID: fmt.Sprintf("%s#%06d", inv.Code, slot), ServerID: inv.ServerID, UserID: userID, At: time.Now().UTC()})
		if err == nil {
			return true, nil
		}
		if !mongox.IsDuplicateKey(err) {
			return false, err
		}
	}
	return false, nil
}

// InviteUses implements guild.Store.
func (s *GuildStore) InviteUses(ctx context.Context, code string) (int32, error) {
	n, err := s.c(InviteUses).CountDocuments(ctx, useRange(code))
	return int32(n), err
}

// CountInviteUse implements guild.Store.
func (s *GuildStore) CountInviteUse(ctx context.Context, code string) error {
	_, err := s.c(access.Invites).UpdateOne(ctx, bson.D{{Key: "_id", Value: code}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "uses", Value: 1}}}})
	return err
}

// DeleteServerData implements guild.Store. Every collection is tried even
// if one fails, and the errors are joined.
func (s *GuildStore) DeleteServerData(ctx context.Context, serverID string) error {
	f := bson.D{{Key: "server_id", Value: serverID}}
	var all []error
	for _, name := range []string{access.Invites, InviteUses, access.Channels, access.Messages, access.ReadStates, access.Members} {
		if _, err := s.c(name).DeleteMany(ctx, f); err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// DeleteChannelData implements guild.Store.
func (s *GuildStore) DeleteChannelData(ctx context.Context, channelID string) error {
	f := bson.D{{Key: "channel_id", Value: channelID}}
	var all []error
	for _, name := range []string{access.Messages, access.ReadStates} {
		if _, err := s.c(name).DeleteMany(ctx, f); err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}
