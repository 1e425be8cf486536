package grpcapi

import (
	"context"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/feed"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// ChatAPI implements the messaging methods of ServerService: messages, read
// states, typing, and EventService.StreamEvents. It does not embed the Unimplemented
// server: the service package combines it with GuildAPI, which does.
type ChatAPI struct {
	chat     *chat.Service
	hub      *feed.Hub
	access   membership
	sessions SessionWatch
}

// WatchSessions lets FollowScopes watch sessions (WatchSession) with sw.
func (c *ChatAPI) WatchSessions(sw SessionWatch) *ChatAPI {
	c.sessions = sw
	return c
}

// NewChatAPI returns the chat half's handlers.
func NewChatAPI(svc *chat.Service, hub *feed.Hub, access *guild.Access) *ChatAPI {
	return &ChatAPI{chat: svc, hub: hub, access: membership{access}}
}

// membership is feed.Membership over guild.Access.
type membership struct{ a *guild.Access }

func (m membership) ServerIDs(ctx context.Context, userID string) ([]string, error) {
	return m.a.ServerIDs(ctx, userID)
}

func (m membership) Role(ctx context.Context, serverID, userID string) (serverv1.Role, error) {
	r, err := m.a.Role(ctx, serverID, userID)
	return RoleProto(r), err
}

// SendMessage implements ServerService.
func (c *ChatAPI) SendMessage(ctx context.Context, req *serverv1.SendMessageRequest) (*serverv1.SendMessageResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	m, err := c.chat.Send(ctx, chat.SendInput{
		UserID: p.UserID, ChannelID: req.GetChannelId(), Content: req.GetContent(),
		ReplyToID: req.GetReplyToId(), RequestID: req.GetRequestId(), AttachmentIDs: req.GetAttachmentIds(),
	})
	if err != nil {
		return nil, err
	}
	return &serverv1.SendMessageResponse{Message: MessageProto(m)}, nil
}

// ListMessages implements ServerService.
func (c *ChatAPI) ListMessages(ctx context.Context, req *serverv1.ListMessagesRequest) (*serverv1.ListMessagesResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	page, err := c.chat.List(ctx, chat.ListInput{
		UserID: p.UserID, ChannelID: req.GetChannelId(), Before: req.GetBefore(), After: req.GetAfter(),
		Around: req.GetAround(), PageSize: int(req.GetPageSize()),
	})
	if err != nil {
		return nil, err
	}
	resp := &serverv1.ListMessagesResponse{Messages: messageProtos(page.Messages), HasMore: page.Older}
	if ms := page.Messages; len(ms) > 0 {
		if page.Older {
			resp.OlderCursor = ms[len(ms)-1].ID
		}
		if page.Newer {
			resp.NewerCursor = ms[0].ID
		}
	}
	if req.GetAfter() != "" {
		resp.HasMore = page.Newer
	}
	return resp, nil
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
	return &serverv1.UpdateMessageResponse{Message: MessageProto(m)}, nil
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
	return &serverv1.MarkReadResponse{ReadState: ReadStateProto(st)}, nil
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
	out := make([]*serverv1.ReadState, len(sts))
	for i, st := range sts {
		out[i] = ReadStateProto(st)
	}
	return &serverv1.ListReadStatesResponse{ReadStates: out}, nil
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

// StreamEvents implements EventService.
func (c *ChatAPI) StreamEvents(req *eventsv1.StreamEventsRequest, stream grpc.ServerStreamingServer[eventsv1.StreamEventsResponse]) error {
	ctx := stream.Context()
	p, err := auth.User(ctx)
	if err != nil {
		return err
	}
	return c.hub.Serve(ctx, c.access, p.UserID, req.GetCursors(), func(ev *feed.Event) error {
		// Every subscriber of an event sends the same bytes, encoded once.
		m, err := ev.Response()
		if err != nil {
			return err
		}
		return stream.SendMsg(m)
	}, func() error {
		// The stream's header tells the gateway that the user's scopes are
		// subscribed: its socket's ready goes out then, so every event
		// logged after ready reaches the socket. It names the fact: an
		// in-process channel sends no header that holds nothing.
		return stream.SendHeader(metadata.Pairs("accord-subscribed", "1"))
	})
}

// FeedSubscribers tells how many StreamEvents calls this instance serves.
func (c *ChatAPI) FeedSubscribers() int {
	_, n := c.hub.Subscribers()
	return n
}

// ListMentions implements ServerService.
func (c *ChatAPI) ListMentions(ctx context.Context, req *serverv1.ListMentionsRequest) (*serverv1.ListMentionsResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	ms, next, err := c.chat.ListMentions(ctx, p.UserID, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &serverv1.ListMentionsResponse{Messages: messageProtos(ms), NextPageToken: next}, nil
}

// GetNotificationSettings implements ServerService.
func (c *ChatAPI) GetNotificationSettings(ctx context.Context, _ *serverv1.GetNotificationSettingsRequest) (*serverv1.GetNotificationSettingsResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	sts, err := c.chat.NotificationSettings(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]*serverv1.ServerNotificationSettings, len(sts))
	for i, st := range sts {
		out[i] = ServerSettingsProto(st)
	}
	return &serverv1.GetNotificationSettingsResponse{Servers: out}, nil
}

// UpdateServerNotificationSettings implements ServerService.
func (c *ChatAPI) UpdateServerNotificationSettings(ctx context.Context, req *serverv1.UpdateServerNotificationSettingsRequest) (*serverv1.UpdateServerNotificationSettingsResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	st, err := c.chat.SetServerLevel(ctx, p.UserID, req.GetServerId(), int(req.GetLevel()))
	if err != nil {
		return nil, err
	}
	return &serverv1.UpdateServerNotificationSettingsResponse{Settings: ServerSettingsProto(st)}, nil
}

// UpdateChannelNotificationSettings implements ServerService.
func (c *ChatAPI) UpdateChannelNotificationSettings(ctx context.Context, req *serverv1.UpdateChannelNotificationSettingsRequest) (*serverv1.UpdateChannelNotificationSettingsResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	st, err := c.chat.SetChannelMuted(ctx, p.UserID, req.GetChannelId(), req.GetMuted())
	if err != nil {
		return nil, err
	}
	return &serverv1.UpdateChannelNotificationSettingsResponse{Settings: ServerSettingsProto(st)}, nil
}

// FollowScopes implements EventInternalService: a gateway's feed. Requests
// are read in the background and applied by the feed in order with the
// events, so an added scope's ScopeStarted comes after everything sent
// before it was applied. A request's session watches are applied first:
// a session found ended then is reported before the request's scopes
// start.
func (c *ChatAPI) FollowScopes(stream grpc.BidiStreamingServer[eventsv1.FollowScopesRequest, eventsv1.FollowScopesResponse]) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	// Session ends are sent from the watches' goroutines, events and
	// acknowledgements from the feed's: one send at a time, none after
	// the handler returned.
	var sendMu sync.Mutex
	closed := false
	send := func(m any) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		if closed {
			return context.Canceled
		}
		return stream.SendMsg(m)
	}
	defer func() {
		sendMu.Lock()
		closed = true
		sendMu.Unlock()
	}()
	watches := newSessionWatches(ctx, c.sessions, func(e *eventsv1.SessionEnded) error {
		err := send(&eventsv1.FollowScopesResponse{SessionEnded: e})
		if err != nil {
			cancel()
		}
		return err
	})
	defer watches.close()
	reqs := make(chan feed.FollowRequest)
	go func() {
		for {
			req, err := stream.Recv()
			if err == io.EOF {
				return // no more changes; the feed goes on
			}
			r := feed.FollowRequest{Add: req.GetAdd(), Remove: req.GetRemove(), Err: err}
			if err == nil {
				r.Err = checkFollow(req)
			}
			if r.Err == nil {
				for _, key := range req.GetUnwatch() {
					watches.unwatch(key)
				}
				for _, w := range req.GetWatch() {
					if err := watches.watch(w.GetKey(), w.GetAccessToken()); err != nil {
						r.Err = err
						break
					}
				}
			}
			if r.Err == nil && len(r.Add) == 0 && len(r.Remove) == 0 {
				continue
			}
			select {
			case reqs <- r:
			case <-ctx.Done():
				return
			}
			if r.Err != nil {
				return
			}
		}
	}()
	return c.hub.Follow(ctx, reqs, func(ev *feed.Event) error {
		// A FollowScopesResponse with an event has the wire form of a
		// StreamEventsResponse: every gateway gets the same bytes.
		m, err := ev.Response()
		if err != nil {
			return err
		}
		return send(m)
	}, func(scope, position string) error {
		return send(&eventsv1.FollowScopesResponse{Started: &eventsv1.ScopeStarted{Scope: scope, Position: position}})
	})
}

// checkFollow rejects scopes that are not "server:<id>" or "user:<id>".
func checkFollow(req *eventsv1.FollowScopesRequest) error {
	for i, c := range req.GetAdd() {
		if !validScope(c.GetScope()) {
			return errs.Invalid(fmt.Sprintf("add[%d].scope", i), "must be server:<id> or user:<id>")
		}
		if len(c.GetPosition()) > maxPosition {
			return errs.Invalid(fmt.Sprintf("add[%d].position", i), "at most 128 characters")
		}
	}
	for i, s := range req.GetRemove() {
		if !validScope(s) {
			return errs.Invalid(fmt.Sprintf("remove[%d]", i), "must be server:<id> or user:<id>")
		}
	}
	return nil
}

// maxPosition bounds a cursor position (stream ids are far shorter).
const maxPosition = 128

func validScope(s string) bool {
	_, id, err := events.ParseScope(s)
	return err == nil && len(id) <= 64
}

// readPageMax caps ReadScopesRequest.page_size.
const readPageMax = 1000

// ReadScopes implements EventInternalService.
func (c *ChatAPI) ReadScopes(ctx context.Context, req *eventsv1.ReadScopesRequest) (*eventsv1.ReadScopesResponse, error) {
	for i, cur := range req.GetCursors() {
		if !validScope(cur.GetScope()) {
			return nil, errs.Invalid(fmt.Sprintf("cursors[%d].scope", i), "must be server:<id> or user:<id>")
		}
		if len(cur.GetPosition()) > maxPosition {
			return nil, errs.Invalid(fmt.Sprintf("cursors[%d].position", i), "at most 128 characters")
		}
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = 500
	}
	size = min(size, readPageMax)
	evs, more, err := c.hub.Read(ctx, req.GetCursors(), size)
	if err != nil {
		return nil, err
	}
	out := make([]*eventsv1.Event, len(evs))
	for i, ev := range evs {
		out[i] = ev.Event
	}
	return &eventsv1.ReadScopesResponse{Events: out, More: more}, nil
}
