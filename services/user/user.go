// Package user is the Accord user service.
package user

import (
	"context"

	"google.golang.org/grpc"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/app"
)

// Service is the user service.
type Service struct {
	deps app.Deps
}

// New builds the service from its dependencies.
func New(ctx context.Context, d app.Deps) (app.Service, error) {
	return &Service{deps: d}, nil
}

// Spec describes the service for app.Run.
func Spec(listen, metrics string) app.Spec {
	return app.Spec{Name: "user", Listen: listen, Metrics: metrics, UsesMongo: true, New: New}
}

// Register adds the service's gRPC services to s.
func (svc *Service) Register(s *grpc.Server) {
	userv1.RegisterUserServiceServer(s, userv1.UnimplementedUserServiceServer{})
	userv1.RegisterUserInternalServiceServer(s, userv1.UnimplementedUserInternalServiceServer{})
}
