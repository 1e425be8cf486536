package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/services/server/internal/chat"
)

// Reactions and pins: handlers, conversions and events.

func reactionProtos(rs []chat.ReactionSummary) []*serverv1.ReactionSummary {
	if len(rs) == 0 {
		return nil
	}
	out := make([]*serverv1.ReactionSummary, len(rs))
	for i, r := range rs {
		out[i] = reactionProto(r)
	}
	return out
}

func reactionProto(r chat.ReactionSummary) *serverv1.ReactionSummary {
	return &serverv1.ReactionSummary{Emoji: r.Emoji, Count: int32(r.Count), Me: r.Me}
}

// PinProto renders a pin with its message.
func PinProto(p chat.PinView) *serverv1.Pin {
	return &serverv1.Pin{
		ChannelId: p.ChannelID, MessageId: p.MessageID, PinnedBy: p.PinnedBy,
		PinTime: timestamppb.New(p.PinnedAt), Message: MessageProto(p.Message),
	}
}

// ReactionChanged implements chat.Events.
func (e Events) ReactionChanged(ctx context.Context, c chat.ReactionChange, added bool) error {
	rc := &eventsv1.ReactionChange{
		ServerId: c.ServerID, ChannelId: c.ChannelID, MessageId: c.MessageID,
		Emoji: c.Emoji, UserId: c.UserID, Count: int32(c.Count),
	}
	ev := &eventsv1.Event{Payload: &eventsv1.Event_ReactionRemoved{ReactionRemoved: rc}}
	if added {
		ev.Payload = &eventsv1.Event_ReactionAdded{ReactionAdded: rc}
	}
	return e.server(ctx, c.ServerID, ev)
}

// PinChanged implements chat.Events.
func (e Events) PinChanged(ctx context.Context, c chat.PinChange, pinned bool) error {
	pc := &eventsv1.PinChange{
		ServerId: c.ServerID, ChannelId: c.ChannelID, MessageId: c.MessageID,
		UserId: c.UserID, DisplayName: c.DisplayName,
	}
	if c.Pin != nil {
		pc.Pin = PinProto(*c.Pin)
	}
	ev := &eventsv1.Event{Payload: &eventsv1.Event_MessageUnpinned{MessageUnpinned: pc}}
	if pinned {
		ev.Payload = &eventsv1.Event_MessagePinned{MessagePinned: pc}
	}
	return e.server(ctx, c.ServerID, ev)
}

// AddReaction implements ServerService.
func (c *ChatAPI) AddReaction(ctx context.Context, req *serverv1.AddReactionRequest) (*serverv1.AddReactionResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	r, err := c.chat.React(ctx, p.UserID, req.GetChannelId(), req.GetMessageId(), req.GetEmoji(), true)
	if err != nil {
		return nil, err
	}
	return &serverv1.AddReactionResponse{Reaction: reactionProto(r)}, nil
}

// RemoveReaction implements ServerService.
func (c *ChatAPI) RemoveReaction(ctx context.Context, req *serverv1.RemoveReactionRequest) (*serverv1.RemoveReactionResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	r, err := c.chat.React(ctx, p.UserID, req.GetChannelId(), req.GetMessageId(), req.GetEmoji(), false)
	if err != nil {
		return nil, err
	}
	return &serverv1.RemoveReactionResponse{Reaction: reactionProto(r)}, nil
}

// ListReactions implements ServerService.
func (c *ChatAPI) ListReactions(ctx context.Context, req *serverv1.ListReactionsRequest) (*serverv1.ListReactionsResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	rs, next, err := c.chat.Reactors(ctx, p.UserID, req.GetChannelId(), req.GetMessageId(), req.GetEmoji(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := make([]*serverv1.Reactor, len(rs))
	for i, r := range rs {
		out[i] = &serverv1.Reactor{UserId: r.UserID, DisplayName: r.DisplayName, ReactTime: timestamppb.New(r.At)}
	}
	return &serverv1.ListReactionsResponse{Reactors: out, NextPageToken: next}, nil
}

// PinMessage implements ServerService.
func (c *ChatAPI) PinMessage(ctx context.Context, req *serverv1.PinMessageRequest) (*serverv1.PinMessageResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	pin, err := c.chat.PinMessage(ctx, p.UserID, req.GetChannelId(), req.GetMessageId())
	if err != nil {
		return nil, err
	}
	return &serverv1.PinMessageResponse{Pin: PinProto(pin)}, nil
}

// UnpinMessage implements ServerService.
func (c *ChatAPI) UnpinMessage(ctx context.Context, req *serverv1.UnpinMessageRequest) (*serverv1.UnpinMessageResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.chat.UnpinMessage(ctx, p.UserID, req.GetChannelId(), req.GetMessageId()); err != nil {
		return nil, err
	}
	return &serverv1.UnpinMessageResponse{}, nil
}

// ListPins implements ServerService.
func (c *ChatAPI) ListPins(ctx context.Context, req *serverv1.ListPinsRequest) (*serverv1.ListPinsResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	pins, err := c.chat.ListPins(ctx, p.UserID, req.GetChannelId())
	if err != nil {
		return nil, err
	}
	out := make([]*serverv1.Pin, len(pins))
	for i, pin := range pins {
		out[i] = PinProto(pin)
	}
	return &serverv1.ListPinsResponse{Pins: out}, nil
}
