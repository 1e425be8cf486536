// Package stats is the Accord stats service.
package stats

import (
	"context"

	"google.golang.org/grpc"

	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	"github.com/accordchat/accord/platform/app"
)

// Service is the stats service.
type Service struct {
	deps app.Deps
}

// New builds the service from its dependencies.
func New(ctx context.Context, d app.Deps) (app.Service, error) {
	return &Service{deps: d}, nil
}

// Spec describes the service for app.Run.
func Spec(listen, metrics string) app.Spec {
	return app.Spec{Name: "stats", Listen: listen, Metrics: metrics, UsesMongo: true, New: New}
}

// Register adds the service's gRPC services to s.
func (svc *Service) Register(s *grpc.Server) {
	statsv1.RegisterStatsServiceServer(s, statsv1.UnimplementedStatsServiceServer{})
}
