// Package grpcapi holds the server service's gRPC handlers. The guild half
// (servers, members, invites, channels, conversations, internal API) and the
// chat half (messages, read states, typing, the event feed) are separate
// types, combined in the service package.
package grpcapi

import (
	"context"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/app"
)

// GuildAPI implements the structural methods of ServerService and the
// ServerInternalService.
type GuildAPI struct {
	serverv1.UnimplementedServerServiceServer
	serverv1.UnimplementedServerInternalServiceServer
}

// NewGuildAPI builds the guild half and ensures its indexes.
func NewGuildAPI(ctx context.Context, d app.Deps) (*GuildAPI, error) {
	return &GuildAPI{}, nil
}
