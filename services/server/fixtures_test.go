package server_test

import (
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The documents tests write straight into the collections, as the Mongo
// store lays them out (the stats service reads some of them the same way).

type serverDoc struct {
	ID          bson.ObjectID `bson:"_id"`
	Name        string        `bson:"name"`
	Kind        string        `bson:"kind"`
	OwnerID     string        `bson:"owner_id,omitempty"`
	MemberCount int64         `bson:"member_count"`
	CreatedAt   time.Time     `bson:"created_at"`
}

type memberDoc struct {
	ID       bson.ObjectID `bson:"_id"`
	ServerID string        `bson:"server_id"`
	UserID   string        `bson:"user_id"`
	Role     int32         `bson:"role"`
	JoinedAt time.Time     `bson:"joined_at"`
	Kind     string        `bson:"kind"`
}

type channelDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	ServerID  string        `bson:"server_id"`
	Name      string        `bson:"name"`
	Position  int32         `bson:"position"`
	CreatedAt time.Time     `bson:"created_at"`
}

type inviteDoc struct {
	Code     string `bson:"_id"`
	ServerID string `bson:"server_id"`
	MaxUses  int32  `bson:"max_uses"`
	Uses     int32  `bson:"uses"`
}

type messageDoc struct {
	ID         bson.ObjectID `bson:"_id"`
	ServerID   string        `bson:"server_id"`
	ChannelID  string        `bson:"channel_id"`
	AuthorID   string        `bson:"author_id"`
	Content    string        `bson:"content"`
	CreatedAt  time.Time     `bson:"created_at"`
	RequestID  string        `bson:"request_id,omitempty"`
	RequestKey string        `bson:"request_key,omitempty"`
}
