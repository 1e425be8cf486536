package grpcapi

import (
	"context"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"

	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/redis"
)

// Events turns the domains' announcements into events on the event log the
// feed reads (events.ServerScope and events.UserScope streams), and typing
// into messages on the typing pub/sub channel.
type Events struct {
	Log *events.Log
	// Redis and Keys reach the typing channel and read the log back.
	Redis goredis.UniversalClient
	Keys  redisx.Keyspace
}

var (
	_ guild.Events = Events{}
	_ chat.Events  = Events{}
)

func (e Events) server(ctx context.Context, serverID string, ev *eventsv1.Event) error {
	_, err := e.Log.Append(ctx, events.ServerScope(serverID), ev)
	return err
}

func (e Events) user(ctx context.Context, userID string, ev *eventsv1.Event) error {
	_, err := e.Log.Append(ctx, events.UserScope(userID), ev)
	return err
}

// ServerJoined implements guild.Events.
func (e Events) ServerJoined(ctx context.Context, userID string, s guild.Server, role guild.Role) error {
	return e.user(ctx, userID, &eventsv1.Event{Payload: &eventsv1.Event_ServerJoined{ServerJoined: ServerProto(s, role)}})
}

// ServerLeft implements guild.Events.
func (e Events) ServerLeft(ctx context.Context, userID, serverID, reason string) error {
	return e.user(ctx, userID, &eventsv1.Event{Payload: &eventsv1.Event_ServerLeft{ServerLeft: &eventsv1.ServerLeft{ServerId: serverID, Reason: reason}}})
}

// ServerUpdated implements guild.Events.
func (e Events) ServerUpdated(ctx context.Context, s guild.Server) error {
	return e.server(ctx, s.ID, &eventsv1.Event{Payload: &eventsv1.Event_ServerUpdated{ServerUpdated: ServerProto(s, guild.RoleNone)}})
}

// ServerDeleted implements guild.Events.
func (e Events) ServerDeleted(ctx context.Context, serverID string) error {
	return e.server(ctx, serverID, &eventsv1.Event{Payload: &eventsv1.Event_ServerDeleted{ServerDeleted: &eventsv1.ServerDeleted{ServerId: serverID}}})
}

// MemberAdded implements guild.Events.
func (e Events) MemberAdded(ctx context.Context, m guild.Member, u guild.UserInfo) error {
	return e.server(ctx, m.ServerID, &eventsv1.Event{Payload: &eventsv1.Event_MemberAdded{MemberAdded: MemberProto(m, u)}})
}

// MemberUpdated implements guild.Events.
func (e Events) MemberUpdated(ctx context.Context, m guild.Member, u guild.UserInfo) error {
	return e.server(ctx, m.ServerID, &eventsv1.Event{Payload: &eventsv1.Event_MemberUpdated{MemberUpdated: MemberProto(m, u)}})
}

// MemberRemoved implements guild.Events.
func (e Events) MemberRemoved(ctx context.Context, serverID, userID string, kicked bool) error {
	return e.server(ctx, serverID, &eventsv1.Event{Payload: &eventsv1.Event_MemberRemoved{MemberRemoved: &eventsv1.MemberRemoved{ServerId: serverID, UserId: userID, Kicked: kicked}}})
}

// ChannelCreated implements guild.Events.
func (e Events) ChannelCreated(ctx context.Context, c guild.Channel) error {
	return e.server(ctx, c.ServerID, &eventsv1.Event{Payload: &eventsv1.Event_ChannelCreated{ChannelCreated: ChannelProto(c)}})
}

// ChannelUpdated implements guild.Events.
func (e Events) ChannelUpdated(ctx context.Context, c guild.Channel) error {
	return e.server(ctx, c.ServerID, &eventsv1.Event{Payload: &eventsv1.Event_ChannelUpdated{ChannelUpdated: ChannelProto(c)}})
}

// ChannelDeleted implements guild.Events.
func (e Events) ChannelDeleted(ctx context.Context, serverID, channelID string) error {
	return e.server(ctx, serverID, &eventsv1.Event{Payload: &eventsv1.Event_ChannelDeleted{ChannelDeleted: &eventsv1.ChannelDeleted{ServerId: serverID, ChannelId: channelID}}})
}

// MessageCreated implements chat.Events. A Redis channel lock is released
// in the append's own round trip.
func (e Events) MessageCreated(ctx context.Context, v chat.View, held chat.ChannelLock) error {
	m := MessageProto(v)
	ev := &eventsv1.Event{CreateTime: m.CreateTime, Payload: &eventsv1.Event_MessageCreated{MessageCreated: m}}
	scope := events.ServerScope(v.ServerID)
	if l, ok := held.(*redis.ChannelLock); ok {
		entry, err := e.Log.Prepare(ctx, scope, ev)
		if err != nil {
			l.Unlock(v.ID)
			return err
		}
		_, err = l.AppendAndUnlock(ctx, v.ID, entry)
		return err
	}
	_, err := e.Log.Append(ctx, scope, ev)
	if held != nil {
		held.Unlock(v.ID)
	}
	return err
}

// MessagesCreated implements chat.Events: with a Redis channel lock the
// events are appended and the lock released in one round trip.
func (e Events) MessagesCreated(ctx context.Context, vs []chat.View, held chat.ChannelLock, allocated string) error {
	evs := make([]*eventsv1.Event, len(vs))
	for i, v := range vs {
		m := MessageProto(v)
		evs[i] = &eventsv1.Event{CreateTime: m.CreateTime, Payload: &eventsv1.Event_MessageCreated{MessageCreated: m}}
	}
	if l, ok := held.(*redis.ChannelLock); ok {
		entries := make([]events.Entry, len(vs))
		for i, v := range vs {
			entry, err := e.Log.Prepare(ctx, events.ServerScope(v.ServerID), evs[i])
			if err != nil {
				l.Unlock(allocated)
				return err
			}
			entries[i] = entry
		}
		_, err := l.AppendAllAndUnlock(ctx, allocated, entries)
		return err
	}
	defer held.Unlock(allocated)
	for i, v := range vs {
		if _, err := e.Log.Append(ctx, events.ServerScope(v.ServerID), evs[i]); err != nil {
			return err
		}
	}
	return nil
}

// MessageUpdated implements chat.Events.
func (e Events) MessageUpdated(ctx context.Context, v chat.View) error {
	ev := &eventsv1.Event{Payload: &eventsv1.Event_MessageUpdated{MessageUpdated: MessageProto(v)}}
	if v.EditedAt != nil {
		ev.CreateTime = timestamppb.New(*v.EditedAt)
	}
	return e.server(ctx, v.ServerID, ev)
}

// MessageDeleted implements chat.Events.
func (e Events) MessageDeleted(ctx context.Context, m chat.Message) error {
	return e.server(ctx, m.ServerID, &eventsv1.Event{Payload: &eventsv1.Event_MessageDeleted{MessageDeleted: &eventsv1.MessageDeleted{
		ServerId: m.ServerID, ChannelId: m.ChannelID, MessageId: m.ID,
	}}})
}

// MessageAnnounced implements chat.Events: it reads the server's log from
// shortly before the message's creation on.
func (e Events) MessageAnnounced(ctx context.Context, m chat.Message) (bool, error) {
	scope := events.ServerScope(m.ServerID)
	start := strconv.FormatInt(m.CreatedAt.Add(-time.Minute).UnixMilli(), 10)
	for {
		msgs, err := e.Redis.XRangeN(ctx, e.Log.Key(scope), start, "+", 500).Result()
		if err != nil {
			return false, err
		}
		for _, x := range msgs {
			ev, err := events.Decode(scope, x)
			if err == nil && ev.GetMessageCreated().GetId() == m.ID {
				return true, nil
			}
		}
		if len(msgs) < 500 {
			return false, nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// ReadStateUpdated implements chat.Events.
func (e Events) ReadStateUpdated(ctx context.Context, userID string, st chat.ReadState) error {
	return e.user(ctx, userID, &eventsv1.Event{Payload: &eventsv1.Event_ReadStateUpdated{ReadStateUpdated: ReadStateProto(st)}})
}

// NotificationSettingsUpdated implements chat.Events.
func (e Events) NotificationSettingsUpdated(ctx context.Context, userID string, st chat.ServerSettings) error {
	return e.user(ctx, userID, &eventsv1.Event{Payload: &eventsv1.Event_NotificationSettingsUpdated{
		NotificationSettingsUpdated: ServerSettingsProto(st),
	}})
}

// Typing implements chat.Events.
func (e Events) Typing(ctx context.Context, t chat.Typing) error {
	ev := &eventsv1.Event{
		Scope:      events.ServerScope(t.ServerID),
		CreateTime: timestamppb.New(t.At),
		Payload: &eventsv1.Event_Typing{Typing: &eventsv1.Typing{
			ServerId: t.ServerID, ChannelId: t.ChannelID, UserId: t.UserID,
			DisplayName: t.DisplayName, ExpireTime: timestamppb.New(t.Until),
		}},
	}
	b, err := proto.Marshal(ev)
	if err != nil {
		return err
	}
	return e.Redis.Publish(ctx, redis.TypingChannel(e.Keys), b).Err()
}
