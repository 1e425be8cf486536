package reports

import (
	"context"
	"fmt"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/stats/internal/chart"
)

// Report is the kind of report a chart draws.
type Report int

// Reports.
const (
	// ReportActivity is a series over time (a line chart).
	ReportActivity Report = iota + 1
	// ReportTopUsers ranks users (a bar chart).
	ReportTopUsers
	// ReportTopServers ranks servers by messages (a bar chart).
	ReportTopServers
)

// ChartQuery names a chart. A zero Metric is none chosen.
type ChartQuery struct {
	Report   Report
	Metric   Metric
	Window   Window
	Hourly   bool
	ServerID string
	UserID   string
	// Limit is the number of bars of a ranking.
	Limit int
}

func (q ChartQuery) series() SeriesQuery {
	return SeriesQuery{Metric: q.Metric, Window: q.Window, Hourly: q.Hourly, ServerID: q.ServerID, UserID: q.UserID}
}

// CheckChart rejects charts that cannot be drawn, naming the field at
// fault.
func CheckChart(q ChartQuery) error {
	switch q.Report {
	case ReportTopUsers:
		if q.Metric == 0 {
			return errs.Invalid("metric", "choose what to count")
		}
		if q.UserID != "" {
			return errs.Invalid("user_id", "only for REPORT_ACTIVITY")
		}
		return CheckServerMetric(q.Metric, q.ServerID)
	case ReportTopServers:
		if q.Metric == Connections {
			return errs.Invalid("metric", "servers are ranked by messages")
		}
		if q.ServerID != "" {
			return errs.Invalid("server_id", "not used by REPORT_TOP_SERVERS")
		}
		if q.UserID != "" {
			return errs.Invalid("user_id", "only for REPORT_ACTIVITY")
		}
		return nil
	default:
		if q.Metric == 0 {
			return errs.Invalid("metric", "choose what to count")
		}
		return CheckActivity(q.series())
	}
}

// Chart draws the report q as an SVG image (chart.ContentType), for the
// viewers who may see the report itself.
func (s *Service) Chart(ctx context.Context, v Viewer, q ChartQuery) ([]byte, error) {
	if err := CheckChart(q); err != nil {
		return nil, err
	}
	m, w, sid, uid := q.Metric, q.Window, q.ServerID, q.UserID
	switch q.Report {
	case ReportTopUsers:
		rows, err := s.TopUsers(ctx, v, m, w, sid, q.Limit)
		if err != nil {
			return nil, err
		}
		bars := make([]chart.Bar, len(rows))
		for i, r := range rows {
			bars[i] = chart.Bar{Label: orID(r.DisplayName, r.UserID), Value: r.Count}
		}
		title := fmt.Sprintf("Top users by %s, %s%s", metricNoun(m), windowPhrase(w), s.inServer(ctx, sid))
		return chart.BarChart(chart.Labels{Title: title, X: metricNoun(m), Y: "user"}, bars), nil
	case ReportTopServers:
		rows, err := s.TopServers(ctx, v, w, q.Limit)
		if err != nil {
			return nil, err
		}
		bars := make([]chart.Bar, len(rows))
		for i, r := range rows {
			bars[i] = chart.Bar{Label: orID(r.Name, r.ServerID), Value: r.Count}
		}
		title := "Busiest servers by messages, " + windowPhrase(w)
		return chart.BarChart(chart.Labels{Title: title, X: "messages", Y: "server"}, bars), nil
	}
	pts, err := s.Activity(ctx, v, q.series())
	if err != nil {
		return nil, err
	}
	points := make([]chart.Point, len(pts))
	for i, p := range pts {
		label := p.Start.UTC().Format("Jan 2")
		if q.Hourly {
			label = p.Start.UTC().Format("Jan 2 15h")
		}
		points[i] = chart.Point{Label: label, Value: p.Count}
	}
	per, xLabel := "day", "day (UTC)"
	if q.Hourly {
		per, xLabel = "hour", "hour (UTC)"
	}
	title := fmt.Sprintf("%s per %s, %s%s%s", capital(metricNoun(m)), per, windowPhrase(w), s.inServer(ctx, sid), s.byUser(ctx, uid))
	return chart.LineChart(chart.Labels{Title: title, X: xLabel, Y: metricNoun(m)}, points), nil
}

func (s *Service) inServer(ctx context.Context, serverID string) string {
	if serverID == "" {
		return ""
	}
	infos, err := s.d.Servers.Servers(ctx, []string{serverID})
	if err != nil {
		s.d.Log.Warn("cannot fetch server name", "server_id", serverID, "err", err)
	}
	return " in " + orID(infos[serverID].Name, serverID)
}

func (s *Service) byUser(ctx context.Context, userID string) string {
	if userID == "" {
		return ""
	}
	return " by " + orID(s.displayNames(ctx, []string{userID})[userID], userID)
}

func orID(name, id string) string {
	if name == "" {
		return id
	}
	return name
}

func metricNoun(m Metric) string {
	if m == Connections {
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

func windowPhrase(w Window) string {
	switch w {
	case Day:
		return "last 24 hours"
	case Month:
		return "last 30 days"
	case All:
		return "all time"
	}
	return "last 7 days"
}
