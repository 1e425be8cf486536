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
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/services/user/internal/account"
	"github.com/accordchat/accord/services/user/internal/grpcapi"
	"github.com/accordchat/accord/services/user/internal/mongo"
	"github.com/accordchat/accord/services/user/internal/password"
	"github.com/accordchat/accord/services/user/internal/redis"
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
	if d.Mongo == nil || d.Redis == nil {
		return nil, fmt.Errorf("user service needs Mongo and Redis")
	}
	store, err := mongo.New(ctx, d.Mongo)
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
	svc := account.NewService(account.Deps{
		Users: store, Sessions: store, Relationships: store,
		Limiter: redis.NewLimiter(d.Redis, d.Config.RedisPrefix, o.Limiter),
		Locks:   redis.NewLocks(d.Redis, d.Config.RedisPrefix),
		Hasher:  hasher,
		Tokens:  d.Signer,
		Revoker: d.Revocations,
		Events:  grpcapi.Events{Log: events.NewLog(d.Redis, d.Config.RedisPrefix)},
		Log:     d.Log,
	}, account.Options{
		AccessTTL:  d.Config.AccessTokenTTL,
		RefreshTTL: d.Config.RefreshTokenTTL,
		Operators:  d.Config.Operators,
	})
	return &Service{api: grpcapi.New(svc)}, nil
}

// Spec describes the service for app.Run.
func Spec(listen, metrics string) app.Spec {
	return app.Spec{Name: "user", Listen: listen, Metrics: metrics, UsesMongo: true, New: New}
}

// Register adds the service's gRPC services to s.
func (svc *Service) Register(s *grpc.Server) {
	userv1.RegisterUserServiceServer(s, svc.api)
	userv1.RegisterUserInternalServiceServer(s, svc.api)
}
