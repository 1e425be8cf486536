package redis

import (
	"slices"
	"testing"
	"time"

	"github.com/accordchat/accord/services/stats/internal/reports"
)

// Every increment must reach exactly the materialized windows whose
// buckets contain it, for readers whose clocks are up to an hour (for the
// last 24 hours) or a day (for 7 and 30 days) away from the writer's.
func TestWindowOpsMatchWindowKeys(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 20, 0, 0, time.UTC) // just after midnight, month end
	for h := reports.HourStart(now).Add(-40 * 24 * time.Hour); !h.After(now.Add(2 * time.Hour)); h = h.Add(time.Hour) {
		ops := windowOps("mu", "u", h, now)
		var got []string
		for _, o := range ops {
			got = append(got, o.suffix)
		}
		for _, tc := range []struct {
			w      reports.Window
			bucket string
			skews  []time.Duration
		}{
			{reports.Day, "mu:h:" + reports.HourID(h), []time.Duration{-time.Hour, 0, time.Hour}},
			{reports.Week, "mu:d:" + reports.DayID(h), []time.Duration{-24 * time.Hour, 0, 24 * time.Hour}},
			{reports.Month, "mu:d:" + reports.DayID(h), []time.Duration{-24 * time.Hour, 0, 24 * time.Hour}},
		} {
			for _, skew := range tc.skews {
				mat, _, sources := windowKeys("mu", tc.w, now.Add(skew))
				if in, updated := slices.Contains(sources, tc.bucket), slices.Contains(got, mat); in != updated {
					t.Errorf("entry at %s, window %v read at %s: in sources %v, updated %v", h, tc.w, now.Add(skew), in, updated)
				}
			}
		}
	}
}

func TestWindowKeys(t *testing.T) {
	now := time.Date(2026, 11, 27, 13, 45, 0, 0, time.UTC)
	for _, tc := range []struct {
		w           reports.Window
		mat         string
		first, last string
		n           int
	}{
		{reports.Day, "mu:w24:2026112713", "mu:h:2026112614", "mu:h:2026112713", 24},
		{reports.Week, "mu:w7:20261127", "mu:d:20261121", "mu:d:20261127", 7},
		{reports.Month, "mu:w30:20261127", "mu:d:20261029", "mu:d:20261127", 30},
		{reports.All, "", "mu:all", "mu:all", 1},
	} {
		mat, _, src := windowKeys("mu", tc.w, now)
		if mat != tc.mat || len(src) != tc.n || src[0] != tc.first || src[len(src)-1] != tc.last {
			t.Errorf("%v: got %s %d [%s..%s], want %s %d [%s..%s]", tc.w, mat, len(src), src[0], src[len(src)-1], tc.mat, tc.n, tc.first, tc.last)
		}
	}
}

func TestOpsSkipExpiredHours(t *testing.T) {
	now := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	hourly := func(at time.Time) bool {
		for _, o := range ops(reports.Entry{Metric: reports.Connections, UserID: "u", Time: at, Delta: 1}, now) {
			if o.suffix == "cu:h:"+reports.HourID(at) {
				return true
			}
		}
		return false
	}
	if !hourly(now.Add(-7 * 24 * time.Hour)) {
		t.Error("an hour 7 days ago has no hourly bucket")
	}
	if hourly(now.Add(-9 * 24 * time.Hour)) {
		t.Error("an hour 9 days ago has an hourly bucket")
	}
}
