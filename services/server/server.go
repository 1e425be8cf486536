// Package server is the Accord server service: servers (guilds), members and
// roles, invites, channels, private conversations, messages, read states,
// typing and the event feed.
package server

import (
	"context"

	"google.golang.org/grpc"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/services/server/internal/grpcapi"
)

// Service is the server service.
type Service struct {
	deps  app.Deps
	guild *grpcapi.GuildAPI
	chat  *grpcapi.ChatAPI
}

// api combines the two halves into one ServerService implementation: the
// halves' methods are promoted over the Unimplemented ones embedded deeper.
type api struct {
	*grpcapi.GuildAPI
	*grpcapi.ChatAPI
}

// New builds the service from its dependencies.
func New(ctx context.Context, d app.Deps) (app.Service, error) {
	guild, err := grpcapi.NewGuildAPI(ctx, d)
	if err != nil {
		return nil, err
	}
	chat, err := grpcapi.NewChatAPI(ctx, d)
	if err != nil {
		return nil, err
	}
	return &Service{deps: d, guild: guild, chat: chat}, nil
}

// Run runs the service's background work until ctx ends.
func (svc *Service) Run(ctx context.Context) error {
	return svc.chat.Run(ctx)
}

// Spec describes the service for app.Run.
func Spec(listen, metrics string) app.Spec {
	return app.Spec{Name: "server", Listen: listen, Metrics: metrics, UsesMongo: true, New: New}
}

// Register adds the service's gRPC services to s.
func (svc *Service) Register(s *grpc.Server) {
	serverv1.RegisterServerServiceServer(s, api{svc.guild, svc.chat})
	serverv1.RegisterServerInternalServiceServer(s, svc.guild)
}
