// Package user is the Accord user service: accounts, sign-in sessions and
// tokens, profiles, and relationships between users.
package user

import (
	"context"
	"fmt"
	"runtime"

	"google.golang.org/grpc"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/blobstore"
	"github.com/accordchat/accord/services/user/internal/account"
	"github.com/accordchat/accord/services/user/internal/grpcapi"
	"github.com/accordchat/accord/services/user/internal/mongo"
	"github.com/accordchat/accord/services/user/internal/password"
	"github.com/accordchat/accord/services/user/internal/redis"
	"github.com/accordchat/accord/services/user/internal/sqlite"
)

// Options tune the service; New uses DefaultOptions.
type Options struct {
	// Limiter sets how many failed sign-ins a login or address may make per window.
	Limiter redis.LimiterOptions
	// Password is the argon2id cost of new hashes.
	Password password.Params
	// HashConcurrency bounds the password hashes running at once (memory);
	// 0 means twice the number of CPUs.
	HashConcurrency int
	// Blobs keeps avatar pictures; default the blob store of
	// d.Config.BlobURL (a folder under d.Config.DataDir when unset), the
	// one the server service keeps attachments in.
	Blobs account.Blobs
	// Profiles is told of profile changes; default the server service at
	// d.Peers.Server.
	Profiles account.Profiles
}

// DefaultOptions are the production settings.
func DefaultOptions() Options {
	return Options{Limiter: redis.DefaultLimiterOptions(), Password: password.DefaultParams()}
}

// Service is the user service.
type Service struct {
	api *grpcapi.API
}

// New builds the service from its dependencies.
func New(ctx context.Context, d app.Deps) (app.Service, error) {
	return NewWithOptions(ctx, d, DefaultOptions())
}

// NewWithOptions builds the service with explicit options (tests use a
// short rate-limit window and a cheaper hash).
func NewWithOptions(ctx context.Context, d app.Deps, o Options) (*Service, error) {
	if d.Redis == nil || d.Events == nil {
		return nil, fmt.Errorf("user service needs Redis and the event log")
	}
	store, err := openStore(ctx, d)
	if err != nil {
		return nil, err
	}
	conc := o.HashConcurrency
	if conc <= 0 {
		conc = 2 * runtime.GOMAXPROCS(0)
	}
	hasher, err := password.NewHasher(o.Password, conc)
	if err != nil {
		return nil, err
	}
	if o.Blobs == nil {
		b, err := blobstore.Open(ctx, d.Config.BlobURL, d.Config.DataDir)
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { _ = b.Close() })
		o.Blobs = b
	}
	if o.Profiles == nil && d.Peers != nil {
		o.Profiles = grpcapi.NewServerProfiles(d.Peers.Server, d.ServiceCreds)
	}
	svc := account.NewService(account.Deps{
		Users: store, Sessions: store, Relationships: store,
		Limiter:  redis.NewLimiter(d.Redis, d.Keys, o.Limiter),
		Locks:    redis.NewLocks(d.Redis, d.Keys),
		Hasher:   hasher,
		Tokens:   d.Signer,
		Revoker:  d.Revocations,
		Events:   grpcapi.Events{Log: d.Events},
		Blobs:    o.Blobs,
		Profiles: o.Profiles,
		Log:      d.Log,
	}, account.Options{
		AccessTTL:  d.Config.AccessTokenTTL,
		RefreshTTL: d.Config.RefreshTokenTTL,
		Operators:  d.Config.Operators,
	})
	return &Service{api: grpcapi.New(svc)}, nil
}

// stores is what the service keeps its data in.
type stores interface {
	account.UserStore
	account.SessionStore
	account.RelationshipStore
}

// openStore picks the stores from the dependencies: SQLite when app.Run
// (or a test) handed a database file, else MongoDB.
func openStore(ctx context.Context, d app.Deps) (stores, error) {
	switch {
	case d.SQLite != nil:
		return sqlite.New(ctx, d.SQLite)
	case d.Mongo != nil:
		return mongo.New(ctx, d.Mongo)
	}
	return nil, fmt.Errorf("user service needs a store: SQLite or Mongo")
}

// Spec describes the service for app.Run.
func Spec(listen, metrics string) app.Spec {
	return app.Spec{Name: "user", Listen: listen, Metrics: metrics, UsesMongo: true, UsesSQLite: true, IssuesUserTokens: true, OpenMethods: OpenMethods(), New: New}
}

// OpenMethods are the methods anyone may call without a token: signing up
// and signing in.
func OpenMethods() []string {
	return []string{
		userv1.UserService_Register_FullMethodName,
		userv1.UserService_Login_FullMethodName,
		userv1.UserService_RefreshToken_FullMethodName,
	}
}

// Register adds the service's gRPC services to s.
func (svc *Service) Register(s grpc.ServiceRegistrar) {
	userv1.RegisterUserServiceServer(s, svc.api)
	userv1.RegisterUserInternalServiceServer(s, svc.api)
}
