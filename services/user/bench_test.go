package user_test

import (
	"context"
	"testing"
	"time"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/user"
)

// BenchmarkLogin measures sign-in through the whole chain (gRPC,
// interceptors, rate limiter, argon2id at the production cost, session and
// refresh-token writes). "latency" is one client signing in again and again
// (ns/op is the latency of one sign-in); "throughput" is GOMAXPROCS×4
// concurrent clients (logins/s is the capacity of one instance). The
// baseline is internal/password's BenchmarkVerify, the hash alone.
func BenchmarkLogin(b *testing.B) {
	f := newFixture(b, func(o *user.Options, _ *platformtest.Env) {
		o.Password = user.DefaultOptions().Password
		o.Limiter.PerLogin, o.Limiter.PerAddr = 1<<30, 1<<30
	})
	f.register("bench_user")
	req := &userv1.LoginRequest{Login: "bench_user", Password: testPassword}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.Run("latency", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.users.Login(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("throughput", func(b *testing.B) {
		b.SetParallelism(4)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := f.users.Login(ctx, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
	})
}
