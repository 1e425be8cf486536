package user_test

import (
	"context"
	"testing"
	"time"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/user"
)

// BenchmarkLogin measures sign-in through the whole chain (gRPC, interceptors,
// rate limiter, argon2id at the production cost, session and token writes)
// from as many concurrent clients as GOMAXPROCS. It reports logins/s; the
// hash dominates, so this is the capacity per instance for sign-in bursts.
func BenchmarkLogin(b *testing.B) {
	f := newFixture(b, func(o *user.Options, _ *platformtest.Env) {
		o.Password = user.DefaultOptions().Password
		o.Limiter.PerLogin, o.Limiter.PerAddr = 1<<30, 1<<30
	})
	f.register("bench_user")
	req := &userv1.LoginRequest{Login: "bench_user", Password: testPassword}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ResetTimer()
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
}
