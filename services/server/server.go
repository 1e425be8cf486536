// Package server is the Accord server service.
package server

import (
	"context"

	"google.golang.org/grpc"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/app"
)

// Service is the server service.
type Service struct {
	deps app.Deps
}

// New builds the service from its dependencies.
func New(ctx context.Context, d app.Deps) (app.Service, error) {
	return &Service{deps: d}, nil
}

// Spec describes the service for app.Run.
func Spec(listen, metrics string) app.Spec {
	return app.Spec{Name: "server", Listen: listen, Metrics: metrics, UsesMongo: true, New: New}
}

// Register adds the service's gRPC services to s.
func (svc *Service) Register(s *grpc.Server) {
	serverv1.RegisterServerServiceServer(s, serverv1.UnimplementedServerServiceServer{})
	serverv1.RegisterServerInternalServiceServer(s, serverv1.UnimplementedServerInternalServiceServer{})
}
