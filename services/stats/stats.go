// Package stats is the Accord stats service: top users by connections and
// by messages, busiest servers, and activity over time, as data and as SVG
// charts.
//
// Reports are read from counters in Redis (package counters), fed by a
// background consumer of the activity stream (written by the server
// service) and the connections stream (written by presence). Deleted
// messages stop counting. RebuildCounters recomputes the counters from the
// messages collection and the connections stream.
package stats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"time"

	"google.golang.org/grpc"

	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/services/stats/internal/counters"
	"github.com/accordchat/accord/services/stats/internal/grpcapi"
	"github.com/accordchat/accord/services/stats/internal/source"
)

// Service is the stats service.
type Service struct {
	api      *grpcapi.API
	consumer *counters.Consumer
}

// options replace the peers and the clock (tests).
type options struct {
	roles grpcapi.Roles
	names grpcapi.Names
	now   func() time.Time
}

// New builds the service from its dependencies.
func New(ctx context.Context, d app.Deps) (app.Service, error) {
	return newService(d, options{})
}

func newService(d app.Deps, o options) (*Service, error) {
	if d.Mongo == nil || d.Redis == nil {
		return nil, errors.New("stats needs Mongo and Redis")
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.roles == nil || o.names == nil {
		if d.Peers == nil || d.Peers.Server == nil || d.Peers.User == nil {
			return nil, errors.New("stats needs the server and user services")
		}
		if o.roles == nil {
			o.roles = grpcapi.NewServerRoles(d.Peers.Server, d.ServiceCreds)
		}
		if o.names == nil {
			o.names = grpcapi.NewUserNames(d.Peers.User)
		}
	}
	store := counters.New(d.Redis, d.Config.RedisPrefix)
	c := counters.NewConsumer(store, d.Log, consumerName())
	c.Now = o.now
	api := grpcapi.New(grpcapi.Options{
		Store: store, Source: source.New(d.Mongo), Roles: o.roles, Names: o.names, Log: d.Log, Now: o.now,
	})
	return &Service{api: api, consumer: c}, nil
}

// Spec describes the service for app.Run.
func Spec(listen, metrics string) app.Spec {
	return app.Spec{Name: "stats", Listen: listen, Metrics: metrics, UsesMongo: true, New: New}
}

// Register adds the service's gRPC services to s.
func (svc *Service) Register(s *grpc.Server) {
	statsv1.RegisterStatsServiceServer(s, svc.api)
}

// Run counts stream entries until ctx ends.
func (svc *Service) Run(ctx context.Context) error {
	return svc.consumer.Run(ctx)
}

// consumerName is unique per process: entries a crashed process left
// pending are claimed by the others (or by its successor) after a while.
func consumerName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}
