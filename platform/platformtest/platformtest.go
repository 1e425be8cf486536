// Package platformtest is the test harness of every Accord module: a fresh
// database per test on embedded FerretDB (or on ACCORD_MONGO_URI) and on
// SQLite in a temporary folder, an
// isolated key prefix on the real Redis at ACCORD_REDIS_URL, signing keys,
// and gRPC servers with the production interceptor chain on loopback.
package platformtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"

	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/devdb"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/grpcx"
	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/platform/querylog"
	"github.com/accordchat/accord/platform/redisx"
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
		var extra []*options.ClientOptions
		if queryLog, err := querylog.FromEnv(); err != nil {
			mongoErr = err
			return
		} else if queryLog != nil {
			extra = append(extra, options.Client().SetMonitor(queryLog.Monitor()))
		}
		mongoClient, mongoErr = mongox.Connect(ctx, mongoURI, logging.Discard(), extra...)
	})
	if mongoErr != nil {
		t.Fatalf("test database: %v", mongoErr)
	}
	return mongoClient
}

// Mongo returns a new, empty database that is dropped when the test ends.
// When ACCORD_QUERY_LOG names a directory, every query the test process
// sends through this client is recorded there for platform/cmd/indexcheck.
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

// RedisURL is the test Redis: ACCORD_REDIS_URL or redis://127.0.0.1:6379/0
// (a cluster address list works too, see redisx.NewClient).
func RedisURL() string {
	if u := os.Getenv("ACCORD_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Redis returns a client of the test Redis and a key prefix of the test's
// own. Every key under the prefix is deleted when the test ends. Inside
// EachRedis the test Redis is the one of the current run: the single server
// or the cluster.
func Redis(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	return RedisAt(t, redisFor(t))
}

// RedisAt is Redis on the server or cluster at url.
func RedisAt(t testing.TB, url string) (redis.UniversalClient, string) {
	t.Helper()
	rdb, err := redisx.NewClient(url)
	if err != nil {
		t.Fatalf("test Redis %s: %v", url, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := redisx.ForEachNode(ctx, rdb, func(ctx context.Context, c redis.Cmdable) error { return c.Ping(ctx).Err() }); err != nil {
		t.Fatalf("test Redis at %s does not answer (start redis-server, or scripts/redis-cluster.sh for a cluster): %v", url, err)
	}
	// No "{" in the prefix: keys keep their own hash tags, so a test on a
	// cluster spreads over its slots as production keys do.
	prefix := "test:" + RandomHex(6) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = redisx.ForEachNode(ctx, rdb, func(ctx context.Context, c redis.Cmdable) error {
			var keys []string
			iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				keys = append(keys, iter.Val())
			}
			// One DEL a key (keys of a cluster node span slots), pipelined.
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range keys {
					p.Del(ctx, k)
				}
				return nil
			})
			return err
		})
		_ = rdb.Close()
	})
	return rdb, prefix
}

// Keys returns the keys matching pattern on every node of rdb (KEYS on a
// cluster client asks one node only).
func Keys(t testing.TB, rdb redis.UniversalClient, pattern string) []string {
	t.Helper()
	var mu sync.Mutex
	var out []string
	err := redisx.ForEachNode(context.Background(), rdb, func(ctx context.Context, c redis.Cmdable) error {
		keys, err := c.Keys(ctx, pattern).Result()
		mu.Lock()
		out = append(out, keys...)
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	clusterOnce sync.Once
	clusterURL  string
	clusterErr  error

	eachRedis sync.Map // test name prefix -> Redis URL, set by EachRedis
)

// RedisClusterURL returns the test Redis Cluster: ACCORD_TEST_REDIS_CLUSTER
// when set (scripts/test sets it), else the one scripts/redis-cluster.sh
// starts (or finds running) on loopback. It fails the test, saying why,
// when there is none.
func RedisClusterURL(t testing.TB) string {
	t.Helper()
	clusterOnce.Do(func() {
		if clusterURL = os.Getenv("ACCORD_TEST_REDIS_CLUSTER"); clusterURL != "" {
			return
		}
		script, err := findUp("scripts/redis-cluster.sh")
		if err != nil {
			clusterErr = err
			return
		}
		out, err := exec.Command("bash", script).CombinedOutput()
		if err != nil {
			clusterErr = fmt.Errorf("%s: %v\n%s", script, err, out)
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		clusterURL = lines[len(lines)-1]
	})
	if clusterErr != nil {
		t.Fatalf("no test Redis Cluster (set ACCORD_TEST_REDIS_CLUSTER, or let scripts/redis-cluster.sh start one): %v", clusterErr)
	}
	return clusterURL
}

// findUp finds rel in the working directory or one of its parents.
func findUp(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s not found above the working directory", rel)
		}
		dir = parent
	}
}

// EachRedis runs fn as two subtests: "redis" on the single test Redis
// (RedisURL) and "cluster" on the test Redis Cluster (RedisClusterURL).
// Within them, and their own subtests, Redis and New use that run's Redis.
func EachRedis(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, r := range []struct{ name, url string }{
		{"redis", RedisURL()},
		{"cluster", RedisClusterURL(t)},
	} {
		t.Run(r.name, func(t *testing.T) {
			eachRedis.Store(t.Name(), r.url)
			t.Cleanup(func() { eachRedis.Delete(t.Name()) })
			fn(t)
		})
	}
}

// redisFor returns the Redis URL of t: the one EachRedis chose for t or
// the nearest of its parents, else RedisURL.
func redisFor(t testing.TB) string {
	for name := t.Name(); ; {
		if u, ok := eachRedis.Load(name); ok {
			return u.(string)
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			return RedisURL()
		}
		name = name[:i]
	}
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
	T      testing.TB
	Log    *slog.Logger
	DB     *mongo.Database
	Redis  redis.UniversalClient
	Prefix string
	Keys   redisx.Keyspace // the keyspace of Prefix
	Events *events.Log     // the event log in Keys
	Signer *auth.Signer    // signs user tokens
	// ServiceSigner signs service tokens, with a key of its own.
	ServiceSigner *auth.Signer
	// Verifier takes user tokens under Signer's key and service tokens
	// under ServiceSigner's.
	Verifier    *auth.Verifier
	Revocations *auth.Revocations
	Config      config.Config
	sqlite      sqliteDBs
}

// New returns a fresh Env for t.
func New(t testing.TB) *Env {
	t.Helper()
	rdb, prefix := Redis(t)
	signer := auth.NewSigner(auth.GenerateKey())
	serviceSigner := auth.NewSigner(auth.GenerateKey())
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.RedisPrefix = prefix
	keys := redisx.NewKeyspace(prefix)
	cfg.DataDir = t.TempDir()
	cfg.Store = Store(t)
	return &Env{
		T: t, Log: Logger(t), DB: Mongo(t), Redis: rdb, Prefix: prefix,
		Keys: keys, Events: events.NewLog(rdb, keys),
		Signer: signer, ServiceSigner: serviceSigner,
		Verifier:    auth.NewVerifierByKind(signer.Public(), serviceSigner.Public()),
		Revocations: auth.NewRevocations(rdb, keys),
		Config:      cfg,
	}
}

// Deps returns service dependencies backed by the Env, for a service named
// name. Peers is nil unless set by the caller. Mongo is always set; SQLite
// too when the Env's store is sqlite, so a service with SQLite stores runs
// on them (see Store).
func (e *Env) Deps(name string) app.Deps {
	d := app.Deps{
		Config: e.Config, Log: e.Log.With("service", name), Mongo: e.DB, Redis: e.Redis,
		Keys: e.Keys, Events: e.Events,
		Signer: e.Signer, Verifier: e.Verifier, Revocations: e.Revocations,
		ServiceCreds: auth.NewServiceCredentials(e.ServiceSigner, name),
	}
	if e.Config.Store == config.StoreSQLite {
		d.SQLite = e.SQLite(name)
	}
	return d
}

// Serve starts a gRPC server with the production interceptor chain on a
// loopback port, registers services with register, and returns a client
// connection to it. Both stop when the test ends.
func (e *Env) Serve(register func(s *grpc.Server), open ...string) *grpc.ClientConn {
	conn, _ := e.ServeAddr(register, open...)
	return conn
}

// ServeAddr is Serve that also returns the server's address.
func (e *Env) ServeAddr(register func(s *grpc.Server), open ...string) (*grpc.ClientConn, string) {
	t := e.T
	t.Helper()
	gs, err := grpcx.NewServer(grpcx.ServerOptions{
		Log:  e.Log,
		Auth: &grpcx.Authenticator{Verifier: e.Verifier, Revocations: e.Revocations, Open: open},
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

// ServeLocal is Serve in process: the services registered with register
// answer calls through a grpcx.Local (as the all-in-one's services call
// each other), with the production interceptor chain, and no listener.
func (e *Env) ServeLocal(register func(s grpc.ServiceRegistrar), open ...string) grpc.ClientConnInterface {
	e.T.Helper()
	gs, err := grpcx.NewServer(grpcx.ServerOptions{
		Log:  e.Log,
		Auth: &grpcx.Authenticator{Verifier: e.Verifier, Revocations: e.Revocations, Open: open},
	})
	if err != nil {
		e.T.Fatal(err)
	}
	register(gs)
	l := &grpcx.Local{}
	gs.ServeLocal(l)
	return l
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
