package reports

import (
	"context"
	"time"
)

// Entry is one counted event: a message created or deleted (Metric
// Messages) or a presence session opened (Metric Connections).
type Entry struct {
	Metric   Metric
	UserID   string
	ServerID string
	// Time is the message's creation time or the session's opening time:
	// a deletion takes one off the buckets its message was counted in.
	Time time.Time
	// Delta is +1, or -1 for a deletion.
	Delta int
}

// Count is one row of a ranking: an id (user or server) and its count.
type Count struct {
	ID    string
	Count int64
}

// Point is one bucket of a series.
type Point struct {
	Start time.Time
	Count int64
}

// SeriesQuery names a time series.
type SeriesQuery struct {
	Metric Metric
	Window Window
	Hourly bool
	// ServerID limits messages to one server.
	ServerID string
	// UserID limits the series to one user.
	UserID string
}

// Row is the number of messages one user sent in one server in a bucket.
type Row struct {
	UserID   string
	ServerID string
	N        int64
}

// RebuildResult tells what a rebuild counted.
type RebuildResult struct {
	Messages, Connections int64
}

// Counters is the store of counts: it answers reports and writes rebuilds.
type Counters interface {
	// TopUsers ranks users by m over w at now, highest first, from offset
	// on; serverID, when set, limits a message ranking to one server.
	TopUsers(ctx context.Context, m Metric, w Window, serverID string, now time.Time, offset, limit int) ([]Count, error)
	// TopServers ranks servers by messages over w at now, highest first,
	// from offset on, private conversations included.
	TopServers(ctx context.Context, w Window, now time.Time, offset, limit int) ([]Count, error)
	// Series returns the counts of q per bucket at now, oldest first,
	// empty buckets as 0. Hourly series are asked only for the windows
	// HourlyAllowed.
	Series(ctx context.Context, q SeriesQuery, now time.Time) ([]Point, error)
	// BeginRebuild starts writing a new, empty set of counters, which
	// readers do not see until it is committed. It fails with a
	// FAILED_PRECONDITION error (reason REBUILD_RUNNING) while another
	// rebuild runs.
	BeginRebuild(ctx context.Context, now time.Time) (Rebuild, error)
}

// Rebuild is a set of counters being written by a rebuild.
type Rebuild interface {
	// Add counts e n times (its Delta is ignored).
	Add(ctx context.Context, e Entry, n int64) error
	// AddConnections counts again every connection the store still holds
	// the log of, and keeps the counts of the days it no longer fully
	// holds as they were. It returns how many it counted.
	AddConnections(ctx context.Context) (int64, error)
	// Commit makes the new counters the ones readers see, at once.
	Commit(ctx context.Context) error
	// Close ends the rebuild; after a Commit it only lets the next one
	// start, without one the new counters are dropped later.
	Close()
}

// RebuildSource counts the stored messages that a rebuild recounts.
type RebuildSource interface {
	// Oldest is the creation time of the oldest message; false when none.
	Oldest(ctx context.Context) (time.Time, bool, error)
	// Count groups the messages created in [from, to) by author and server.
	Count(ctx context.Context, from, to time.Time) ([]Row, error)
}

// KindDM is the kind of a private conversation's server.
const KindDM = "dm"

// ServerInfo is what reports show of a server.
type ServerInfo struct {
	Name string
	Kind string
}

// Servers tells the names and kinds of servers.
type Servers interface {
	// Servers returns the name and kind of the servers among ids that exist.
	Servers(ctx context.Context, ids []string) (map[string]ServerInfo, error)
}

// Storage tells the bytes of attachments servers store (the server
// service sums them; stats keeps no copy).
type Storage interface {
	// StoredBytes returns the limit servers storing the most bytes,
	// largest first, and the bytes every server stores together.
	StoredBytes(ctx context.Context, limit int) ([]Count, int64, error)
}

// Role is a user's role in a server.
type Role int

// Roles, lowest first.
const (
	RoleNone Role = iota // not a member
	RoleMember
	RoleAdmin
	RoleOwner
)

// Roles tells a user's role in a server (RoleNone when not a member).
type Roles interface {
	MemberRole(ctx context.Context, serverID, userID string) (Role, error)
}

// Names gives users' display names; unknown ids are left out.
type Names interface {
	DisplayNames(ctx context.Context, userIDs []string) (map[string]string, error)
}

// Viewer is who asks for a report.
type Viewer struct {
	UserID   string
	Operator bool
}
