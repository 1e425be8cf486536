// Package presence is the Accord presence service.
package presence

import (
	"context"

	"google.golang.org/grpc"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	"github.com/accordchat/accord/platform/app"
)

// Service is the presence service.
type Service struct {
	deps app.Deps
}

// New builds the service from its dependencies.
func New(ctx context.Context, d app.Deps) (app.Service, error) {
	return &Service{deps: d}, nil
}

// Spec describes the service for app.Run.
func Spec(listen, metrics string) app.Spec {
	return app.Spec{Name: "presence", Listen: listen, Metrics: metrics, UsesMongo: false, New: New}
}

// Register adds the service's gRPC services to s.
func (svc *Service) Register(s *grpc.Server) {
	presencev1.RegisterPresenceServiceServer(s, presencev1.UnimplementedPresenceServiceServer{})
}
