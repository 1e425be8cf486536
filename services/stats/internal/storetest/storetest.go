// Package storetest is the contract of reports.Counters, written once and
// run against every implementation: a store passes when it ranks and
// sums what rebuilds write into it the way the report rules expect.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/stats/internal/reports"
)

// NewCounters returns an empty store, isolated from every other one.
type NewCounters func(t *testing.T) reports.Counters

// Run runs the contract against the stores newCounters makes.
func Run(t *testing.T, newCounters NewCounters) {
	tests := []struct {
		name string
		fn   func(t *testing.T, c reports.Counters)
	}{
		{"an empty store ranks nothing and counts zeros", testEmpty},
		{"rankings follow what a rebuild wrote", testRankings},
		{"series sum per bucket", testSeries},
		{"readers see a rebuild only once committed", testCommit},
		{"one rebuild at a time", testOneRebuild},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newCounters(t)) })
	}
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// noon is mid-day today (UTC), so that "an hour ago" and "today" agree.
func noon() time.Time { return reports.DayStart(time.Now()).Add(12*time.Hour + 30*time.Minute) }

// rebuild writes entries (each counted n times) as a committed rebuild.
func rebuild(t *testing.T, c reports.Counters, now time.Time, entries map[reports.Entry]int64) {
	t.Helper()
	ctx := context.Background()
	rb, err := c.BeginRebuild(ctx, now)
	if err != nil {
		t.Fatalf("BeginRebuild: %v", err)
	}
	defer rb.Close()
	for e, n := range entries {
		if err := rb.Add(ctx, e, n); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	if err := rb.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func msg(user, server string, at time.Time) reports.Entry {
	return reports.Entry{Metric: reports.Messages, UserID: user, ServerID: server, Time: at, Delta: 1}
}

func conn(user string, at time.Time) reports.Entry {
	return reports.Entry{Metric: reports.Connections, UserID: user, Time: at, Delta: 1}
}

func equal(got, want []reports.Count) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func testEmpty(t *testing.T, c reports.Counters) {
	ctx := context.Background()
	now := noon()
	for _, w := range []reports.Window{reports.Day, reports.Week, reports.Month, reports.All} {
		if top, err := c.TopUsers(ctx, reports.Messages, w, "", now, 0, 10); err != nil || len(top) != 0 {
			t.Fatalf("TopUsers %v: %v, %v", w, top, err)
		}
		if top, err := c.TopServers(ctx, w, now, 0, 10); err != nil || len(top) != 0 {
			t.Fatalf("TopServers %v: %v, %v", w, top, err)
		}
	}
	for _, tc := range []struct {
		q    reports.SeriesQuery
		want int
	}{
		{reports.SeriesQuery{Metric: reports.Messages, Window: reports.Week}, 7},
		{reports.SeriesQuery{Metric: reports.Messages, Window: reports.Month}, 30},
		{reports.SeriesQuery{Metric: reports.Connections, Window: reports.Day, Hourly: true}, 24},
		{reports.SeriesQuery{Metric: reports.Messages, Window: reports.All}, 1},
	} {
		pts, err := c.Series(ctx, tc.q, now)
		if err != nil || len(pts) != tc.want {
			t.Fatalf("Series %+v: %d points (%v), want %d", tc.q, len(pts), err, tc.want)
		}
		for _, p := range pts {
			if p.Count != 0 {
				t.Fatalf("Series %+v: %+v, want zeros", tc.q, pts)
			}
		}
	}
}

func testRankings(t *testing.T, c reports.Counters) {
	ctx := context.Background()
	now := noon()
	a, b, d := newID(), newID(), newID()
	s1, s2 := newID(), newID()
	rebuild(t, c, now, map[reports.Entry]int64{
		msg(a, s1, now.Add(-time.Hour)):        3,
		msg(a, s2, now.Add(-2*24*time.Hour)):   2,
		msg(b, s1, now.Add(-2*time.Hour)):      4,
		msg(d, s2, now.Add(-20*24*time.Hour)):  6,
		msg(d, s1, now.Add(-100*24*time.Hour)): 1,
		conn(b, now.Add(-time.Hour)):           2,
		conn(a, now.Add(-3*24*time.Hour)):      1,
	})
	for _, tc := range []struct {
		name   string
		m      reports.Metric
		w      reports.Window
		server string
		want   []reports.Count
	}{
		{"messages, last 24 hours", reports.Messages, reports.Day, "", []reports.Count{{ID: b, Count: 4}, {ID: a, Count: 3}}},
		{"messages, last 7 days", reports.Messages, reports.Week, "", []reports.Count{{ID: a, Count: 5}, {ID: b, Count: 4}}},
		{"messages, last 30 days", reports.Messages, reports.Month, "", []reports.Count{{ID: d, Count: 6}, {ID: a, Count: 5}, {ID: b, Count: 4}}},
		{"messages, all time", reports.Messages, reports.All, "", []reports.Count{{ID: d, Count: 7}, {ID: a, Count: 5}, {ID: b, Count: 4}}},
		{"messages in one server", reports.Messages, reports.All, s2, []reports.Count{{ID: d, Count: 6}, {ID: a, Count: 2}}},
		{"connections, last 7 days", reports.Connections, reports.Week, "", []reports.Count{{ID: b, Count: 2}, {ID: a, Count: 1}}},
		{"connections, last 24 hours", reports.Connections, reports.Day, "", []reports.Count{{ID: b, Count: 2}}},
	} {
		got, err := c.TopUsers(ctx, tc.m, tc.w, tc.server, now, 0, 10)
		if err != nil || !equal(got, tc.want) {
			t.Errorf("%s: got %v (%v), want %v", tc.name, got, err, tc.want)
		}
	}
	// Offset and limit page through a ranking.
	if got, err := c.TopUsers(ctx, reports.Messages, reports.All, "", now, 1, 1); err != nil || !equal(got, []reports.Count{{ID: a, Count: 5}}) {
		t.Errorf("second user: got %v (%v)", got, err)
	}
	if got, err := c.TopUsers(ctx, reports.Messages, reports.All, "", now, 0, 0); err != nil || len(got) != 0 {
		t.Errorf("limit 0: got %v (%v)", got, err)
	}
	// A second read of a window is answered the same.
	if got, err := c.TopUsers(ctx, reports.Messages, reports.Week, "", now, 0, 10); err != nil || len(got) != 2 {
		t.Errorf("week again: got %v (%v)", got, err)
	}
	for _, tc := range []struct {
		w    reports.Window
		want []reports.Count
	}{
		{reports.Day, []reports.Count{{ID: s1, Count: 7}}},
		{reports.Month, []reports.Count{{ID: s2, Count: 8}, {ID: s1, Count: 7}}},
		{reports.All, []reports.Count{{ID: s2, Count: 8}, {ID: s1, Count: 8}}},
	} {
		got, err := c.TopServers(ctx, tc.w, now, 0, 10)
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("servers %v: got %v (%v), want %v", tc.w, got, err, tc.want)
			continue
		}
		for i := range got {
			if got[i].Count != tc.want[i].Count || (tc.w != reports.All && got[i].ID != tc.want[i].ID) {
				t.Errorf("servers %v: got %v, want %v", tc.w, got, tc.want)
			}
		}
	}
}

func testSeries(t *testing.T, c reports.Counters) {
	ctx := context.Background()
	now := noon()
	a, b, s1 := newID(), newID(), newID()
	rebuild(t, c, now, map[reports.Entry]int64{
		msg(a, s1, now.Add(-time.Hour)):         3,
		msg(b, s1, now.Add(-time.Hour)):         1,
		msg(b, newID(), now.Add(-24*time.Hour)): 2,
		conn(a, now):                            5,
	})
	sum := func(q reports.SeriesQuery) (last, prev, total int64) {
		t.Helper()
		pts, err := c.Series(ctx, q, now)
		if err != nil {
			t.Fatalf("Series %+v: %v", q, err)
		}
		for i, p := range pts {
			if i > 0 && !p.Start.After(pts[i-1].Start) {
				t.Fatalf("Series %+v: points out of order: %v", q, pts)
			}
			total += p.Count
		}
		return pts[len(pts)-1].Count, pts[len(pts)-2].Count, total
	}
	for _, tc := range []struct {
		name              string
		q                 reports.SeriesQuery
		last, prev, total int64
	}{
		{"all messages per day", reports.SeriesQuery{Metric: reports.Messages, Window: reports.Week}, 4, 2, 6},
		{"all messages per hour", reports.SeriesQuery{Metric: reports.Messages, Window: reports.Day, Hourly: true}, 0, 4, 4},
		{"one user's messages", reports.SeriesQuery{Metric: reports.Messages, Window: reports.Week, UserID: b}, 1, 2, 3},
		{"one server's messages", reports.SeriesQuery{Metric: reports.Messages, Window: reports.Week, ServerID: s1}, 4, 0, 4},
		{"one user's messages in one server", reports.SeriesQuery{Metric: reports.Messages, Window: reports.Week, ServerID: s1, UserID: b}, 1, 0, 1},
		{"connections per hour", reports.SeriesQuery{Metric: reports.Connections, Window: reports.Week, Hourly: true}, 5, 0, 5},
	} {
		last, prev, total := sum(tc.q)
		if last != tc.last || prev != tc.prev || total != tc.total {
			t.Errorf("%s: last %d, previous %d, total %d; want %d, %d, %d", tc.name, last, prev, total, tc.last, tc.prev, tc.total)
		}
	}
	// An all-time series starts on the first day counted.
	pts, err := c.Series(ctx, reports.SeriesQuery{Metric: reports.Messages, Window: reports.All}, now)
	if err != nil || len(pts) != 2 || !pts[0].Start.Equal(reports.DayStart(now.Add(-24*time.Hour))) {
		t.Errorf("all-time series: %v (%v)", pts, err)
	}
}

func testCommit(t *testing.T, c reports.Counters) {
	ctx := context.Background()
	now := noon()
	a, b := newID(), newID()
	rebuild(t, c, now, map[reports.Entry]int64{msg(a, newID(), now): 2})
	rb, err := c.BeginRebuild(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	if err := rb.Add(ctx, msg(b, newID(), now), 7); err != nil {
		t.Fatal(err)
	}
	if n, err := rb.AddConnections(ctx); err != nil || n != 0 {
		t.Fatalf("AddConnections without a log: %d, %v", n, err)
	}
	top := func() []reports.Count {
		got, err := c.TopUsers(ctx, reports.Messages, reports.All, "", now, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := top(); !equal(got, []reports.Count{{ID: a, Count: 2}}) {
		t.Fatalf("before commit: %v, want the old counts", got)
	}
	if err := rb.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// The new counters replace the old ones.
	if got := top(); !equal(got, []reports.Count{{ID: b, Count: 7}}) {
		t.Fatalf("after commit: %v, want the rebuilt counts only", got)
	}
}

func testOneRebuild(t *testing.T, c reports.Counters) {
	ctx := context.Background()
	now := noon()
	rb, err := c.BeginRebuild(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.BeginRebuild(ctx, now)
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindFailedPrecondition || e.Reason != "REBUILD_RUNNING" {
		t.Fatalf("second rebuild: got %v, want FAILED_PRECONDITION REBUILD_RUNNING", err)
	}
	rb.Close()
	// An abandoned rebuild leaves nothing behind for readers.
	rb, err = c.BeginRebuild(ctx, now)
	if err != nil {
		t.Fatalf("rebuild after Close: %v", err)
	}
	rb.Close()
}
