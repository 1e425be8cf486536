// Package platformtest is the test harness of every Accord module: a fresh
// database per test on embedded FerretDB (or on ACCORD_MONGO_URI), an
// isolated key prefix on the real Redis at ACCORD_REDIS_URL, signing keys,
// and gRPC servers with the production interceptor chain on loopback.
package platformtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"

	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/devdb"
	"github.com/accordchat/accord/platform/grpcx"
	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/mongox"
)

var (
	mongoOnce   sync.Once
	mongoClient *mongo.Client
	mongoErr    error
	mongoURI    string
)

// MongoURI returns the URI of the test database server: ACCORD_MONGO_URI when
// set, else an embedded FerretDB started once per test process.
func MongoURI(t testing.TB) string {
	t.Helper()
	client(t)
	return mongoURI
}

func client(t testing.TB) *mongo.Client {
	t.Helper()
	mongoOnce.Do(func() {
		mongoURI = os.Getenv("ACCORD_MONGO_URI")
		if mongoURI == "" {
			dir, err := os.MkdirTemp("", "accord-ferretdb-")
			if err != nil {
				mongoErr = err
				return
			}
			db, err := devdb.Start(dir, "127.0.0.1:0", Logger(t))
			if err != nil {
				mongoErr = err
				return
			}
			mongoURI = db.URI()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		mongoClient, mongoErr = mongox.Connect(ctx, mongoURI, logging.Discard())
	})
	if mongoErr != nil {
		t.Fatalf("test database: %v", mongoErr)
	}
	return mongoClient
}

// Mongo returns a new, empty database that is dropped when the test ends.
func Mongo(t testing.TB) *mongo.Database {
	t.Helper()
	db := client(t).Database("t_" + RandomHex(6))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
	})
	return db
}

// RedisURL is the test Redis: ACCORD_REDIS_URL or redis://127.0.0.1:6379/0.
func RedisURL() string {
	if u := os.Getenv("ACCORD_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Redis returns a client of the test Redis and a key prefix of the test's
// own. Every key under the prefix is deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("ACCORD_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("test Redis at %s does not answer (start redis-server): %v", RedisURL(), err)
	}
	prefix := "test:" + RandomHex(6) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			rdb.Del(ctx, keys[:n]...)
			keys = keys[n:]
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewID returns a fresh 24-hex-character id, like a Mongo ObjectID.
func NewID() string { return RandomHex(12) }

// Logger returns a logger for tests: silent unless ACCORD_TEST_LOG is set
// ("debug", "info", ...), then text to stderr.
func Logger(t testing.TB) *slog.Logger {
	if lv := os.Getenv("ACCORD_TEST_LOG"); lv != "" {
		return logging.New(os.Stderr, "text", lv)
	}
	return logging.Discard()
}

// Env is one test's world: database, Redis namespace and keys.
type Env struct {
	T           testing.TB
	Log         *slog.Logger
	DB          *mongo.Database
	Redis       *redis.Client
	Prefix      string
	Signer      *auth.Signer
	Verifier    *auth.Verifier
	Revocations *auth.Revocations
	Config      config.Config
}

// New returns a fresh Env for t.
func New(t testing.TB) *Env {
	t.Helper()
	rdb, prefix := Redis(t)
	signer := auth.NewSigner(auth.GenerateKey())
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.RedisPrefix = prefix
	cfg.DataDir = t.TempDir()
	return &Env{
		T: t, Log: Logger(t), DB: Mongo(t), Redis: rdb, Prefix: prefix,
		Signer: signer, Verifier: auth.NewVerifier(signer.Public()),
		Revocations: auth.NewRevocations(rdb, prefix),
		Config:      cfg,
	}
}

// Deps returns service dependencies backed by the Env, for a service named
// name. Peers is nil unless set by the caller.
func (e *Env) Deps(name string) app.Deps {
	return app.Deps{
		Config: e.Config, Log: e.Log.With("service", name), Mongo: e.DB, Redis: e.Redis,
		Signer: e.Signer, Verifier: e.Verifier, Revocations: e.Revocations,
		ServiceCreds: auth.NewServiceCredentials(e.Signer, name),
	}
}

// Serve starts a gRPC server with the production interceptor chain on a
// loopback port, registers services with register, and returns a client
// connection to it. Both stop when the test ends.
func (e *Env) Serve(register func(s *grpc.Server)) *grpc.ClientConn {
	conn, _ := e.ServeAddr(register)
	return conn
}

// ServeAddr is Serve that also returns the server's address.
func (e *Env) ServeAddr(register func(s *grpc.Server)) (*grpc.ClientConn, string) {
	t := e.T
	t.Helper()
	gs, err := grpcx.NewServer(grpcx.ServerOptions{
		Log:  e.Log,
		Auth: &grpcx.Authenticator{Verifier: e.Verifier, Revocations: e.Revocations},
	})
	if err != nil {
		t.Fatal(err)
	}
	register(gs.Server)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(ctx, lis, time.Second)
	}()
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		<-done
	})
	return conn, lis.Addr().String()
}

// UserToken signs an access token for userID with a new session id.
func (e *Env) UserToken(userID string) string {
	tok, _, err := e.Signer.UserToken(userID, RandomHex(8), false, 15*time.Minute)
	if err != nil {
		e.T.Fatal(err)
	}
	return tok
}

// OperatorToken signs an access token for an operator.
func (e *Env) OperatorToken(userID string) string {
	tok, _, err := e.Signer.UserToken(userID, RandomHex(8), true, 15*time.Minute)
	if err != nil {
		e.T.Fatal(err)
	}
	return tok
}

// Ctx returns a context that sends token as the caller's credentials and
// ends with the test (or after a minute).
func (e *Env) Ctx(token string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	e.T.Cleanup(cancel)
	if token == "" {
		return ctx
	}
	return auth.WithBearer(ctx, token)
}

// Eventually polls cond every 10 ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, what ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, strings.Join(what, " "))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
