package counters_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/stats/internal/counters"
	"github.com/accordchat/accord/services/stats/internal/source"
)

// BenchmarkTopUsers compares a top-10 ranking from the counters with the
// aggregation pipeline it replaces, over the same data: 1,000,000 messages
// from 10,000 users in 1,000 servers over 30 days, with skewed (Zipf)
// activity. It reports the p50 and p99 latency of both paths and their
// ratio. On the embedded FerretDB seeding takes 2-4 minutes and each
// pipeline run over a week about a minute or more;
// ACCORD_STATS_BENCH_MESSAGES=200000 gives a quicker run.
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
	now := counters.DayStart(time.Now()).Add(12 * time.Hour)
	store := counters.New(env.Redis, env.Prefix)
	src := source.New(env.DB)

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
	var mongoTime, redisTime time.Duration
	const batch = 10_000
	docs := make([]any, 0, batch)
	entries := make([]counters.Entry, 0, batch)
	for i := range total {
		u, s := userIDs[userZipf.Uint64()], serverIDs[serverZipf.Uint64()]
		created := now.Add(-time.Duration(rng.Int64N(int64(days * 24 * time.Hour)))).Truncate(time.Millisecond)
		docs = append(docs, bson.D{
			{Key: "_id", Value: bson.NewObjectIDFromTimestamp(created)}, {Key: "server_id", Value: s},
			{Key: "channel_id", Value: s}, {Key: "author_id", Value: u}, {Key: "content", Value: "benchmark message"},
			{Key: "created_at", Value: created},
		})
		entries = append(entries, counters.Entry{Metric: counters.Messages, UserID: u, ServerID: s, Time: created, Delta: 1})
		if len(docs) == batch || i == total-1 {
			t0 := time.Now()
			if _, err := env.DB.Collection(source.Messages).InsertMany(ctx, docs); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := store.Load(ctx, entries, now); err != nil {
				b.Fatal(err)
			}
			mongoTime, redisTime = mongoTime+t1.Sub(t0), redisTime+time.Since(t1)
			docs, entries = docs[:0], entries[:0]
		}
	}
	b.Logf("seeded %d messages from %d users in %d servers over %d days in %s (database %s, counters %s)",
		total, users, servers, days, time.Since(seedStart).Round(time.Second), mongoTime.Round(time.Second), redisTime.Round(time.Second))

	weekStart := counters.WindowStart(counters.Week, now)
	fromCounters := func(w counters.Window) []counters.Count {
		top, err := store.TopUsers(ctx, counters.Messages, w, "", now, 0, 10)
		if err != nil {
			b.Fatal(err)
		}
		return top
	}
	fromPipeline := func(since time.Time) []counters.Count {
		top, err := src.TopAuthors(ctx, since, 10)
		if err != nil {
			b.Fatal(err)
		}
		return top
	}
	// Both paths must give the same answer before their speed matters.
	// The first read of a window of several days builds it (once a day).
	t0 := time.Now()
	c := fromCounters(counters.Week)
	build := time.Since(t0)
	var pipe []time.Duration
	t0 = time.Now()
	p := fromPipeline(weekStart)
	pipe = append(pipe, time.Since(t0))
	if fmt.Sprint(c) != fmt.Sprint(p) {
		b.Fatalf("top 10 of the week differ:\ncounters %v\npipeline %v", c, p)
	}

	var week, all []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		fromCounters(counters.Week)
		t1 := time.Now()
		fromCounters(counters.All)
		week, all = append(week, t1.Sub(t0)), append(all, time.Since(t1))
	}
	b.StopTimer()
	// The pipeline reads every message of the week: two runs are enough.
	for range 1 {
		t0 := time.Now()
		fromPipeline(weekStart)
		pipe = append(pipe, time.Since(t0))
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	cw99, cw50, ca99, p99, p50 := pct(week, 99), pct(week, 50), pct(all, 99), pct(pipe, 99), pct(pipe, 50)
	b.ReportMetric(ms(cw50), "counters-week-p50-ms")
	b.ReportMetric(ms(cw99), "counters-week-p99-ms")
	b.ReportMetric(ms(ca99), "counters-all-p99-ms")
	b.ReportMetric(ms(p50), "pipeline-week-p50-ms")
	b.ReportMetric(ms(p99), "pipeline-week-p99-ms")
	b.ReportMetric(float64(p99)/float64(cw99), "p99-speedup-x")
	b.ReportMetric(ms(build), "counters-week-first-read-ms")
	b.Logf("top 10 of the week: counters p50 %s p99 %s (first read, building the window, %s; all time p99 %s); pipeline p50 %s p99 %s (%d runs); p99 ratio %.0fx",
		cw50, cw99, build, ca99, p50, p99, len(pipe), float64(p99)/float64(cw99))
}

// pct is the p-th percentile of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}
