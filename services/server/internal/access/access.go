// Package access holds the documents that both halves of the server service
// read (servers, members, channels) and answers the one question every call
// asks first: may this user see this server or channel, and with what role?
// A user who is not a member gets errs.NotFound, exactly as if the server or
// channel did not exist.
package access

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/mongox"
)

// Collection names.
const (
	Servers    = "servers"
	Members    = "members"
	Channels   = "channels"
	Invites    = "invites"
	Messages   = "messages"
	ReadStates = "read_states"
)

// Server kinds as stored.
const (
	KindGuild = "guild"
	KindDM    = "dm"
)

// ServerDoc is a document of the servers collection.
type ServerDoc struct {
	ID          bson.ObjectID `bson:"_id"`
	Name        string        `bson:"name"`
	Kind        string        `bson:"kind"`
	OwnerID     string        `bson:"owner_id,omitempty"`
	DMKey       string        `bson:"dm_key,omitempty"` // "<lower id>:<higher id>", unique sparse
	DMUserIDs   []string      `bson:"dm_user_ids,omitempty"`
	MemberCount int64         `bson:"member_count"`
	CreatedAt   time.Time     `bson:"created_at"`
}

// MemberDoc is a document of the members collection: one per (server, user).
type MemberDoc struct {
	ID       bson.ObjectID `bson:"_id"`
	ServerID string        `bson:"server_id"`
	UserID   string        `bson:"user_id"`
	Role     int32         `bson:"role"` // serverv1.Role value
	JoinedAt time.Time     `bson:"joined_at"`
}

// ChannelDoc is a document of the channels collection.
type ChannelDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	ServerID  string        `bson:"server_id"`
	Name      string        `bson:"name"`
	Topic     string        `bson:"topic,omitempty"`
	Position  int32         `bson:"position"`
	CreatedAt time.Time     `bson:"created_at"`
}

// Indexes are the indexes of the collections this package reads.
func Indexes() []mongox.Index {
	return []mongox.Index{
		{Collection: Members, Model: mongo.IndexModel{Keys: bson.D{{Key: "server_id", Value: 1}, {Key: "user_id", Value: 1}}, Options: options.Index().SetUnique(true)}},
		{Collection: Members, Model: mongo.IndexModel{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "_id", Value: 1}}}},
		{Collection: Members, Model: mongo.IndexModel{Keys: bson.D{{Key: "server_id", Value: 1}, {Key: "_id", Value: 1}}}},
		{Collection: Channels, Model: mongo.IndexModel{Keys: bson.D{{Key: "server_id", Value: 1}, {Key: "position", Value: 1}}}},
		{Collection: Servers, Model: mongo.IndexModel{Keys: bson.D{{Key: "dm_key", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)}},
	}
}

// Checker answers membership questions from the members and channels collections.
type Checker struct {
	db *mongo.Database
}

// NewChecker returns a Checker over db.
func NewChecker(db *mongo.Database) *Checker { return &Checker{db: db} }

// Role returns the user's role in the server, or NotFound when the user is
// not a member (or the server does not exist, or the id is malformed).
func (c *Checker) Role(ctx context.Context, serverID, userID string) (serverv1.Role, error) {
	var m MemberDoc
	err := c.db.Collection(Members).FindOne(ctx, bson.D{{Key: "server_id", Value: serverID}, {Key: "user_id", Value: userID}}).Decode(&m)
	if mongox.IsNotFound(err) {
		return serverv1.Role_ROLE_UNSPECIFIED, errs.NotFound("server not found")
	}
	if err != nil {
		return serverv1.Role_ROLE_UNSPECIFIED, err
	}
	return serverv1.Role(m.Role), nil
}

// Channel returns a channel and the user's role in its server, or NotFound
// when there is no such channel or the user is not a member of its server.
func (c *Checker) Channel(ctx context.Context, userID, channelID string) (ChannelDoc, serverv1.Role, error) {
	id, err := bson.ObjectIDFromHex(channelID)
	if err != nil {
		return ChannelDoc{}, 0, errs.NotFound("channel not found")
	}
	var ch ChannelDoc
	err = c.db.Collection(Channels).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&ch)
	if mongox.IsNotFound(err) {
		return ChannelDoc{}, 0, errs.NotFound("channel not found")
	}
	if err != nil {
		return ChannelDoc{}, 0, err
	}
	role, err := c.Role(ctx, ch.ServerID, userID)
	if err != nil {
		if e, ok := errs.As(err); ok && e.Kind == errs.KindNotFound {
			return ChannelDoc{}, 0, errs.NotFound("channel not found")
		}
		return ChannelDoc{}, 0, err
	}
	return ch, role, nil
}

// ServerIDs returns the ids of every server (and conversation) the user belongs to.
func (c *Checker) ServerIDs(ctx context.Context, userID string) ([]string, error) {
	cur, err := c.db.Collection(Members).Find(ctx, bson.D{{Key: "user_id", Value: userID}},
		options.Find().SetProjection(bson.D{{Key: "server_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var docs []struct {
		ServerID string `bson:"server_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ServerID
	}
	return ids, nil
}

// AtLeast reports whether role is at least min in rank (owner > admin > member).
func AtLeast(role, min serverv1.Role) bool {
	rank := func(r serverv1.Role) int {
		switch r {
		case serverv1.Role_ROLE_OWNER:
			return 3
		case serverv1.Role_ROLE_ADMIN:
			return 2
		case serverv1.Role_ROLE_MEMBER:
			return 1
		}
		return 0
	}
	return rank(role) >= rank(min)
}
