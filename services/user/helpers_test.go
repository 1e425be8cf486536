package user_test

import (
	"bytes"
	"context"
	"errors"
	"go.mongodb.org/mongo-driver/v2/bson"
	"os"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/user"
	"github.com/accordchat/accord/services/user/internal/password"
	"github.com/accordchat/accord/services/user/internal/redis"
)

// fixture is one user service on the real interceptor chain, over a fresh
// database and Redis prefix.
type fixture struct {
	t        testing.TB
	env      *platformtest.Env
	conn     *grpc.ClientConn
	users    userv1.UserServiceClient
	internal userv1.UserInternalServiceClient
}

// testOptions use a cheap hash (the cost is benchmarked separately) and a
// generous limiter, so tests that are not about limits never hit them.
func testOptions() user.Options {
	return user.Options{
		Limiter:  redis.LimiterOptions{PerLogin: 1000, PerAddr: 1000, Window: time.Minute},
		Password: password.Params{Time: 1, MemoryKiB: 1024, Threads: 1},
	}
}

func newFixture(t testing.TB, opts ...func(*user.Options, *platformtest.Env)) *fixture {
	t.Helper()
	env := platformtest.New(t)
	o := testOptions()
	for _, f := range opts {
		f(&o, env)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, err := user.NewWithOptions(ctx, env.Deps("user"), o)
	if err != nil {
		t.Fatal(err)
	}
	conn := env.Serve(func(s *grpc.Server) { svc.Register(s) }, user.OpenMethods()...)
	return &fixture{t: t, env: env, conn: conn, users: userv1.NewUserServiceClient(conn), internal: userv1.NewUserInternalServiceClient(conn)}
}

// ctx returns a context calling as the holder of token ("" for none).
func (f *fixture) ctx(token string) context.Context { return f.env.Ctx(token) }

// serviceCtx calls as another Accord service.
func (f *fixture) serviceCtx() context.Context {
	tok, _, err := f.env.ServiceSigner.ServiceToken("server", time.Minute)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.ctx(tok)
}

// account is a registered user and its session.
type account struct {
	user   *userv1.User
	tokens *userv1.Tokens
}

func (a account) ctx(f *fixture) context.Context { return f.ctx(a.tokens.GetAccessToken()) }

const testPassword = "correct horse battery"

func (f *fixture) register(login string) account {
	f.t.Helper()
	res, err := f.users.Register(f.ctx(""), &userv1.RegisterRequest{Login: login, Password: testPassword})
	if err != nil {
		f.t.Fatalf("register %s: %v", login, err)
	}
	return account{user: res.GetUser(), tokens: res.GetTokens()}
}

// wantCode fails unless err has code want.
func wantCode(t testing.TB, err error, want codes.Code) {
	t.Helper()
	if got := grpcstatus.Code(err); got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
}

// badFields returns the fields an INVALID_ARGUMENT status names.
func badFields(err error) []string {
	var fields []string
	for _, d := range grpcstatus.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// wantInvalid fails unless err is INVALID_ARGUMENT naming field.
func wantInvalid(t testing.TB, err error, field string) {
	t.Helper()
	wantCode(t, err, codes.InvalidArgument)
	if got := badFields(err); !slices.Contains(got, field) {
		t.Fatalf("fields = %q (%v), want %q", got, err, field)
	}
}

// reason returns the ErrorInfo reason of err.
func reason(err error) string {
	for _, d := range grpcstatus.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}

// retryDelay returns the RetryInfo delay of err.
func retryDelay(err error) (time.Duration, error) {
	for _, d := range grpcstatus.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration(), nil
		}
	}
	return 0, errors.New("no RetryInfo")
}

// status is the code of err.
func status(err error) codes.Code { return grpcstatus.Code(err) }

// stored reports whether the text s is anywhere in the service's data: in
// the bytes of its SQLite file and log, or in a string field of a
// refresh_tokens document on MongoDB.
func (f *fixture) stored(s string) bool {
	f.t.Helper()
	d := f.env.Deps("user")
	if d.SQLite != nil {
		for _, p := range []string{d.SQLite.Path(), d.SQLite.Path() + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				f.t.Fatal(err)
			}
			if bytes.Contains(b, []byte(s)) {
				return true
			}
		}
		return false
	}
	cur, err := d.Mongo.Collection("refresh_tokens").Find(f.ctx(""), bson.D{})
	if err != nil {
		f.t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(f.ctx(""), &docs); err != nil {
		f.t.Fatal(err)
	}
	for _, doc := range docs {
		for _, v := range doc {
			if v == s {
				return true
			}
		}
	}
	return false
}
