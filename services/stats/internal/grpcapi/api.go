// Package grpcapi serves the stats service over gRPC: it reads the caller
// from the request context, converts between the API's messages and the
// domain's types (package reports, which holds every rule), and draws the
// charts (package chart).
package grpcapi

import (
	"context"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/types/known/timestamppb"

	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/stats/internal/chart"
	"github.com/accordchat/accord/services/stats/internal/reports"
)

// DefaultLimit is the number of ranking rows when the request says 0.
const DefaultLimit = 10

// API implements statsv1.StatsServiceServer.
type API struct {
	statsv1.UnimplementedStatsServiceServer
	svc *reports.Service
}

// New returns an API over svc.
func New(svc *reports.Service) *API { return &API{svc: svc} }

// viewer is the caller, as the domain knows them.
func viewer(ctx context.Context) (reports.Viewer, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return reports.Viewer{}, err
	}
	return reports.Viewer{UserID: p.UserID, Operator: p.Operator}, nil
}

// countedMetric rejects BYTES_STORED where counters are read: bytes are
// stored now, not counted over time, and rank only servers.
func countedMetric(m statsv1.Metric) error {
	if m == statsv1.Metric_METRIC_BYTES_STORED {
		return errs.Invalid("metric", "bytes stored rank only servers (GetTopServers)")
	}
	return nil
}

func metricOf(m statsv1.Metric) reports.Metric {
	if m == statsv1.Metric_METRIC_CONNECTIONS {
		return reports.Connections
	}
	return reports.Messages
}

func windowOf(w statsv1.Window) reports.Window {
	switch w {
	case statsv1.Window_WINDOW_DAY:
		return reports.Day
	case statsv1.Window_WINDOW_MONTH:
		return reports.Month
	case statsv1.Window_WINDOW_ALL:
		return reports.All
	}
	return reports.Week
}

func limitOf(n int32) int {
	if n == 0 {
		return DefaultLimit
	}
	return int(n)
}

// GetTopUsers implements statsv1.StatsServiceServer.
func (a *API) GetTopUsers(ctx context.Context, req *statsv1.GetTopUsersRequest) (*statsv1.GetTopUsersResponse, error) {
	// Bad input is reported before the caller's permission is checked.
	if err := countedMetric(req.GetMetric()); err != nil {
		return nil, err
	}
	if err := reports.CheckServerMetric(metricOf(req.GetMetric()), req.GetServerId()); err != nil {
		return nil, err
	}
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := a.svc.TopUsers(ctx, v, metricOf(req.GetMetric()), windowOf(req.GetWindow()), req.GetServerId(), limitOf(req.GetLimit()))
	if err != nil {
		return nil, err
	}
	out := make([]*statsv1.UserCount, len(rows))
	for i, r := range rows {
		out[i] = &statsv1.UserCount{UserId: r.UserID, DisplayName: r.DisplayName, Count: r.Count}
	}
	return &statsv1.GetTopUsersResponse{Rows: out}, nil
}

// GetTopServers implements statsv1.StatsServiceServer.
func (a *API) GetTopServers(ctx context.Context, req *statsv1.GetTopServersRequest) (*statsv1.GetTopServersResponse, error) {
	if req.GetMetric() == statsv1.Metric_METRIC_CONNECTIONS {
		return nil, errs.Invalid("metric", "servers are ranked by messages or bytes stored")
	}
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	var rows []reports.ServerCount
	var total int64
	if req.GetMetric() == statsv1.Metric_METRIC_BYTES_STORED {
		rows, total, err = a.svc.TopServersByBytes(ctx, v, limitOf(req.GetLimit()))
	} else {
		rows, err = a.svc.TopServers(ctx, v, windowOf(req.GetWindow()), limitOf(req.GetLimit()))
	}
	if err != nil {
		return nil, err
	}
	out := make([]*statsv1.ServerCount, len(rows))
	for i, r := range rows {
		out[i] = &statsv1.ServerCount{ServerId: r.ServerID, Name: r.Name, Count: r.Count}
	}
	return &statsv1.GetTopServersResponse{Rows: out, Total: total}, nil
}

func seriesOf(m statsv1.Metric, w statsv1.Window, g statsv1.Granularity, serverID, userID string) reports.SeriesQuery {
	return reports.SeriesQuery{
		Metric: metricOf(m), Window: windowOf(w), Hourly: g == statsv1.Granularity_GRANULARITY_HOUR,
		ServerID: serverID, UserID: userID,
	}
}

// GetActivity implements statsv1.StatsServiceServer.
func (a *API) GetActivity(ctx context.Context, req *statsv1.GetActivityRequest) (*statsv1.GetActivityResponse, error) {
	if err := countedMetric(req.GetMetric()); err != nil {
		return nil, err
	}
	q := seriesOf(req.GetMetric(), req.GetWindow(), req.GetGranularity(), req.GetServerId(), req.GetUserId())
	if err := reports.CheckActivity(q); err != nil {
		return nil, err
	}
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	pts, err := a.svc.Activity(ctx, v, q)
	if err != nil {
		return nil, err
	}
	out := make([]*statsv1.ActivityPoint, len(pts))
	for i, p := range pts {
		out[i] = &statsv1.ActivityPoint{StartTime: timestamppb.New(p.Start), Count: p.Count}
	}
	return &statsv1.GetActivityResponse{Points: out}, nil
}

// RebuildCounters implements statsv1.StatsServiceServer.
func (a *API) RebuildCounters(ctx context.Context, _ *statsv1.RebuildCountersRequest) (*statsv1.RebuildCountersResponse, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	res, err := a.svc.Rebuild(ctx, v)
	if err != nil {
		return nil, err
	}
	return &statsv1.RebuildCountersResponse{Messages: res.Messages, Connections: res.Connections, FinishTime: timestamppb.Now()}, nil
}

// GetChart implements statsv1.StatsServiceServer.
func (a *API) GetChart(ctx context.Context, req *statsv1.GetChartRequest) (*httpbody.HttpBody, error) {
	if err := countedMetric(req.GetMetric()); err != nil {
		return nil, err
	}
	q := reports.ChartQuery{
		Report:   reportOf(req.GetReport()),
		Window:   windowOf(req.GetWindow()),
		Hourly:   req.GetGranularity() == statsv1.Granularity_GRANULARITY_HOUR,
		ServerID: req.GetServerId(),
		UserID:   req.GetUserId(),
		Limit:    limitOf(req.GetLimit()),
	}
	if req.GetMetric() != statsv1.Metric_METRIC_UNSPECIFIED {
		q.Metric = metricOf(req.GetMetric())
	}
	// Bad input is reported before the caller's permission is checked.
	if err := reports.CheckChart(q); err != nil {
		return nil, err
	}
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	img, err := a.svc.Chart(ctx, v, q)
	if err != nil {
		return nil, err
	}
	return &httpbody.HttpBody{ContentType: chart.ContentType, Data: img}, nil
}

// reportOf converts an API report; protovalidate rejects the unknown ones.
func reportOf(r statsv1.Report) reports.Report {
	switch r {
	case statsv1.Report_REPORT_TOP_USERS:
		return reports.ReportTopUsers
	case statsv1.Report_REPORT_TOP_SERVERS:
		return reports.ReportTopServers
	}
	return reports.ReportActivity
}
