package grpcapi

import (
	"context"

	goredis "github.com/redis/go-redis/v9"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"

	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/redis"
)

// MessageLog is the event-log stream (key "<prefix>ev:messages") that every
// message creation, edit and deletion is also appended to, in the event
// log's encoding: one stream across all servers, which the search service
// follows with a single consumer group instead of one per server scope.
const MessageLog = "messages"

// MessageLogMaxLen bounds the message log (approximately).
const MessageLogMaxLen = 1_000_000

// MessageLogged is chat.Events and guild.Events that also appends each
// message creation, edit and deletion, and each channel and server
// deletion (whose messages go with them), to the message log once its
// server's log has it. A
// failure there does not fail the call: clients already have the event, and
// the search index is rebuilt from the messages of record (docs/search.md).
type MessageLogged struct {
	Events
}

var (
	_ chat.Events  = MessageLogged{}
	_ guild.Events = MessageLogged{}
)

func (e MessageLogged) logMessage(ctx context.Context, ev *eventsv1.Event) {
	_, _ = e.Log.WithMaxLen(MessageLogMaxLen).Append(context.WithoutCancel(ctx), MessageLog, ev)
}

// MessageCreated implements chat.Events.
func (e MessageLogged) MessageCreated(ctx context.Context, v chat.View, held chat.ChannelLock) error {
	if err := e.Events.MessageCreated(ctx, v, held); err != nil {
		return err
	}
	m := MessageProto(v)
	e.logMessage(ctx, &eventsv1.Event{CreateTime: m.CreateTime, Payload: &eventsv1.Event_MessageCreated{MessageCreated: m}})
	return nil
}

// MessagesCreated implements chat.Events: the message log gets the
// batch in the round trip of the announcement on a single Redis server
// (redis.ChannelLock.Then), else in one pipelined round trip after it.
func (e MessageLogged) MessagesCreated(ctx context.Context, vs []chat.View, held chat.ChannelLock, allocated string) error {
	log := e.Log.WithMaxLen(MessageLogMaxLen)
	xadds := make([]*goredis.XAddArgs, 0, len(vs))
	for _, v := range vs {
		m := MessageProto(v)
		entry, err := log.Prepare(ctx, MessageLog, &eventsv1.Event{CreateTime: m.CreateTime, Payload: &eventsv1.Event_MessageCreated{MessageCreated: m}})
		if err != nil {
			continue
		}
		args := &goredis.XAddArgs{Stream: entry.Stream, Values: entry.Values}
		if entry.MaxLen > 0 {
			args.MaxLen, args.Approx = entry.MaxLen, true
		}
		xadds = append(xadds, args)
	}
	if l, ok := held.(*redis.ChannelLock); ok && len(xadds) > 0 {
		cmds := make([]redis.Cmd, len(xadds))
		for i, a := range xadds {
			cmds[i] = redis.XAddCmd(a)
		}
		if l.Then(cmds...) {
			return e.Events.MessagesCreated(ctx, vs, held, allocated)
		}
	}
	if err := e.Events.MessagesCreated(ctx, vs, held, allocated); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	pipe := e.Redis.Pipeline()
	for _, a := range xadds {
		pipe.XAdd(ctx, a)
	}
	_, _ = pipe.Exec(ctx)
	return nil
}

// MessageUpdated implements chat.Events.
func (e MessageLogged) MessageUpdated(ctx context.Context, v chat.View) error {
	if err := e.Events.MessageUpdated(ctx, v); err != nil {
		return err
	}
	e.logMessage(ctx, &eventsv1.Event{Payload: &eventsv1.Event_MessageUpdated{MessageUpdated: MessageProto(v)}})
	return nil
}

// MessageDeleted implements chat.Events.
func (e MessageLogged) MessageDeleted(ctx context.Context, m chat.Message) error {
	if err := e.Events.MessageDeleted(ctx, m); err != nil {
		return err
	}
	e.logMessage(ctx, &eventsv1.Event{Payload: &eventsv1.Event_MessageDeleted{MessageDeleted: &eventsv1.MessageDeleted{
		ServerId: m.ServerID, ChannelId: m.ChannelID, MessageId: m.ID,
	}}})
	return nil
}

// ChannelDeleted implements guild.Events: the channel's messages leave
// the search index.
func (e MessageLogged) ChannelDeleted(ctx context.Context, serverID, channelID string) error {
	if err := e.Events.ChannelDeleted(ctx, serverID, channelID); err != nil {
		return err
	}
	e.logMessage(ctx, &eventsv1.Event{Payload: &eventsv1.Event_ChannelDeleted{ChannelDeleted: &eventsv1.ChannelDeleted{
		ServerId: serverID, ChannelId: channelID,
	}}})
	return nil
}

// ServerDeleted implements guild.Events: the server's messages leave the
// search index.
func (e MessageLogged) ServerDeleted(ctx context.Context, serverID string) error {
	if err := e.Events.ServerDeleted(ctx, serverID); err != nil {
		return err
	}
	e.logMessage(ctx, &eventsv1.Event{Payload: &eventsv1.Event_ServerDeleted{ServerDeleted: &eventsv1.ServerDeleted{ServerId: serverID}}})
	return nil
}
