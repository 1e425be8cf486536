package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	mongodriver "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/mongo"
	"github.com/accordchat/accord/services/server/internal/sqlite"
)

// ImportFromMongo copies the service's data from src, the MongoDB (or
// embedded FerretDB) database of earlier releases, into dst, its SQLite
// database, when dst holds no server yet and src holds some; otherwise it
// does nothing. The copy is one transaction, so a failed import leaves dst
// empty and the next start tries again; src is only read. It reports
// whether it copied.
func ImportFromMongo(ctx context.Context, src *mongodriver.Database, dst *sqlitex.DB, log *slog.Logger) (bool, error) {
	to, err := sqlite.New(ctx, dst)
	if err != nil {
		return false, err
	}
	empty, err := to.Empty(ctx)
	if err != nil || !empty {
		return false, err
	}
	if has, err := mongo.HasServers(ctx, src); err != nil || !has {
		return false, err
	}
	var c counter
	err = to.Import(ctx, func(l *sqlite.Loader) error {
		c.Records = l
		return mongo.Export(ctx, src, &c)
	})
	if err != nil {
		return false, fmt.Errorf("server: import from MongoDB into %s: %w", dst.Path(), err)
	}
	log.Info("server: imported the servers and messages of the earlier embedded database into SQLite",
		"records", c.n, "into", dst.Path())
	return true, nil
}

// counter counts the records it passes on.
type counter struct {
	mongo.Records
	n int
}

func (c *counter) count(err error) error {
	if err == nil {
		c.n++
	}
	return err
}

func (c *counter) Server(s guild.Server) error { return c.count(c.Records.Server(s)) }
func (c *counter) Member(m guild.Member, k guild.Kind) error {
	return c.count(c.Records.Member(m, k))
}
func (c *counter) Channel(ch guild.Channel) error { return c.count(c.Records.Channel(ch)) }
func (c *counter) Invite(inv guild.Invite) error  { return c.count(c.Records.Invite(inv)) }
func (c *counter) InviteUse(code string, slot int, serverID, userID string, at time.Time) error {
	return c.count(c.Records.InviteUse(code, slot, serverID, userID, at))
}
func (c *counter) Message(m chat.Message) error       { return c.count(c.Records.Message(m)) }
func (c *counter) ReadMarker(m chat.ReadMarker) error { return c.count(c.Records.ReadMarker(m)) }
