package grpcapi

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/services/server/internal/access"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/feed"
)

// ChatAPI implements the messaging methods of ServerService: messages, read
// states, typing and StreamEvents. It does not embed the Unimplemented
// server: the service package combines it with GuildAPI, which does.
type ChatAPI struct {
	chat    *chat.Service
	hub     *feed.Hub
	checker *access.Checker
}

// ChatOptions tune the chat half; zero fields take production defaults.
type ChatOptions struct {
	// Names resolves display names; default: the user service through
	// d.Peers.User with a five-minute cache.
	Names chat.Names
	// Chat tunes rate limits and typing.
	Chat *chat.Config
	// Feed tunes the event feed hub.
	Feed *feed.Options
	// Events is the event log; default events.NewLog(d.Redis, prefix).
	Events *events.Log
}

// NewChatAPI builds the chat half and ensures its indexes.
func NewChatAPI(ctx context.Context, d app.Deps) (*ChatAPI, error) {
	return NewChatAPIWith(ctx, d, ChatOptions{})
}

// NewChatAPIWith is NewChatAPI with options (tests, benchmarks).
func NewChatAPIWith(ctx context.Context, d app.Deps, o ChatOptions) (*ChatAPI, error) {
	if err := mongox.EnsureIndexes(ctx, d.Mongo, chat.Indexes()); err != nil {
		return nil, err
	}
	prefix := d.Config.RedisPrefix
	if o.Names == nil {
		var next chat.Names = chat.NewStaticNames()
		if d.Peers != nil && d.Peers.User != nil {
			next = chat.NewUserServiceNames(d.Peers.User)
		}
		o.Names = chat.NewCachedNames(next, d.Log, 5*time.Minute, 100_000)
	}
	cfg := chat.DefaultConfig()
	cfg.RateLimit, cfg.RateWindow = d.Config.MessageRateLimit, d.Config.MessageRateWindow
	if o.Chat != nil {
		cfg = *o.Chat
	}
	fo := feed.DefaultOptions()
	if o.Feed != nil {
		fo = *o.Feed
	}
	if o.Events == nil {
		o.Events = events.NewLog(d.Redis, prefix)
	}
	return &ChatAPI{
		chat:    chat.New(d.Mongo, d.Redis, prefix, d.Log, o.Events, o.Names, cfg),
		hub:     feed.NewHub(d.Redis, o.Events, chat.TypingChannel(prefix), d.Log, fo),
		checker: access.NewChecker(d.Mongo),
	}, nil
}

// Run runs the chat half's background work (the event feed reader) until ctx ends.
func (c *ChatAPI) Run(ctx context.Context) error {
	go c.chat.RunOutbox(ctx)
	return c.hub.Run(ctx)
}

// SendMessage implements ServerService.
func (c *ChatAPI) SendMessage(ctx context.Context, req *serverv1.SendMessageRequest) (*serverv1.SendMessageResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	m, err := c.chat.Send(ctx, chat.SendInput{
		UserID: p.UserID, ChannelID: req.GetChannelId(), Content: req.GetContent(),
		ReplyToID: req.GetReplyToId(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &serverv1.SendMessageResponse{Message: m}, nil
}

// ListMessages implements ServerService.
func (c *ChatAPI) ListMessages(ctx context.Context, req *serverv1.ListMessagesRequest) (*serverv1.ListMessagesResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	ms, more, err := c.chat.List(ctx, chat.ListInput{
		UserID: p.UserID, ChannelID: req.GetChannelId(), Before: req.GetBefore(), After: req.GetAfter(),
		PageSize: int(req.GetPageSize()),
	})
	if err != nil {
		return nil, err
	}
	return &serverv1.ListMessagesResponse{Messages: ms, HasMore: more}, nil
}

// UpdateMessage implements ServerService.
func (c *ChatAPI) UpdateMessage(ctx context.Context, req *serverv1.UpdateMessageRequest) (*serverv1.UpdateMessageResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	m, err := c.chat.Update(ctx, p.UserID, req.GetChannelId(), req.GetMessageId(), req.GetContent())
	if err != nil {
		return nil, err
	}
	return &serverv1.UpdateMessageResponse{Message: m}, nil
}

// DeleteMessage implements ServerService.
func (c *ChatAPI) DeleteMessage(ctx context.Context, req *serverv1.DeleteMessageRequest) (*serverv1.DeleteMessageResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.chat.Delete(ctx, p.UserID, req.GetChannelId(), req.GetMessageId()); err != nil {
		return nil, err
	}
	return &serverv1.DeleteMessageResponse{}, nil
}

// MarkRead implements ServerService.
func (c *ChatAPI) MarkRead(ctx context.Context, req *serverv1.MarkReadRequest) (*serverv1.MarkReadResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	st, err := c.chat.MarkRead(ctx, p.UserID, req.GetChannelId(), req.GetMessageId())
	if err != nil {
		return nil, err
	}
	return &serverv1.MarkReadResponse{ReadState: st}, nil
}

// ListReadStates implements ServerService.
func (c *ChatAPI) ListReadStates(ctx context.Context, req *serverv1.ListReadStatesRequest) (*serverv1.ListReadStatesResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	sts, err := c.chat.ListReadStates(ctx, p.UserID, req.GetServerId())
	if err != nil {
		return nil, err
	}
	return &serverv1.ListReadStatesResponse{ReadStates: sts}, nil
}

// SendTyping implements ServerService.
func (c *ChatAPI) SendTyping(ctx context.Context, req *serverv1.SendTypingRequest) (*serverv1.SendTypingResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	exp, err := c.chat.Typing(ctx, p.UserID, req.GetChannelId())
	if err != nil {
		return nil, err
	}
	return &serverv1.SendTypingResponse{ExpireTime: timestamppb.New(exp)}, nil
}

// StreamEvents implements ServerService.
func (c *ChatAPI) StreamEvents(req *serverv1.StreamEventsRequest, stream grpc.ServerStreamingServer[serverv1.StreamEventsResponse]) error {
	ctx := stream.Context()
	p, err := auth.User(ctx)
	if err != nil {
		return err
	}
	return c.hub.Serve(ctx, c.checker, p.UserID, req.GetCursors(), func(ev *feed.Event) error {
		// Every subscriber of an event sends the same bytes, encoded once.
		m, err := ev.Response()
		if err != nil {
			return err
		}
		return stream.SendMsg(m)
	})
}

// FeedSubscribers tells how many StreamEvents calls this instance serves.
func (c *ChatAPI) FeedSubscribers() int {
	_, n := c.hub.Subscribers()
	return n
}
