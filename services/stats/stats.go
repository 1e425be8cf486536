// Package stats is the Accord stats service: top users by connections and
// by messages, busiest servers, and activity over time, as data and as SVG
// charts.
//
// Reports are read from counters in Redis, fed by a background consumer
// of the activity stream (written by the server service) and the
// connections stream (written by presence). Deleted messages stop
// counting. RebuildCounters recomputes the counters from the server
// service's message counts (its internal API) and the connections stream.
// The service keeps nothing in MongoDB.
//
// This package only wires the parts: the rules live in internal/reports,
// the counters and the stream consumer in internal/redis, the questions to
// the user and server services in internal/peers (message counts, server
// names and roles from the server service, behind the domain's
// RebuildSource, Servers and Roles interfaces), and the gRPC handlers in
// internal/grpcapi.
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
	"github.com/accordchat/accord/services/stats/internal/grpcapi"
	"github.com/accordchat/accord/services/stats/internal/peers"
	"github.com/accordchat/accord/services/stats/internal/redis"
	"github.com/accordchat/accord/services/stats/internal/reports"
)

// Service is the stats service.
type Service struct {
	api      *grpcapi.API
	consumer *redis.Consumer
}

// options replace the peers and the clock (tests).
type options struct {
	roles reports.Roles
	names reports.Names
	// server is the server service's data: message counts and server names.
	server serverData
	now    func() time.Time
}

// serverData is what rebuilds and reports read of the server service's data.
type serverData interface {
	reports.RebuildSource
	reports.Servers
	reports.Storage
}

// New builds the service from its dependencies.
func New(ctx context.Context, d app.Deps) (app.Service, error) {
	return newService(ctx, d, options{})
}

func newService(ctx context.Context, d app.Deps, o options) (*Service, error) {
	if d.Redis == nil {
		return nil, errors.New("stats needs Redis")
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.roles == nil || o.names == nil || o.server == nil {
		if d.Peers == nil || d.Peers.Server == nil || d.Peers.User == nil {
			return nil, errors.New("stats needs the server and user services")
		}
		if o.roles == nil {
			o.roles = peers.NewServerRoles(d.Peers.Server, d.ServiceCreds)
		}
		if o.names == nil {
			o.names = peers.NewUserNames(d.Peers.User)
		}
		if o.server == nil {
			o.server = peers.NewServerData(d.Peers.Server, d.ServiceCreds)
		}
	}
	store := redis.New(d.Redis, d.Keys)
	c := redis.NewConsumer(store, d.Log, consumerName())
	c.Now = o.now
	svc := reports.NewService(reports.Deps{
		Counters: store, Source: o.server, Servers: o.server, Storage: o.server, Roles: o.roles, Names: o.names, Log: d.Log, Now: o.now,
	})
	return &Service{api: grpcapi.New(svc), consumer: c}, nil
}

// Spec describes the service for app.Run.
func Spec(listen, metrics string) app.Spec {
	return app.Spec{Name: "stats", Listen: listen, Metrics: metrics, New: New}
}

// Register adds the service's gRPC services to s.
func (svc *Service) Register(s grpc.ServiceRegistrar) {
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
