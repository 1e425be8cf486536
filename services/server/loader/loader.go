// Package loader fills the server service's database with large synthetic
// data sets, fast, before the service starts: bench/community seeds a
// million messages with it. On SQLite (Open) rows go in large transactions
// through the SQLite stores' own statements; on MongoDB (OpenMongo)
// documents built as the Mongo stores build them go in batched inserts.
// Either way the service reads them as if it had written them.
package loader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
	"github.com/accordchat/accord/services/server/internal/mongo"
	"github.com/accordchat/accord/services/server/internal/sqlite"
)

// records is what both stores' loaders write.
type records interface {
	Server(guild.Server) error
	Member(guild.Member, guild.Kind) error
	Channel(guild.Channel) error
	Message(chat.Message) error
	Flush() error
}

// messages is the store's own send path, for InsertRate.
type messages interface {
	CreateMessage(ctx context.Context, m chat.Message) error
	DeleteChannelData(ctx context.Context, channelID string) error
}

// DB is the server service's database, open for loading. The service must
// not run meanwhile.
type DB struct {
	l     records
	s     messages
	close func() error
}

// Open opens (creating when missing) the server service's SQLite database
// under dataDir, the folder ACCORD_DATA_DIR names, with its schema up to
// date.
func Open(ctx context.Context, dataDir string) (*DB, error) {
	db, err := sqlitex.Open(ctx, sqlitex.Path(dataDir, "server"))
	if err != nil {
		return nil, err
	}
	s, err := sqlite.New(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &DB{l: s.Loader(ctx), s: s, close: db.Close}, nil
}

// OpenMongo opens the server service's collections in the database dbName
// of the MongoDB at uri (ACCORD_MONGO_URI, ACCORD_MONGO_DB), ensuring the
// stores' indexes.
func OpenMongo(ctx context.Context, uri, dbName string) (*DB, error) {
	client, err := mongox.Connect(ctx, uri, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	s, err := mongo.New(ctx, client.Database(dbName))
	if err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	return &DB{l: s.Loader(ctx), s: s, close: func() error { return client.Disconnect(context.WithoutCancel(ctx)) }}, nil
}

// Close commits what is loaded and closes the database.
func (d *DB) Close() error { return errors.Join(d.l.Flush(), d.close()) }

// Flush commits what is loaded so far.
func (d *DB) Flush() error { return d.l.Flush() }

// NewID returns a new record id greater than last ("" any), as the service
// makes them.
func NewID(last string) string { return ids.After(last) }

// Guild loads a guild owned by ownerID with a member count for display
// (load its members with Member).
func (d *DB) Guild(id, name, ownerID string, members int64, at time.Time) error {
	return d.l.Server(guild.Server{ID: id, Name: name, Kind: guild.KindGuild, OwnerID: ownerID, MemberCount: members, CreatedAt: at})
}

// Member loads userID's membership of a guild, as its owner or as a plain
// member.
func (d *DB) Member(serverID, userID string, owner bool, at time.Time) error {
	role := guild.RoleMember
	if owner {
		role = guild.RoleOwner
	}
	return d.l.Member(guild.Member{ID: ids.New(), ServerID: serverID, UserID: userID, Role: role, JoinedAt: at}, guild.KindGuild)
}

// Channel loads a channel.
func (d *DB) Channel(id, serverID, name string, pos int32, at time.Time) error {
	return d.l.Channel(guild.Channel{ID: id, ServerID: serverID, Name: name, Position: pos, CreatedAt: at})
}

// Message loads a message; ids of one channel must grow in the order of
// its history (NewID).
func (d *DB) Message(id, serverID, channelID, authorID, content string, at time.Time) error {
	return d.l.Message(chat.Message{ID: id, ServerID: serverID, ChannelID: channelID, AuthorID: authorID, Content: content, CreatedAt: at})
}

// InsertRate measures the raw rate of message inserts into this database:
// n messages of the given content, each one insert of its own through the
// store's CreateMessage (what a send writes), from workers goroutines at
// once. They go into a scratch
// channel that is emptied afterwards. It returns inserts per second.
func (d *DB) InsertRate(ctx context.Context, n, workers int, content string) (float64, error) {
	if err := d.l.Flush(); err != nil {
		return 0, err
	}
	channel := ids.New()
	var mu sync.Mutex
	last := ""
	next := func() string {
		mu.Lock()
		defer mu.Unlock()
		last = ids.After(last)
		return last
	}
	per := max(1, n/workers)
	errc := make(chan error, workers)
	start := time.Now()
	for w := range workers {
		go func() {
			for range per {
				m := chat.Message{ID: next(), ServerID: "scratch", ChannelID: channel, AuthorID: fmt.Sprint("w", w), Content: content, CreatedAt: time.Now()}
				if err := d.s.CreateMessage(ctx, m); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	var all []error
	for range workers {
		all = append(all, <-errc)
	}
	elapsed := time.Since(start)
	all = append(all, d.s.DeleteChannelData(ctx, channel))
	if err := errors.Join(all...); err != nil {
		return 0, err
	}
	return float64(per*workers) / elapsed.Seconds(), nil
}

// DropMongo drops the database dbName of the MongoDB at uri, everything a
// benchmark loaded and ran there.
func DropMongo(ctx context.Context, uri, dbName string) error {
	client, err := mongox.Connect(ctx, uri, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	return client.Database(dbName).Drop(ctx)
}
