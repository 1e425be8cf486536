package redis_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/stats/internal/redis"
	"github.com/accordchat/accord/services/stats/internal/reports"
)

// BenchmarkTopUsers measures a top-10 ranking from the counters over
// 1,000,000 messages from 10,000 users in 1,000 servers over 30 days, with
// skewed (Zipf) activity, and checks the week's ranking against a count of
// the seeded messages. It reports the p50 and p99 latency over a week and
// the p99 over all time. ACCORD_STATS_BENCH_MESSAGES=200000 gives a
// quicker run.
func BenchmarkTopUsers(b *testing.B) {
	total := 1_000_000
	if v := os.Getenv("ACCORD_STATS_BENCH_MESSAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		total = n
	}
	const users, servers, days = 10_000, 1_000, 30
	env := platformtest.New(b)
	ctx := context.Background()
	now := reports.DayStart(time.Now()).Add(12 * time.Hour)
	store := redis.New(env.Redis, env.Keys)
	weekStart := reports.WindowStart(reports.Week, now)
	week := map[string]int64{} // the week's messages per user, counted here

	userIDs, serverIDs := make([]string, users), make([]string, servers)
	for i := range userIDs {
		userIDs[i] = platformtest.NewID()
	}
	for i := range serverIDs {
		serverIDs[i] = platformtest.NewID()
	}
	// Skewed activity, as in real chats: a few users and servers are busy.
	rng := rand.New(rand.NewPCG(1, 2))
	userZipf := rand.NewZipf(rng, 1.1, 10, users-1)
	serverZipf := rand.NewZipf(rng, 1.1, 10, servers-1)
	seedStart := time.Now()
	const batch = 10_000
	entries := make([]reports.Entry, 0, batch)
	for i := range total {
		u, s := userIDs[userZipf.Uint64()], serverIDs[serverZipf.Uint64()]
		created := now.Add(-time.Duration(rng.Int64N(int64(days * 24 * time.Hour)))).Truncate(time.Millisecond)
		if !created.Before(weekStart) {
			week[u]++
		}
		entries = append(entries, reports.Entry{Metric: reports.Messages, UserID: u, ServerID: s, Time: created, Delta: 1})
		if len(entries) == batch || i == total-1 {
			if err := store.Load(ctx, entries, now); err != nil {
				b.Fatal(err)
			}
			entries = entries[:0]
		}
	}
	b.Logf("seeded %d messages from %d users in %d servers over %d days in %s",
		total, users, servers, days, time.Since(seedStart).Round(time.Second))

	fromCounters := func(w reports.Window) []reports.Count {
		top, err := store.TopUsers(ctx, reports.Messages, w, "", now, 0, 10)
		if err != nil {
			b.Fatal(err)
		}
		return top
	}
	// The counters must give the right answer before their speed matters:
	// most messages first, ties by descending id. The first read of a
	// window of several days builds it (once a day).
	want := make([]reports.Count, 0, len(week))
	for id, n := range week {
		want = append(want, reports.Count{ID: id, Count: n})
	}
	slices.SortFunc(want, func(x, y reports.Count) int {
		if x.Count != y.Count {
			return int(y.Count - x.Count)
		}
		return strings.Compare(y.ID, x.ID)
	})
	want = want[:min(10, len(want))]
	t0 := time.Now()
	c := fromCounters(reports.Week)
	build := time.Since(t0)
	if fmt.Sprint(c) != fmt.Sprint(want) {
		b.Fatalf("top 10 of the week differ:\ncounters %v\nseeded   %v", c, want)
	}

	var weekTimes, all []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		fromCounters(reports.Week)
		t1 := time.Now()
		fromCounters(reports.All)
		weekTimes, all = append(weekTimes, t1.Sub(t0)), append(all, time.Since(t1))
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	cw99, cw50, ca99 := pct(weekTimes, 99), pct(weekTimes, 50), pct(all, 99)
	b.ReportMetric(ms(cw50), "counters-week-p50-ms")
	b.ReportMetric(ms(cw99), "counters-week-p99-ms")
	b.ReportMetric(ms(ca99), "counters-all-p99-ms")
	b.ReportMetric(ms(build), "counters-week-first-read-ms")
	b.Logf("top 10 of the week: counters p50 %s p99 %s (first read, building the window, %s; all time p99 %s)",
		cw50, cw99, build, ca99)
}

// pct is the p-th percentile of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}
