package reports

import (
	"context"
	"log/slog"
	"time"

	"github.com/accordchat/accord/platform/errs"
)

// Deps are what the Service is built from.
type Deps struct {
	Counters Counters
	Source   RebuildSource
	Servers  Servers
	Storage  Storage
	Roles    Roles
	Names    Names
	Log      *slog.Logger
	// Now tells the time; nil means time.Now.
	Now func() time.Time
}

// Service answers reports and rebuilds the counters.
type Service struct {
	d Deps
}

// NewService returns a Service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d}
}

// authorize lets operators see everything, a user see their own activity
// (userID), and a server's owner and admins see the server's reports; any
// other viewer gets PERMISSION_DENIED, whether or not the server exists.
func (s *Service) authorize(ctx context.Context, v Viewer, serverID, userID string) error {
	if v.Operator || (userID != "" && userID == v.UserID) {
		return nil
	}
	if serverID != "" {
		role, err := s.d.Roles.MemberRole(ctx, serverID, v.UserID)
		if err != nil {
			s.d.Log.Warn("cannot check server role", "server_id", serverID, "err", err)
			return errs.Unavailable("cannot check your role in the server; try again")
		}
		if role == RoleOwner || role == RoleAdmin {
			return nil
		}
		return errs.PermissionDenied("only the server's owner and admins may see its reports")
	}
	if userID != "" {
		return errs.PermissionDenied("you may only see your own activity")
	}
	return errs.PermissionDenied("global reports are for operators")
}

// CheckServerMetric rejects per-server connection reports: connections
// belong to no server.
func CheckServerMetric(m Metric, serverID string) error {
	if serverID != "" && m == Connections {
		return errs.Invalid("server_id", "connections are not counted per server; leave server_id empty")
	}
	return nil
}

// UserCount is a row of a users ranking.
type UserCount struct {
	UserID      string
	DisplayName string
	Count       int64
}

// TopUsers ranks the limit users with the highest m over w, within
// serverID when set (messages only), with their display names when the
// user service answers.
func (s *Service) TopUsers(ctx context.Context, v Viewer, m Metric, w Window, serverID string, limit int) ([]UserCount, error) {
	if err := CheckServerMetric(m, serverID); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, v, serverID, ""); err != nil {
		return nil, err
	}
	counts, err := s.d.Counters.TopUsers(ctx, m, w, serverID, s.d.Now(), 0, limit)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(counts))
	for i, c := range counts {
		ids[i] = c.ID
	}
	names := s.displayNames(ctx, ids)
	rows := make([]UserCount, len(counts))
	for i, c := range counts {
		rows[i] = UserCount{UserID: c.ID, DisplayName: names[c.ID], Count: c.Count}
	}
	return rows, nil
}

// displayNames degrades to no names when the user service is down: the
// counts are still worth showing.
func (s *Service) displayNames(ctx context.Context, ids []string) map[string]string {
	if len(ids) == 0 {
		return nil
	}
	names, err := s.d.Names.DisplayNames(ctx, ids)
	if err != nil {
		s.d.Log.Warn("cannot fetch display names", "err", err)
	}
	return names
}

// ServerCount is a row of a servers ranking.
type ServerCount struct {
	ServerID string
	Name     string
	Count    int64
}

// TopServers ranks the limit servers with the most messages over w, for
// operators. Private conversations are not servers anyone chose to be busy
// in, so they are left out (their messages still count for their authors).
func (s *Service) TopServers(ctx context.Context, v Viewer, w Window, limit int) ([]ServerCount, error) {
	if err := s.authorize(ctx, v, "", ""); err != nil {
		return nil, err
	}
	now := s.d.Now()
	page := max(4*limit, 100)
	var rows []ServerCount
	for offset := 0; len(rows) < limit; offset += page {
		counts, err := s.d.Counters.TopServers(ctx, w, now, offset, page)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(counts))
		for i, c := range counts {
			ids[i] = c.ID
		}
		infos, err := s.d.Servers.Servers(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, c := range counts {
			info, ok := infos[c.ID]
			if ok && info.Kind == KindDM {
				continue
			}
			// A server deleted since keeps its counts, unnamed.
			rows = append(rows, ServerCount{ServerID: c.ID, Name: info.Name, Count: c.Count})
			if len(rows) == limit {
				break
			}
		}
		if len(counts) < page {
			break
		}
	}
	return rows, nil
}

// CheckActivity rejects series that cannot be answered: per-server
// connections, and hourly buckets over windows longer than they are kept.
func CheckActivity(q SeriesQuery) error {
	if err := CheckServerMetric(q.Metric, q.ServerID); err != nil {
		return err
	}
	if q.Hourly && !HourlyAllowed(q.Window) {
		return errs.Invalid("granularity", "hourly buckets are kept for the last 7 days only; use WINDOW_DAY or WINDOW_WEEK")
	}
	return nil
}

// Activity returns the series q, for operators, the server's owner and
// admins (q.ServerID), or the user themselves (q.UserID).
func (s *Service) Activity(ctx context.Context, v Viewer, q SeriesQuery) ([]Point, error) {
	if err := CheckActivity(q); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, v, q.ServerID, q.UserID); err != nil {
		return nil, err
	}
	return s.d.Counters.Series(ctx, q, s.d.Now())
}

// TopServersByBytes ranks the limit servers storing the most bytes of
// attachments, private conversations included (their files take room as
// well), for operators, with the bytes every server stores together.
func (s *Service) TopServersByBytes(ctx context.Context, v Viewer, limit int) ([]ServerCount, int64, error) {
	if err := s.authorize(ctx, v, "", ""); err != nil {
		return nil, 0, err
	}
	counts, total, err := s.d.Storage.StoredBytes(ctx, limit)
	if err != nil {
		s.d.Log.Warn("cannot read stored bytes", "err", err)
		return nil, 0, errs.Unavailable("cannot read the bytes stored; try again")
	}
	ids := make([]string, len(counts))
	for i, c := range counts {
		ids[i] = c.ID
	}
	infos, err := s.d.Servers.Servers(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	rows := make([]ServerCount, len(counts))
	for i, c := range counts {
		rows[i] = ServerCount{ServerID: c.ID, Name: infos[c.ID].Name, Count: c.Count}
	}
	return rows, total, nil
}
