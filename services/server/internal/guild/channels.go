package guild

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/services/server/internal/access"
)

// CreateChannel adds a channel at the end of the list (owner and admins).
func (s *Service) CreateChannel(ctx context.Context, caller, serverID, name, topic string) (*serverv1.Channel, error) {
	if _, _, err := s.authorize(ctx, serverID, caller, serverv1.Role_ROLE_ADMIN, true); err != nil {
		return nil, err
	}
	chs, err := s.store.Channels(ctx, serverID)
	if err != nil {
		return nil, err
	}
	if len(chs) >= MaxChannels {
		return nil, errs.FailedPrecondition("a server has at most %d channels", MaxChannels).WithReason("TOO_MANY_CHANNELS")
	}
	pos := int32(0)
	if len(chs) > 0 {
		pos = chs[len(chs)-1].Position + 1
	}
	ch := access.ChannelDoc{ID: bson.NewObjectID(), ServerID: serverID, Name: name, Topic: topic, Position: pos, CreatedAt: s.now()}
	if err := s.store.InsertChannel(ctx, ch); err != nil {
		return nil, err
	}
	// Re-check after the write: a server deleted meanwhile must not keep
	// an orphan channel.
	if _, err := s.store.Server(ctx, serverID); err != nil {
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		_, derr := s.store.DeleteChannel(cctx, ch.ID.Hex())
		if errorsIsNotFound(err) {
			err = errServerNotFound()
		}
		return nil, errors.Join(err, derr)
	}
	out := ChannelProto(ch)
	s.publish(ctx, events.ServerScope(serverID), &serverv1.Event{Payload: &serverv1.Event_ChannelCreated{ChannelCreated: out}})
	return out, nil
}

// ListChannels lists a server's channels in order.
func (s *Service) ListChannels(ctx context.Context, caller, serverID string) ([]*serverv1.Channel, error) {
	if _, _, err := s.membership(ctx, serverID, caller); err != nil {
		return nil, err
	}
	chs, err := s.store.Channels(ctx, serverID)
	if err != nil {
		return nil, err
	}
	out := make([]*serverv1.Channel, len(chs))
	for i, c := range chs {
		out[i] = ChannelProto(c)
	}
	return out, nil
}

// channelFor returns a channel the caller may manage: NotFound for a
// missing channel or a non-member, CONVERSATION for a DM's channel,
// PERMISSION_DENIED below admin.
func (s *Service) channelFor(ctx context.Context, caller, channelID string) (access.ChannelDoc, error) {
	ch, err := s.store.Channel(ctx, channelID)
	if err != nil {
		if errorsIsNotFound(err) {
			return ch, errChannelNotFound()
		}
		return ch, err
	}
	if _, _, err := s.authorize(ctx, ch.ServerID, caller, serverv1.Role_ROLE_ADMIN, true); err != nil {
		if errorsIsNotFound(err) {
			return ch, errChannelNotFound()
		}
		return ch, err
	}
	return ch, nil
}

// UpdateChannel applies the fields named in paths (name, topic).
func (s *Service) UpdateChannel(ctx context.Context, caller, channelID string, paths []string, name, topic string) (*serverv1.Channel, error) {
	if len(paths) == 0 {
		return nil, errs.Invalid("update_mask", "list at least one field")
	}
	var np, tp *string
	for _, p := range paths {
		switch p {
		case "name":
			if name == "" {
				return nil, errs.Invalid("channel.name", "a channel name is 1-32 characters: lower-case words joined by dashes")
			}
			np = &name
		case "topic":
			tp = &topic
		default:
			return nil, errs.Invalid("update_mask", "field %q cannot be updated", p)
		}
	}
	if _, err := s.channelFor(ctx, caller, channelID); err != nil {
		return nil, err
	}
	ch, err := s.store.UpdateChannel(ctx, channelID, np, tp)
	if err != nil {
		if errorsIsNotFound(err) {
			return nil, errChannelNotFound()
		}
		return nil, err
	}
	out := ChannelProto(ch)
	s.publish(ctx, events.ServerScope(ch.ServerID), &serverv1.Event{Payload: &serverv1.Event_ChannelUpdated{ChannelUpdated: out}})
	return out, nil
}

// DeleteChannel deletes a channel with its messages and read states.
func (s *Service) DeleteChannel(ctx context.Context, caller, channelID string) error {
	ch, err := s.channelFor(ctx, caller, channelID)
	if err != nil {
		return err
	}
	ok, err := s.store.DeleteChannel(ctx, channelID)
	if err != nil {
		return err
	}
	if !ok {
		return errChannelNotFound()
	}
	if err := s.store.DeleteChannelData(context.WithoutCancel(ctx), channelID); err != nil {
		return err
	}
	s.publish(ctx, events.ServerScope(ch.ServerID), &serverv1.Event{Payload: &serverv1.Event_ChannelDeleted{ChannelDeleted: &serverv1.ChannelDeleted{ServerId: ch.ServerID, ChannelId: channelID}}})
	return nil
}

// ReorderChannels sets the order of every channel of a server.
func (s *Service) ReorderChannels(ctx context.Context, caller, serverID string, ids []string) ([]*serverv1.Channel, error) {
	if _, _, err := s.authorize(ctx, serverID, caller, serverv1.Role_ROLE_ADMIN, true); err != nil {
		return nil, err
	}
	chs, err := s.store.Channels(ctx, serverID)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]access.ChannelDoc, len(chs))
	for _, c := range chs {
		byID[c.ID.Hex()] = c
	}
	if len(ids) != len(chs) {
		return nil, errs.Invalid("channel_ids", "list each of the server's %d channels once", len(chs))
	}
	for _, id := range ids {
		if _, ok := byID[id]; !ok {
			return nil, errs.Invalid("channel_ids", "list each of the server's %d channels once", len(chs))
		}
	}
	out := make([]*serverv1.Channel, len(ids))
	var moved []*serverv1.Channel
	for i, id := range ids {
		c := byID[id]
		if c.Position != int32(i) {
			if err := s.store.SetChannelPosition(ctx, id, int32(i)); err != nil {
				return nil, err
			}
			c.Position = int32(i)
			moved = append(moved, ChannelProto(c))
			out[i] = moved[len(moved)-1]
			continue
		}
		out[i] = ChannelProto(c)
	}
	for _, c := range moved {
		s.publish(ctx, events.ServerScope(serverID), &serverv1.Event{Payload: &serverv1.Event_ChannelUpdated{ChannelUpdated: c}})
	}
	return out, nil
}
