package guild

import (
	"context"
	"errors"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// CreateChannel adds a channel at the end of the list (owner and admins).
func (s *Service) CreateChannel(ctx context.Context, caller, serverID, name, topic string) (Channel, error) {
	if _, _, err := s.authorize(ctx, serverID, caller, RoleAdmin, true); err != nil {
		return Channel{}, err
	}
	chs, err := s.store.Channels(ctx, serverID)
	if err != nil {
		return Channel{}, err
	}
	if len(chs) >= MaxChannels {
		return Channel{}, errs.FailedPrecondition("a server has at most %d channels", MaxChannels).WithReason("TOO_MANY_CHANNELS")
	}
	pos := int32(0)
	if len(chs) > 0 {
		pos = chs[len(chs)-1].Position + 1
	}
	ch := Channel{ID: ids.New(), ServerID: serverID, Name: name, Topic: topic, Position: pos, CreatedAt: s.now()}
	if err := s.store.CreateChannel(ctx, ch); err != nil {
		return Channel{}, err
	}
	// Re-check after the write: a server deleted meanwhile must not keep
	// an orphan channel.
	if _, err := s.store.Server(ctx, serverID); err != nil {
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		_, derr := s.store.DeleteChannel(cctx, ch.ID)
		if errorsIsNotFound(err) {
			err = errServerNotFound()
		}
		return Channel{}, errors.Join(err, derr)
	}
	s.publish(ctx, func(ctx context.Context) error { return s.events.ChannelCreated(ctx, ch) })
	return ch, nil
}

// ListChannels lists a server's channels in order.
func (s *Service) ListChannels(ctx context.Context, caller, serverID string) ([]Channel, error) {
	if _, _, err := s.membership(ctx, serverID, caller); err != nil {
		return nil, err
	}
	return s.store.Channels(ctx, serverID)
}

// channelFor returns a channel the caller may manage: NotFound for a
// missing channel or a non-member, CONVERSATION for a DM's channel,
// PERMISSION_DENIED below admin.
func (s *Service) channelFor(ctx context.Context, caller, channelID string) (Channel, error) {
	ch, err := s.store.Channel(ctx, channelID)
	if err != nil {
		if errorsIsNotFound(err) {
			return ch, errChannelNotFound()
		}
		return ch, err
	}
	if _, _, err := s.authorize(ctx, ch.ServerID, caller, RoleAdmin, true); err != nil {
		if errorsIsNotFound(err) {
			return ch, errChannelNotFound()
		}
		return ch, err
	}
	return ch, nil
}

// UpdateChannel applies the fields named in paths (name, topic).
func (s *Service) UpdateChannel(ctx context.Context, caller, channelID string, paths []string, name, topic string) (Channel, error) {
	if len(paths) == 0 {
		return Channel{}, errs.Invalid("update_mask", "list at least one field")
	}
	var np, tp *string
	for _, p := range paths {
		switch p {
		case "name":
			if name == "" {
				return Channel{}, errs.Invalid("channel.name", "a channel name is 1-32 characters: lower-case words joined by dashes")
			}
			np = &name
		case "topic":
			tp = &topic
		default:
			return Channel{}, errs.Invalid("update_mask", "field %q cannot be updated", p)
		}
	}
	if _, err := s.channelFor(ctx, caller, channelID); err != nil {
		return Channel{}, err
	}
	ch, err := s.store.UpdateChannel(ctx, channelID, np, tp)
	if err != nil {
		if errorsIsNotFound(err) {
			return Channel{}, errChannelNotFound()
		}
		return Channel{}, err
	}
	s.publish(ctx, func(ctx context.Context) error { return s.events.ChannelUpdated(ctx, ch) })
	return ch, nil
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
	s.publish(ctx, func(ctx context.Context) error { return s.events.ChannelDeleted(ctx, ch.ServerID, channelID) })
	return nil
}

// ReorderChannels sets the order of every channel of a server.
func (s *Service) ReorderChannels(ctx context.Context, caller, serverID string, order []string) ([]Channel, error) {
	if _, _, err := s.authorize(ctx, serverID, caller, RoleAdmin, true); err != nil {
		return nil, err
	}
	chs, err := s.store.Channels(ctx, serverID)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]Channel, len(chs))
	for _, c := range chs {
		byID[c.ID] = c
	}
	if len(order) != len(chs) {
		return nil, errs.Invalid("channel_ids", "list each of the server's %d channels once", len(chs))
	}
	for _, id := range order {
		if _, ok := byID[id]; !ok {
			return nil, errs.Invalid("channel_ids", "list each of the server's %d channels once", len(chs))
		}
	}
	out := make([]Channel, len(order))
	var moved []Channel
	for i, id := range order {
		c := byID[id]
		if c.Position != int32(i) {
			if err := s.store.SetChannelPosition(ctx, id, int32(i)); err != nil {
				return nil, err
			}
			c.Position = int32(i)
			moved = append(moved, c)
		}
		out[i] = c
	}
	for _, c := range moved {
		s.publish(ctx, func(ctx context.Context) error { return s.events.ChannelUpdated(ctx, c) })
	}
	return out, nil
}
