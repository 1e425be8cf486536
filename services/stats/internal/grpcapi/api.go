// Package grpcapi holds the stats service's gRPC handlers: who may see
// which report, conversion between the API and the counters, and charts.
package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/types/known/timestamppb"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/stats/internal/chart"
	"github.com/accordchat/accord/services/stats/internal/counters"
	"github.com/accordchat/accord/services/stats/internal/source"
)

// DefaultLimit is the number of ranking rows when the request says 0.
const DefaultLimit = 10

// API implements statsv1.StatsServiceServer.
type API struct {
	statsv1.UnimplementedStatsServiceServer
	store  *counters.Store
	source *source.Source
	roles  Roles
	names  Names
	log    *slog.Logger
	now    func() time.Time
}

// Options are what an API is built from.
type Options struct {
	Store  *counters.Store
	Source *source.Source
	Roles  Roles
	Names  Names
	Log    *slog.Logger
	// Now tells the time; nil means time.Now.
	Now func() time.Time
}

// New returns an API.
func New(o Options) *API {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &API{store: o.Store, source: o.Source, roles: o.Roles, names: o.Names, log: o.Log, now: o.Now}
}

// authorize lets operators see everything, a user see their own activity
// (userID), and a server's owner and admins see the server's reports; any
// other caller gets PERMISSION_DENIED, whether or not the server exists.
func (a *API) authorize(ctx context.Context, serverID, userID string) error {
	p, err := auth.User(ctx)
	if err != nil {
		return err
	}
	if p.Operator || (userID != "" && userID == p.UserID) {
		return nil
	}
	if serverID != "" {
		role, err := a.roles.MemberRole(ctx, serverID, p.UserID)
		if err != nil {
			a.log.Warn("cannot check server role", "server_id", serverID, "err", err)
			return errs.Unavailable("cannot check your role in the server; try again")
		}
		if role == serverv1.Role_ROLE_OWNER || role == serverv1.Role_ROLE_ADMIN {
			return nil
		}
		return errs.PermissionDenied("only the server's owner and admins may see its reports")
	}
	if userID != "" {
		return errs.PermissionDenied("you may only see your own activity")
	}
	return errs.PermissionDenied("global reports are for operators")
}

func metricOf(m statsv1.Metric) counters.Metric {
	if m == statsv1.Metric_METRIC_CONNECTIONS {
		return counters.Connections
	}
	return counters.Messages
}

func windowOf(w statsv1.Window) counters.Window {
	switch w {
	case statsv1.Window_WINDOW_DAY:
		return counters.Day
	case statsv1.Window_WINDOW_MONTH:
		return counters.Month
	case statsv1.Window_WINDOW_ALL:
		return counters.All
	}
	return counters.Week
}

func limitOf(n int32) int {
	if n == 0 {
		return DefaultLimit
	}
	return int(n)
}

// checkServerMetric rejects per-server connection reports: connections
// belong to no server.
func checkServerMetric(m statsv1.Metric, serverID string) error {
	if serverID != "" && m == statsv1.Metric_METRIC_CONNECTIONS {
		return errs.Invalid("server_id", "connections are not counted per server; leave server_id empty")
	}
	return nil
}

// GetTopUsers implements statsv1.StatsServiceServer.
func (a *API) GetTopUsers(ctx context.Context, req *statsv1.GetTopUsersRequest) (*statsv1.GetTopUsersResponse, error) {
	if err := checkServerMetric(req.GetMetric(), req.GetServerId()); err != nil {
		return nil, err
	}
	if err := a.authorize(ctx, req.GetServerId(), ""); err != nil {
		return nil, err
	}
	rows, err := a.topUsers(ctx, req.GetMetric(), req.GetWindow(), req.GetServerId(), limitOf(req.GetLimit()))
	if err != nil {
		return nil, err
	}
	return &statsv1.GetTopUsersResponse{Rows: rows}, nil
}

func (a *API) topUsers(ctx context.Context, m statsv1.Metric, w statsv1.Window, serverID string, limit int) ([]*statsv1.UserCount, error) {
	counts, err := a.store.TopUsers(ctx, metricOf(m), windowOf(w), serverID, a.now(), 0, limit)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(counts))
	for i, c := range counts {
		ids[i] = c.ID
	}
	names := a.displayNames(ctx, ids)
	rows := make([]*statsv1.UserCount, len(counts))
	for i, c := range counts {
		rows[i] = &statsv1.UserCount{UserId: c.ID, DisplayName: names[c.ID], Count: c.Count}
	}
	return rows, nil
}

// displayNames degrades to no names when the user service is down: the
// counts are still worth showing.
func (a *API) displayNames(ctx context.Context, ids []string) map[string]string {
	if len(ids) == 0 {
		return nil
	}
	names, err := a.names.DisplayNames(ctx, ids)
	if err != nil {
		a.log.Warn("cannot fetch display names", "err", err)
	}
	return names
}

// GetTopServers implements statsv1.StatsServiceServer. Private
// conversations are not servers anyone chose to be busy in, so they are
// left out (their messages still count for their authors).
func (a *API) GetTopServers(ctx context.Context, req *statsv1.GetTopServersRequest) (*statsv1.GetTopServersResponse, error) {
	if err := a.authorize(ctx, "", ""); err != nil {
		return nil, err
	}
	rows, err := a.topServers(ctx, req.GetWindow(), limitOf(req.GetLimit()))
	if err != nil {
		return nil, err
	}
	return &statsv1.GetTopServersResponse{Rows: rows}, nil
}

func (a *API) topServers(ctx context.Context, w statsv1.Window, limit int) ([]*statsv1.ServerCount, error) {
	now := a.now()
	page := max(4*limit, 100)
	var rows []*statsv1.ServerCount
	for offset := 0; len(rows) < limit; offset += page {
		counts, err := a.store.TopServers(ctx, windowOf(w), now, offset, page)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(counts))
		for i, c := range counts {
			ids[i] = c.ID
		}
		infos, err := a.source.Servers(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, c := range counts {
			info, ok := infos[c.ID]
			if ok && info.Kind == source.KindDM {
				continue
			}
			// A server deleted since keeps its counts, unnamed.
			rows = append(rows, &statsv1.ServerCount{ServerId: c.ID, Name: info.Name, Count: c.Count})
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

// checkActivity validates what protovalidate cannot.
func checkActivity(m statsv1.Metric, w statsv1.Window, g statsv1.Granularity, serverID string) error {
	if err := checkServerMetric(m, serverID); err != nil {
		return err
	}
	if g == statsv1.Granularity_GRANULARITY_HOUR && !counters.HourlyAllowed(windowOf(w)) {
		return errs.Invalid("granularity", "hourly buckets are kept for the last 7 days only; use WINDOW_DAY or WINDOW_WEEK")
	}
	return nil
}

// GetActivity implements statsv1.StatsServiceServer.
func (a *API) GetActivity(ctx context.Context, req *statsv1.GetActivityRequest) (*statsv1.GetActivityResponse, error) {
	if err := checkActivity(req.GetMetric(), req.GetWindow(), req.GetGranularity(), req.GetServerId()); err != nil {
		return nil, err
	}
	if err := a.authorize(ctx, req.GetServerId(), req.GetUserId()); err != nil {
		return nil, err
	}
	pts, err := a.series(ctx, req.GetMetric(), req.GetWindow(), req.GetGranularity(), req.GetServerId(), req.GetUserId())
	if err != nil {
		return nil, err
	}
	out := make([]*statsv1.ActivityPoint, len(pts))
	for i, p := range pts {
		out[i] = &statsv1.ActivityPoint{StartTime: timestamppb.New(p.Start), Count: p.Count}
	}
	return &statsv1.GetActivityResponse{Points: out}, nil
}

func (a *API) series(ctx context.Context, m statsv1.Metric, w statsv1.Window, g statsv1.Granularity, serverID, userID string) ([]counters.Point, error) {
	return a.store.Series(ctx, counters.SeriesQuery{
		Metric: metricOf(m), Window: windowOf(w), Hourly: g == statsv1.Granularity_GRANULARITY_HOUR,
		ServerID: serverID, UserID: userID,
	}, a.now())
}

// RebuildCounters implements statsv1.StatsServiceServer.
func (a *API) RebuildCounters(ctx context.Context, _ *statsv1.RebuildCountersRequest) (*statsv1.RebuildCountersResponse, error) {
	if err := a.authorize(ctx, "", ""); err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := a.store.Rebuild(ctx, a.source, a.now())
	if errors.Is(err, counters.ErrRebuildRunning) {
		return nil, errs.FailedPrecondition("a rebuild is already running").WithReason("REBUILD_RUNNING")
	}
	if err != nil {
		return nil, err
	}
	a.log.Info("rebuilt counters", "messages", res.Messages, "connections", res.Connections, "took", time.Since(start))
	return &statsv1.RebuildCountersResponse{Messages: res.Messages, Connections: res.Connections, FinishTime: timestamppb.Now()}, nil
}

// GetChart implements statsv1.StatsServiceServer.
func (a *API) GetChart(ctx context.Context, req *statsv1.GetChartRequest) (*httpbody.HttpBody, error) {
	m, w, sid, uid := req.GetMetric(), req.GetWindow(), req.GetServerId(), req.GetUserId()
	var img []byte
	switch req.GetReport() {
	case statsv1.Report_REPORT_TOP_USERS:
		if m == statsv1.Metric_METRIC_UNSPECIFIED {
			return nil, errs.Invalid("metric", "choose what to count")
		}
		if uid != "" {
			return nil, errs.Invalid("user_id", "only for REPORT_ACTIVITY")
		}
		if err := checkServerMetric(m, sid); err != nil {
			return nil, err
		}
		if err := a.authorize(ctx, sid, ""); err != nil {
			return nil, err
		}
		rows, err := a.topUsers(ctx, m, w, sid, limitOf(req.GetLimit()))
		if err != nil {
			return nil, err
		}
		bars := make([]chart.Bar, len(rows))
		for i, r := range rows {
			bars[i] = chart.Bar{Label: orID(r.GetDisplayName(), r.GetUserId()), Value: r.GetCount()}
		}
		title := fmt.Sprintf("Top users by %s, %s%s", metricNoun(m), windowPhrase(w), a.inServer(ctx, sid))
		img = chart.BarChart(chart.Labels{Title: title, X: metricNoun(m), Y: "user"}, bars)
	case statsv1.Report_REPORT_TOP_SERVERS:
		if m == statsv1.Metric_METRIC_CONNECTIONS {
			return nil, errs.Invalid("metric", "servers are ranked by messages")
		}
		if sid != "" {
			return nil, errs.Invalid("server_id", "not used by REPORT_TOP_SERVERS")
		}
		if uid != "" {
			return nil, errs.Invalid("user_id", "only for REPORT_ACTIVITY")
		}
		if err := a.authorize(ctx, "", ""); err != nil {
			return nil, err
		}
		rows, err := a.topServers(ctx, w, limitOf(req.GetLimit()))
		if err != nil {
			return nil, err
		}
		bars := make([]chart.Bar, len(rows))
		for i, r := range rows {
			bars[i] = chart.Bar{Label: orID(r.GetName(), r.GetServerId()), Value: r.GetCount()}
		}
		title := "Busiest servers by messages, " + windowPhrase(w)
		img = chart.BarChart(chart.Labels{Title: title, X: "messages", Y: "server"}, bars)
	default: // REPORT_ACTIVITY; protovalidate rejects the rest
		if m == statsv1.Metric_METRIC_UNSPECIFIED {
			return nil, errs.Invalid("metric", "choose what to count")
		}
		if err := checkActivity(m, w, req.GetGranularity(), sid); err != nil {
			return nil, err
		}
		if err := a.authorize(ctx, sid, uid); err != nil {
			return nil, err
		}
		pts, err := a.series(ctx, m, w, req.GetGranularity(), sid, uid)
		if err != nil {
			return nil, err
		}
		hourly := req.GetGranularity() == statsv1.Granularity_GRANULARITY_HOUR
		points := make([]chart.Point, len(pts))
		for i, p := range pts {
			label := p.Start.UTC().Format("Jan 2")
			if hourly {
				label = p.Start.UTC().Format("Jan 2 15h")
			}
			points[i] = chart.Point{Label: label, Value: p.Count}
		}
		per, xLabel := "day", "day (UTC)"
		if hourly {
			per, xLabel = "hour", "hour (UTC)"
		}
		title := fmt.Sprintf("%s per %s, %s%s%s", capital(metricNoun(m)), per, windowPhrase(w), a.inServer(ctx, sid), a.byUser(ctx, uid))
		img = chart.LineChart(chart.Labels{Title: title, X: xLabel, Y: metricNoun(m)}, points)
	}
	return &httpbody.HttpBody{ContentType: chart.ContentType, Data: img}, nil
}

func (a *API) inServer(ctx context.Context, serverID string) string {
	if serverID == "" {
		return ""
	}
	infos, err := a.source.Servers(ctx, []string{serverID})
	if err != nil {
		a.log.Warn("cannot fetch server name", "server_id", serverID, "err", err)
	}
	return " in " + orID(infos[serverID].Name, serverID)
}

func (a *API) byUser(ctx context.Context, userID string) string {
	if userID == "" {
		return ""
	}
	return " by " + orID(a.displayNames(ctx, []string{userID})[userID], userID)
}

func orID(name, id string) string {
	if name == "" {
		return id
	}
	return name
}

func metricNoun(m statsv1.Metric) string {
	if m == statsv1.Metric_METRIC_CONNECTIONS {
		return "connections"
	}
	return "messages"
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func windowPhrase(w statsv1.Window) string {
	switch windowOf(w) {
	case counters.Day:
		return "last 24 hours"
	case counters.Month:
		return "last 30 days"
	case counters.All:
		return "all time"
	}
	return "last 7 days"
}
