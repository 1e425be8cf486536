package mongo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// serverDoc is a document of the servers collection.
type serverDoc struct {
	ID          bson.ObjectID `bson:"_id"`
	Name        string        `bson:"name"`
	Kind        string        `bson:"kind"`
	OwnerID     string        `bson:"owner_id,omitempty"`
	DMKey       string        `bson:"dm_key,omitempty"` // "<lower id>:<higher id>", unique sparse
	DMUserIDs   []string      `bson:"dm_user_ids,omitempty"`
	MemberCount int64         `bson:"member_count"`
	CreatedAt   time.Time     `bson:"created_at"`
	Icon        string        `bson:"icon,omitempty"`
}

func (d serverDoc) server() guild.Server {
	return guild.Server{
		ID: hexOr(d.ID), Name: d.Name, Kind: guild.Kind(d.Kind), OwnerID: d.OwnerID, DMKey: d.DMKey,
		DMUserIDs: d.DMUserIDs, MemberCount: d.MemberCount, CreatedAt: d.CreatedAt.UTC(), Icon: d.Icon,
	}
}

// memberDoc is a document of the members collection: one per (server,
// user), with the server's kind, which ListServers filters on.
type memberDoc struct {
	ID       bson.ObjectID `bson:"_id"`
	ServerID string        `bson:"server_id"`
	UserID   string        `bson:"user_id"`
	Role     int32         `bson:"role"` // accord.server.v1.Role value
	JoinedAt time.Time     `bson:"joined_at"`
	Kind     string        `bson:"kind"`
}

func (d memberDoc) member() guild.Member {
	return guild.Member{ID: hexOr(d.ID), ServerID: d.ServerID, UserID: d.UserID, Role: guild.Role(d.Role), JoinedAt: d.JoinedAt.UTC()}
}

// channelDoc is a document of the channels collection.
type channelDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	ServerID  string        `bson:"server_id"`
	Name      string        `bson:"name"`
	Topic     string        `bson:"topic,omitempty"`
	Position  int32         `bson:"position"`
	CreatedAt time.Time     `bson:"created_at"`
}

func (d channelDoc) channel() guild.Channel {
	return guild.Channel{ID: hexOr(d.ID), ServerID: d.ServerID, Name: d.Name, Topic: d.Topic, Position: d.Position, CreatedAt: d.CreatedAt.UTC()}
}

// inviteDoc is a document of the invites collection; the code is the _id.
type inviteDoc struct {
	Code      string     `bson:"_id"`
	ServerID  string     `bson:"server_id"`
	CreatorID string     `bson:"creator_id"`
	ExpiresAt *time.Time `bson:"expire_at,omitempty"`
	MaxUses   int32      `bson:"max_uses"`
	Uses      int32      `bson:"uses"`
	CreatedAt time.Time  `bson:"created_at"`
}

func (d inviteDoc) invite() guild.Invite {
	inv := guild.Invite{Code: d.Code, ServerID: d.ServerID, CreatorID: d.CreatorID, MaxUses: d.MaxUses, Uses: d.Uses, CreatedAt: d.CreatedAt.UTC()}
	if d.ExpiresAt != nil {
		t := d.ExpiresAt.UTC()
		inv.ExpiresAt = &t
	}
	return inv
}

// docID parses the id of a record being created: ids come from package
// ids, so a malformed one is a bug of the caller.
func docID(id, what string) (bson.ObjectID, error) {
	o, ok := oid(id)
	if !ok {
		return o, fmt.Errorf("%s id %q is not an id", what, id)
	}
	return o, nil
}

func all[T any, R any](ctx context.Context, c *mongo.Collection, conv func(T) R, filter any, opts ...options.Lister[options.FindOptions]) ([]R, error) {
	docs, err := findAll[T](ctx, c, filter, opts...)
	if err != nil {
		return nil, err
	}
	out := make([]R, len(docs))
	for i, d := range docs {
		out[i] = conv(d)
	}
	return out, nil
}

// CreateServer implements guild.ServerStore.
func (s *Store) CreateServer(ctx context.Context, srv guild.Server) error {
	d, err := newServerDoc(srv)
	if err != nil {
		return err
	}
	return insert(ctx, s.servers, d, "server")
}

func newServerDoc(srv guild.Server) (serverDoc, error) {
	id, err := docID(srv.ID, "server")
	return serverDoc{
		ID: id, Name: srv.Name, Kind: string(srv.Kind), OwnerID: srv.OwnerID, DMKey: srv.DMKey,
		DMUserIDs: srv.DMUserIDs, MemberCount: srv.MemberCount, CreatedAt: utc(srv.CreatedAt), Icon: srv.Icon,
	}, err
}

func (s *Store) server(ctx context.Context, filter bson.D) (guild.Server, error) {
	d, err := findOne[serverDoc](ctx, s.servers, filter, "server")
	return d.server(), err
}

// Server implements guild.ServerStore.
func (s *Store) Server(ctx context.Context, id string) (guild.Server, error) {
	o, ok := oid(id)
	if !ok {
		return guild.Server{}, notFound("server")
	}
	return s.server(ctx, bson.D{{Key: "_id", Value: o}})
}

// ServerByDMKey implements guild.ServerStore.
func (s *Store) ServerByDMKey(ctx context.Context, key string) (guild.Server, error) {
	if key == "" {
		return guild.Server{}, notFound("server")
	}
	return s.server(ctx, bson.D{{Key: "dm_key", Value: key}})
}

// ServersByID implements guild.ServerStore.
func (s *Store) ServersByID(ctx context.Context, ids []string) (map[string]guild.Server, error) {
	out := make(map[string]guild.Server, len(ids))
	os := oids(ids)
	if len(os) == 0 {
		return out, nil
	}
	srvs, err := all(ctx, s.servers, serverDoc.server, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: os}}}})
	if err != nil {
		return nil, err
	}
	for _, srv := range srvs {
		out[srv.ID] = srv
	}
	return out, nil
}

// RenameServer implements guild.ServerStore.
func (s *Store) RenameServer(ctx context.Context, id, name string) (guild.Server, error) {
	o, ok := oid(id)
	if !ok {
		return guild.Server{}, notFound("server")
	}
	var d serverDoc
	err := s.servers.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: o}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: name}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if mongox.IsNotFound(err) {
		return guild.Server{}, notFound("server")
	}
	return d.server(), err
}

// SetServerIcon implements guild.ServerStore.
func (s *Store) SetServerIcon(ctx context.Context, id, icon string) (guild.Server, error) {
	o, ok := oid(id)
	if !ok {
		return guild.Server{}, notFound("server")
	}
	var d serverDoc
	err := s.servers.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: o}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "icon", Value: icon}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if mongox.IsNotFound(err) {
		return guild.Server{}, notFound("server")
	}
	return d.server(), err
}

// SwapOwner implements guild.ServerStore.
func (s *Store) SwapOwner(ctx context.Context, id, from, to string) (bool, error) {
	o, ok := oid(id)
	if !ok {
		return false, nil
	}
	r, err := s.servers.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}, {Key: "owner_id", Value: from}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "owner_id", Value: to}}}})
	if err != nil {
		return false, err
	}
	return r.MatchedCount == 1, nil
}

// AddMemberCount implements guild.ServerStore.
func (s *Store) AddMemberCount(ctx context.Context, id string, delta int64) error {
	o, ok := oid(id)
	if !ok {
		return nil
	}
	_, err := s.servers.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "member_count", Value: delta}}}})
	return err
}

// DeleteServer implements guild.ServerStore.
func (s *Store) DeleteServer(ctx context.Context, id string) (bool, error) {
	o, ok := oid(id)
	if !ok {
		return false, nil
	}
	r, err := s.servers.DeleteOne(ctx, bson.D{{Key: "_id", Value: o}})
	if err != nil {
		return false, err
	}
	return r.DeletedCount == 1, nil
}

// DeleteServerData implements guild.ServerStore. Every collection is tried
// even if one fails, and the errors are joined.
//
// Messages and read states are deleted by channel, through the indexes
// that lead with channel_id (no send pays for a server_id index on
// messages), so the channels are read first and deleted after them. A
// channel deleted earlier has had its own DeleteChannelData.
func (s *Store) DeleteServerData(ctx context.Context, serverID string) error {
	f := bson.D{{Key: "server_id", Value: serverID}}
	var errList []error
	chans, err := s.Channels(ctx, serverID)
	if err != nil {
		errList = append(errList, err)
	}
	for ids := range chunks(channelIDs(chans), 1000) {
		in := bson.D{{Key: "channel_id", Value: bson.D{{Key: "$in", Value: ids}}}}
		for _, c := range []*mongo.Collection{s.messages, s.reads, s.mentions, s.reactions, s.pins} {
			if _, err := c.DeleteMany(ctx, in); err != nil {
				errList = append(errList, err)
			}
		}
	}
	for _, c := range []*mongo.Collection{s.invites, s.uses, s.channels, s.members} {
		if _, err := c.DeleteMany(ctx, f); err != nil {
			errList = append(errList, err)
		}
	}
	return errors.Join(errList...)
}

func channelIDs(cs []guild.Channel) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// CreateMember implements guild.MemberStore.
func (s *Store) CreateMember(ctx context.Context, m guild.Member, kind guild.Kind) error {
	d, err := newMemberDoc(m, kind)
	if err != nil {
		return err
	}
	return insert(ctx, s.members, d, "member")
}

func newMemberDoc(m guild.Member, kind guild.Kind) (memberDoc, error) {
	id, err := docID(m.ID, "member")
	return memberDoc{
		ID: id, ServerID: m.ServerID, UserID: m.UserID, Role: int32(m.Role), JoinedAt: utc(m.JoinedAt), Kind: string(kind),
	}, err
}

// Member implements guild.MemberStore.
func (s *Store) Member(ctx context.Context, serverID, userID string) (guild.Member, error) {
	d, err := findOne[memberDoc](ctx, s.members, bson.D{{Key: "server_id", Value: serverID}, {Key: "user_id", Value: userID}}, "member")
	return d.member(), err
}

// Members implements guild.MemberStore.
func (s *Store) Members(ctx context.Context, serverID, after string, limit int) ([]guild.Member, error) {
	f, ok := afterHex(bson.D{{Key: "server_id", Value: serverID}}, after)
	if !ok || limit <= 0 {
		return nil, nil
	}
	return all(ctx, s.members, memberDoc.member, f, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// Memberships implements guild.MemberStore.
func (s *Store) Memberships(ctx context.Context, userID string, kind guild.Kind, after string, limit int) ([]guild.Member, error) {
	f := bson.D{{Key: "user_id", Value: userID}}
	if kind != "" {
		f = append(f, bson.E{Key: "kind", Value: string(kind)})
	}
	f, ok := afterHex(f, after)
	if !ok || limit <= 0 {
		return nil, nil
	}
	return all(ctx, s.members, memberDoc.member, f, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// MemberUserIDs implements guild.MemberStore.
func (s *Store) MemberUserIDs(ctx context.Context, serverID string) ([]string, error) {
	return all(ctx, s.members, func(d memberDoc) string { return d.UserID }, bson.D{{Key: "server_id", Value: serverID}},
		options.Find().SetProjection(bson.D{{Key: "user_id", Value: 1}}))
}

// SetMemberRole implements guild.MemberStore.
func (s *Store) SetMemberRole(ctx context.Context, serverID, userID string, from, to guild.Role) (bool, error) {
	r, err := s.members.UpdateOne(ctx,
		bson.D{{Key: "server_id", Value: serverID}, {Key: "user_id", Value: userID}, {Key: "role", Value: int32(from)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "role", Value: int32(to)}}}})
	if err != nil {
		return false, err
	}
	return r.MatchedCount == 1, nil
}

// DeleteMember implements guild.MemberStore.
func (s *Store) DeleteMember(ctx context.Context, serverID, userID string, role guild.Role) (bool, error) {
	r, err := s.members.DeleteOne(ctx,
		bson.D{{Key: "server_id", Value: serverID}, {Key: "user_id", Value: userID}, {Key: "role", Value: int32(role)}})
	if err != nil {
		return false, err
	}
	return r.DeletedCount == 1, nil
}

// SharedUsers implements guild.MemberStore. Both lists go in chunks so
// that each query's $in stays small.
func (s *Store) SharedUsers(ctx context.Context, serverIDs, userIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for sids := range chunks(serverIDs, 5000) {
		for uids := range chunks(userIDs, 1000) {
			docs, err := findAll[memberDoc](ctx, s.members, bson.D{
				{Key: "user_id", Value: bson.D{{Key: "$in", Value: uids}}},
				{Key: "server_id", Value: bson.D{{Key: "$in", Value: sids}}},
			}, options.Find().SetProjection(bson.D{{Key: "user_id", Value: 1}}))
			if err != nil {
				return nil, err
			}
			for _, d := range docs {
				out[d.UserID] = true
			}
		}
	}
	return out, nil
}

// CreateChannel implements guild.ChannelStore.
func (s *Store) CreateChannel(ctx context.Context, c guild.Channel) error {
	d, err := newChannelDoc(c)
	if err != nil {
		return err
	}
	return insert(ctx, s.channels, d, "channel")
}

func newChannelDoc(c guild.Channel) (channelDoc, error) {
	id, err := docID(c.ID, "channel")
	return channelDoc{
		ID: id, ServerID: c.ServerID, Name: c.Name, Topic: c.Topic, Position: c.Position, CreatedAt: utc(c.CreatedAt),
	}, err
}

// Channel implements guild.ChannelStore.
func (s *Store) Channel(ctx context.Context, id string) (guild.Channel, error) {
	o, ok := oid(id)
	if !ok {
		return guild.Channel{}, notFound("channel")
	}
	d, err := findOne[channelDoc](ctx, s.channels, bson.D{{Key: "_id", Value: o}}, "channel")
	return d.channel(), err
}

// Channels implements guild.ChannelStore.
// The query takes the (server_id, position) index's order; ties in
// position are put in id order here (a server has at most a few hundred
// channels).
func (s *Store) Channels(ctx context.Context, serverID string) ([]guild.Channel, error) {
	cs, err := all(ctx, s.channels, channelDoc.channel, bson.D{{Key: "server_id", Value: serverID}},
		options.Find().SetSort(bson.D{{Key: "position", Value: 1}}))
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(cs, func(a, b guild.Channel) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.ID, b.ID))
	})
	return cs, nil
}

// ChannelsOfServers implements guild.ChannelStore.
func (s *Store) ChannelsOfServers(ctx context.Context, serverIDs []string) ([]guild.Channel, error) {
	if len(serverIDs) == 0 {
		return nil, nil
	}
	return all(ctx, s.channels, channelDoc.channel, bson.D{{Key: "server_id", Value: bson.D{{Key: "$in", Value: serverIDs}}}},
		// The (server_id, position) index's own order.
		options.Find().SetSort(bson.D{{Key: "server_id", Value: 1}, {Key: "position", Value: 1}}))
}

// UpdateChannel implements guild.ChannelStore.
func (s *Store) UpdateChannel(ctx context.Context, id string, name, topic *string) (guild.Channel, error) {
	o, ok := oid(id)
	if !ok {
		return guild.Channel{}, notFound("channel")
	}
	set := bson.D{}
	if name != nil {
		set = append(set, bson.E{Key: "name", Value: *name})
	}
	if topic != nil {
		set = append(set, bson.E{Key: "topic", Value: *topic})
	}
	var d channelDoc
	var err error
	if len(set) == 0 {
		err = s.channels.FindOne(ctx, bson.D{{Key: "_id", Value: o}}).Decode(&d)
	} else {
		err = s.channels.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: o}},
			bson.D{{Key: "$set", Value: set}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	}
	if mongox.IsNotFound(err) {
		return guild.Channel{}, notFound("channel")
	}
	return d.channel(), err
}

// SetChannelPosition implements guild.ChannelStore.
func (s *Store) SetChannelPosition(ctx context.Context, id string, pos int32) error {
	o, ok := oid(id)
	if !ok {
		return nil
	}
	_, err := s.channels.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "position", Value: pos}}}})
	return err
}

// DeleteChannel implements guild.ChannelStore.
func (s *Store) DeleteChannel(ctx context.Context, id string) (bool, error) {
	o, ok := oid(id)
	if !ok {
		return false, nil
	}
	r, err := s.channels.DeleteOne(ctx, bson.D{{Key: "_id", Value: o}})
	if err != nil {
		return false, err
	}
	return r.DeletedCount == 1, nil
}

// DeleteChannelData implements guild.ChannelStore.
func (s *Store) DeleteChannelData(ctx context.Context, channelID string) error {
	f := bson.D{{Key: "channel_id", Value: channelID}}
	var errList []error
	for _, c := range []*mongo.Collection{s.messages, s.reads, s.mentions, s.reactions, s.pins} {
		if _, err := c.DeleteMany(ctx, f); err != nil {
			errList = append(errList, err)
		}
	}
	return errors.Join(errList...)
}

// CreateInvite implements guild.InviteStore.
func (s *Store) CreateInvite(ctx context.Context, inv guild.Invite) error {
	d := inviteDoc{Code: inv.Code, ServerID: inv.ServerID, CreatorID: inv.CreatorID, MaxUses: inv.MaxUses, Uses: inv.Uses, CreatedAt: utc(inv.CreatedAt)}
	if inv.ExpiresAt != nil {
		t := utc(*inv.ExpiresAt)
		d.ExpiresAt = &t
	}
	return insert(ctx, s.invites, d, "invite")
}

// Invite implements guild.InviteStore.
func (s *Store) Invite(ctx context.Context, code string) (guild.Invite, error) {
	d, err := findOne[inviteDoc](ctx, s.invites, bson.D{{Key: "_id", Value: code}}, "invite")
	return d.invite(), err
}

// Invites implements guild.InviteStore.
func (s *Store) Invites(ctx context.Context, serverID, after string, limit int) ([]guild.Invite, error) {
	if limit <= 0 {
		return nil, nil
	}
	f := bson.D{{Key: "server_id", Value: serverID}}
	if after != "" {
		f = append(f, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	}
	return all(ctx, s.invites, inviteDoc.invite, f, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// DeleteInvite implements guild.InviteStore.
func (s *Store) DeleteInvite(ctx context.Context, serverID, code string) (bool, error) {
	r, err := s.invites.DeleteOne(ctx, bson.D{{Key: "_id", Value: code}, {Key: "server_id", Value: serverID}})
	if err != nil || r.DeletedCount == 0 {
		return false, err
	}
	_, err = s.uses.DeleteMany(ctx, useRange(code))
	return true, err
}

// ClaimInviteUse implements guild.InviteStore. It starts at the number of
// slots taken and tries the next ones: concurrent joiners collide on the
// unique _id "<code>#<slot>" and move on, so k racers need at most k tries
// each, and no slot at or past MaxUses is ever written.
func (s *Store) ClaimInviteUse(ctx context.Context, inv guild.Invite, userID string) (bool, error) {
	n, err := s.InviteUses(ctx, inv.Code)
	if err != nil {
		return false, err
	}
	for slot := n; slot < inv.MaxUses; slot++ {
		_, err := s.uses.InsertOne(ctx, inviteUse{ID: fmt.Sprintf("%s#%06d", inv.Code, slot), ServerID: inv.ServerID, UserID: userID, At: time.Now().UTC()})
		if err == nil {
			return true, nil
		}
		if !mongox.IsDuplicateKey(err) {
			return false, err
		}
	}
	return false, nil
}

// InviteUses implements guild.InviteStore.
func (s *Store) InviteUses(ctx context.Context, code string) (int32, error) {
	n, err := s.uses.CountDocuments(ctx, useRange(code))
	return int32(n), err
}

// CountInviteUse implements guild.InviteStore.
func (s *Store) CountInviteUse(ctx context.Context, code string) error {
	_, err := s.invites.UpdateOne(ctx, bson.D{{Key: "_id", Value: code}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "uses", Value: 1}}}})
	return err
}
