// Package config reads Accord's configuration from ACCORD_* environment
// variables. Every setting has a default that works on one machine.
package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/accordchat/accord/platform/redisx"
)

// Default addresses of the services on one machine.
const (
	DefaultUserAddr     = "127.0.0.1:50051"
	DefaultServerAddr   = "127.0.0.1:50052"
	DefaultPresenceAddr = "127.0.0.1:50053"
	DefaultStatsAddr    = "127.0.0.1:50054"
	DefaultSearchAddr   = "127.0.0.1:50055"
	DefaultHTTPAddr     = ":8080"
)

// Values of Config.Store.
const (
	StoreSQLite = "sqlite"
	StoreMongo  = "mongo"
)

// DefaultMaxUploadBytes is the default bound of one uploaded file (25 MiB).
const DefaultMaxUploadBytes = 25 << 20

// Config is the whole configuration; each service reads the parts it needs.
type Config struct {
	// LogFormat is "text" or "json" (ACCORD_LOG_FORMAT).
	LogFormat string
	// LogLevel is debug, info, warn or error (ACCORD_LOG_LEVEL).
	LogLevel string

	// ListenAddr is where a standalone service binary serves gRPC
	// (ACCORD_LISTEN_ADDR); empty means the port of its peer address on all
	// interfaces.
	ListenAddr string
	// MetricsAddr is where a standalone service serves /metrics and /healthz
	// (ACCORD_METRICS_ADDR); "off" disables it.
	MetricsAddr string
	// HTTPAddr is where the gateway serves HTTP (ACCORD_HTTP_ADDR).
	HTTPAddr string

	// Peer addresses of the services (ACCORD_USER_ADDR, ACCORD_SERVER_ADDR,
	// ACCORD_PRESENCE_ADDR, ACCORD_STATS_ADDR, ACCORD_SEARCH_ADDR).
	UserAddr, ServerAddr, PresenceAddr, StatsAddr, SearchAddr string

	// Store is where the services that have SQLite stores keep their data
	// (ACCORD_STORE): StoreSQLite, one file per service under
	// <DataDir>/sqlite, or StoreMongo, the database at MongoURI. The default
	// is sqlite when ACCORD_MONGO_URI is unset, else mongo.
	Store string
	// MongoURI is the MongoDB connection string (ACCORD_MONGO_URI).
	MongoURI string
	// MongoDB is the database name (ACCORD_MONGO_DB).
	MongoDB string
	// RedisURL is the Redis URL (ACCORD_REDIS_URL).
	RedisURL string
	// RedisPrefix is put before every Redis key and channel (ACCORD_REDIS_PREFIX).
	RedisPrefix string

	// DataDir holds local state: the dev keys and the embedded
	// database (ACCORD_DATA_DIR).
	DataDir string
	// SigningKeyFile is the PEM PKCS#8 Ed25519 private key that signs user
	// tokens (ACCORD_SIGNING_KEY_FILE); only the user service reads it.
	// When no key file is set, <DataDir>/signing.key, created when missing.
	SigningKeyFile string
	// VerifyKeyFile is the PEM PKIX public half of the signing key
	// (ACCORD_VERIFY_KEY_FILE): what every other service verifies user
	// tokens with. A process holding the signing key derives it.
	VerifyKeyFile string
	// ServiceKeyFile is the PEM PKCS#8 Ed25519 private key that signs and
	// verifies the tokens services call each other's internal APIs with
	// (ACCORD_SERVICE_KEY_FILE); every service reads it. When no key file
	// is set, <DataDir>/service.key, created when missing.
	ServiceKeyFile string
	// AccessTokenTTL is how long access tokens live (ACCORD_ACCESS_TOKEN_TTL).
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is how long refresh tokens live (ACCORD_REFRESH_TOKEN_TTL).
	RefreshTokenTTL time.Duration
	// Operators are logins that get the operator role (ACCORD_OPERATORS, comma-separated).
	Operators []string

	// MessageRateLimit is how many messages a user may send to one channel
	// per MessageRateWindow (ACCORD_MESSAGE_RATE_LIMIT, ACCORD_MESSAGE_RATE_WINDOW);
	// 0 disables the limit.
	MessageRateLimit  int
	MessageRateWindow time.Duration

	// BlobURL is where attachment bytes are kept (ACCORD_BLOB_URL): a
	// gocloud.dev/blob URL such as s3://bucket?endpoint=...; empty means a
	// folder under <DataDir>/blobs.
	BlobURL string
	// MaxUploadBytes bounds one uploaded file (ACCORD_MAX_UPLOAD_BYTES,
	// default 25 MiB).
	MaxUploadBytes int64

	// WebDir holds the built web app the gateway serves (ACCORD_WEB_DIR).
	WebDir string
	// ShutdownTimeout bounds graceful shutdown (ACCORD_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// DrainDelay is how long a stopping gateway or service keeps serving
	// after its health check started failing, before it closes its sockets
	// and refuses new calls (ACCORD_DRAIN_DELAY, default 0): set it to the
	// time the load balancer takes to notice, such as a readiness probe's
	// period times its failure threshold.
	DrainDelay time.Duration
	// WSSharedFeed has the gateway relay WebSocket events from one
	// upstream feed per gateway (FollowScopes, called with the service
	// key) instead of one StreamEvents stream per socket
	// (ACCORD_WS_SHARED_FEED, default on: 0 or false turns it off).
	WSSharedFeed bool
	// LocalPeers has a process that runs several services (the all-in-one)
	// connect them to each other in process, not over loopback TCP
	// (ACCORD_LOCAL_PEERS, default on: 0 or false turns it off). Their TCP
	// listeners serve grpcurl and other processes either way.
	LocalPeers bool
	// WSWriteDelay coalesces the writes of busy sockets on the shared feed
	// (ACCORD_WS_WRITE_DELAY, default DefaultWSWriteDelay; 0 turns it off):
	// a socket that wrote less than this ago waits until this long after
	// that write, and one write carries the events that came meanwhile. An
	// event waits at most this long, and only on a socket that wrote
	// within it.
	WSWriteDelay time.Duration
}

// DefaultWSWriteDelay is ACCORD_WS_WRITE_DELAY's default.
const DefaultWSWriteDelay = 5 * time.Millisecond

// Load reads the environment through getenv (os.Getenv when nil).
func Load(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	str := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	var errs []string
	dur := func(key string, def time.Duration) time.Duration {
		v := getenv(key)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Sprintf("%s: want a positive duration such as 15m, got %q", key, v))
			return def
		}
		return d
	}
	c := Config{
		LogFormat:         str("ACCORD_LOG_FORMAT", "text"),
		LogLevel:          str("ACCORD_LOG_LEVEL", "info"),
		ListenAddr:        str("ACCORD_LISTEN_ADDR", ""),
		MetricsAddr:       str("ACCORD_METRICS_ADDR", ""),
		HTTPAddr:          str("ACCORD_HTTP_ADDR", DefaultHTTPAddr),
		UserAddr:          str("ACCORD_USER_ADDR", DefaultUserAddr),
		ServerAddr:        str("ACCORD_SERVER_ADDR", DefaultServerAddr),
		PresenceAddr:      str("ACCORD_PRESENCE_ADDR", DefaultPresenceAddr),
		StatsAddr:         str("ACCORD_STATS_ADDR", DefaultStatsAddr),
		SearchAddr:        str("ACCORD_SEARCH_ADDR", DefaultSearchAddr),
		MongoURI:          str("ACCORD_MONGO_URI", "mongodb://127.0.0.1:27017"),
		MongoDB:           str("ACCORD_MONGO_DB", "accord"),
		RedisURL:          str("ACCORD_REDIS_URL", "redis://127.0.0.1:6379/0"),
		RedisPrefix:       str("ACCORD_REDIS_PREFIX", ""),
		DataDir:           str("ACCORD_DATA_DIR", "data"),
		SigningKeyFile:    str("ACCORD_SIGNING_KEY_FILE", ""),
		VerifyKeyFile:     str("ACCORD_VERIFY_KEY_FILE", ""),
		ServiceKeyFile:    str("ACCORD_SERVICE_KEY_FILE", ""),
		AccessTokenTTL:    dur("ACCORD_ACCESS_TOKEN_TTL", 15*time.Minute),
		RefreshTokenTTL:   dur("ACCORD_REFRESH_TOKEN_TTL", 30*24*time.Hour),
		MessageRateLimit:  10,
		MessageRateWindow: dur("ACCORD_MESSAGE_RATE_WINDOW", 10*time.Second),
		BlobURL:           str("ACCORD_BLOB_URL", ""),
		MaxUploadBytes:    DefaultMaxUploadBytes,
		WebDir:            str("ACCORD_WEB_DIR", "web/dist"),
		ShutdownTimeout:   dur("ACCORD_SHUTDOWN_TIMEOUT", 10*time.Second),
	}
	if v := getenv("ACCORD_DRAIN_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Sprintf("ACCORD_DRAIN_DELAY: want a duration >= 0 such as 5s, got %q", v))
		} else {
			c.DrainDelay = d
		}
	}
	for _, b := range []struct {
		name string
		v    *bool
	}{{"ACCORD_WS_SHARED_FEED", &c.WSSharedFeed}, {"ACCORD_LOCAL_PEERS", &c.LocalPeers}} {
		*b.v = true
		if v := strings.TrimSpace(getenv(b.name)); v != "" {
			on, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: want 1 or 0 (true or false), got %q", b.name, v))
			} else {
				*b.v = on
			}
		}
	}
	c.WSWriteDelay = DefaultWSWriteDelay
	if v := strings.TrimSpace(getenv("ACCORD_WS_WRITE_DELAY")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Second {
			errs = append(errs, fmt.Sprintf("ACCORD_WS_WRITE_DELAY: want a duration from 0 to 1s such as 5ms, got %q", v))
		} else {
			c.WSWriteDelay = d
		}
	}
	c.Store = strings.ToLower(str("ACCORD_STORE", ""))
	switch c.Store {
	case "":
		c.Store = StoreSQLite
		if strings.TrimSpace(getenv("ACCORD_MONGO_URI")) != "" {
			c.Store = StoreMongo
		}
	case StoreSQLite, StoreMongo:
	default:
		errs = append(errs, fmt.Sprintf("ACCORD_STORE: want sqlite or mongo, got %q", c.Store))
	}
	for _, l := range strings.Split(getenv("ACCORD_OPERATORS"), ",") {
		if l = strings.ToLower(strings.TrimSpace(l)); l != "" {
			c.Operators = append(c.Operators, l)
		}
	}
	if v := getenv("ACCORD_MESSAGE_RATE_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Sprintf("ACCORD_MESSAGE_RATE_LIMIT: want a count >= 0, got %q", v))
		} else {
			c.MessageRateLimit = n
		}
	}
	if v := getenv("ACCORD_MAX_UPLOAD_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Sprintf("ACCORD_MAX_UPLOAD_BYTES: want a byte count > 0, got %q", v))
		} else {
			c.MaxUploadBytes = n
		}
	}
	if err := redisx.CheckURL(c.RedisURL); err != nil {
		errs = append(errs, fmt.Sprintf("ACCORD_REDIS_URL: want redis://host:port/db, redis+cluster://host1:port1,host2:port2 or host1:port1,host2:port2 (%v), got %q", err, c.RedisURL))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Sprintf("ACCORD_LOG_FORMAT: want text or json, got %q", c.LogFormat))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("config: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// ListenFor returns the address a standalone binary listens on for a service
// whose peer address is peer: ListenAddr if set, else ":<port of peer>".
func (c Config) ListenFor(peer string) string {
	if c.ListenAddr != "" {
		return c.ListenAddr
	}
	if i := strings.LastIndexByte(peer, ':'); i >= 0 {
		return peer[i:]
	}
	return peer
}

// MetricsFor returns the /metrics address of a standalone service whose gRPC
// port is grpcPort: MetricsAddr if set, else grpcPort-41000 (50051 -> 9051).
// It returns "" when metrics are off.
func (c Config) MetricsFor(peer string) string {
	switch c.MetricsAddr {
	case "off":
		return ""
	case "":
	default:
		return c.MetricsAddr
	}
	i := strings.LastIndexByte(peer, ':')
	if i < 0 {
		return ""
	}
	port, err := strconv.Atoi(peer[i+1:])
	if err != nil || port <= 41000 {
		return ""
	}
	return ":" + strconv.Itoa(port-41000)
}
