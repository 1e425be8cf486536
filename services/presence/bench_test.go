package presence_test

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/presence"
	domain "github.com/accordchat/accord/services/presence/internal/presence"
)

// Benchmarks report their figures with a baseline measured in the same run
// on the same Redis (a redis-server of the benchmark's own): raw PING round
// trips. Run them with
//
//	go test -run '^$' -bench . -benchtime 3s ./
//
// BenchmarkHeartbeat: heartbeats/s through gRPC (full interceptor chain:
// token check, revocation lookup, validation) and by direct calls of the
// handler, against pings/s at the same concurrency (ratio), plus the
// load-independent costs: CPU of this process and Redis CPU per heartbeat.
// BenchmarkBatchGet1000: p50/p99 of BatchGetPresence of 1,000 users through
// gRPC against the p50/p99 of one PING, plus CPU per call.

// benchWorld is a presence instance with users that each hold a session.
type benchWorld struct {
	f        *fixture
	in       *instance
	ids      []string
	sessions []string
	grpcCtx  []context.Context
	direct   []context.Context
	rdb      *redis.Client
}

func newBenchWorld(b *testing.B, users int, onlineEvery int) *benchWorld {
	b.Helper()
	f := &fixture{env: platformtest.New(b), vis: domain.NewStaticVisibility(true)}
	w := &benchWorld{f: f}
	// A Redis of the benchmark's own, so that its command statistics are
	// ours alone.
	own := startOwnRedis(b)
	w.rdb = redis.NewClient(&redis.Options{Addr: own.addr(), PoolSize: 64})
	b.Cleanup(func() { _ = w.rdb.Close() })
	d := f.env.Deps("presence")
	d.Redis = w.rdb
	svc, err := presence.NewService(context.Background(), d, presence.Options{Visibility: f.vis})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	conn := f.env.Serve(func(s *grpc.Server) { svc.Register(s) })
	w.in = &instance{svc: svc, client: presencev1.NewPresenceServiceClient(conn)}
	w.ids = make([]string, users)
	w.sessions = make([]string, users)
	w.grpcCtx = make([]context.Context, users)
	w.direct = make([]context.Context, users)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < users; i += 8 {
				w.ids[i] = platformtest.NewID()
				w.grpcCtx[i] = f.env.Ctx(f.env.UserToken(w.ids[i]))
				w.direct[i] = auth.WithPrincipal(context.Background(), auth.Principal{UserID: w.ids[i]})
				if i%onlineEvery != 0 {
					continue
				}
				r, err := svc.Handler().OpenSession(w.direct[i], &presencev1.OpenSessionRequest{Client: "bench"})
				if err != nil {
					b.Error(err)
					return
				}
				w.sessions[i] = r.GetSessionId()
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return w
}

// pingRate measures PING round trips per second with par goroutines per
// CPU for about d.
func pingRate(b *testing.B, rdb *redis.Client, par int, d time.Duration) float64 {
	b.Helper()
	var n atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	start := time.Now()
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for time.Now().Before(end) {
				if rdb.Ping(ctx).Err() == nil {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

func BenchmarkHeartbeat(b *testing.B) {
	const users = 1000
	w := newBenchWorld(b, users, 1)
	const par = 8 // goroutines per CPU
	for _, mode := range []string{"grpc", "direct"} {
		b.Run(mode, func(b *testing.B) {
			procs := testingProcs()
			base := pingRate(b, w.rdb, par*procs, 500*time.Millisecond)
			resetStats(b, w.rdb)
			var next atomic.Int64
			b.SetParallelism(par)
			cpu0 := cpuTime()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1)) % users
				for pb.Next() {
					req := &presencev1.HeartbeatRequest{SessionId: w.sessions[i]}
					var err error
					if mode == "grpc" {
						_, err = w.in.client.Heartbeat(w.grpcCtx[i], req)
					} else {
						_, err = w.in.svc.Handler().Heartbeat(w.direct[i], req)
					}
					if err != nil {
						b.Error(err)
						return
					}
					i = (i + 1) % users
				}
			})
			rate := float64(b.N) / time.Since(start).Seconds()
			b.StopTimer()
			cpu := cpuTime() - cpu0
			b.ReportMetric(rate, "heartbeats/s")
			b.ReportMetric(base, "pings/s")
			b.ReportMetric(rate/base, "ratio")
			// Load-independent costs: CPU of this process (client, gRPC and
			// service) and of Redis per heartbeat.
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "proc-cpu-us/op")
			b.ReportMetric(usecPerCall(b, w.rdb, "evalsha"), "redis-us/op")
		})
	}
}

// resetStats clears the Redis command statistics.
func resetStats(b *testing.B, rdb *redis.Client) {
	b.Helper()
	if err := rdb.ConfigResetStat(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
}

// usecPerCall reads the average Redis CPU time of command cmd.
func usecPerCall(b *testing.B, rdb *redis.Client, cmd string) float64 {
	b.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":"); ok {
			for _, kv := range strings.Split(rest, ",") {
				if v, ok := strings.CutPrefix(kv, "usec_per_call="); ok {
					f, _ := strconv.ParseFloat(v, 64)
					return f
				}
			}
		}
	}
	return 0
}

// cpuTime is the CPU time this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkBatchGet1000(b *testing.B) {
	w := newBenchWorld(b, 1000, 2) // half of them online
	viewer := w.grpcCtx[0]
	req := &presencev1.BatchGetPresenceRequest{UserIds: w.ids}
	// Warm up connections and scripts.
	for range 20 {
		if _, err := w.in.client.BatchGetPresence(viewer, req); err != nil {
			b.Fatal(err)
		}
	}
	// The baseline is interleaved with the calls so that both see the
	// same machine load.
	pings := make([]time.Duration, 0, b.N)
	lat := make([]time.Duration, 0, b.N)
	resetStats(b, w.rdb)
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := w.rdb.Ping(context.Background()).Err(); err != nil {
			b.Fatal(err)
		}
		pings = append(pings, time.Since(t0))
		t0 = time.Now()
		r, err := w.in.client.BatchGetPresence(viewer, req)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		if len(r.GetPresences()) != 1000 {
			b.Fatalf("got %d presences", len(r.GetPresences()))
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	p50, p99 := percentiles(lat)
	b50, b99 := percentiles(pings)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(b50), "ping-p50-ms")
	b.ReportMetric(ms(b99), "ping-p99-ms")
	b.ReportMetric(float64(p99)/float64(b99), "p99-ratio")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "proc-cpu-us/op")
	b.ReportMetric(usecPerCall(b, w.rdb, "mget"), "redis-us/op")
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }
