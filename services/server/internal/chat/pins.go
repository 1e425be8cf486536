package chat

import (
	"context"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// MaxPins is how many messages one channel may have pinned.
const MaxPins = 50

// PinChange is a pin or unpin, announced to the channel's server. Clients
// show it as a system line ("alice pinned a message"); it is not stored as
// a message, so history, unread counts, search and stats see only messages.
type PinChange struct {
	ServerID, ChannelID, MessageID string
	// UserID and DisplayName are who pinned or unpinned it.
	UserID, DisplayName string
	// Pin is the pin with its message; set when pinned.
	Pin *PinView
}

// PinView is a pin with its message as clients see it.
type PinView struct {
	Pin
	Message View
}

// mayPin checks the caller reads the channel and may pin there: the owner
// and admins of a server, either participant of a conversation.
func (s *Service) mayPin(ctx context.Context, userID, channelID string) (guild.Channel, error) {
	ch, role, err := s.d.Access.Channel(ctx, userID, channelID)
	if err != nil {
		return guild.Channel{}, err
	}
	if role.AtLeast(guild.RoleAdmin) {
		return ch, nil
	}
	srv, err := s.d.Servers.Server(ctx, ch.ServerID)
	if err != nil {
		return guild.Channel{}, err
	}
	if srv.Kind != guild.KindDM {
		return guild.Channel{}, errs.PermissionDenied("only the owner and admins may pin messages")
	}
	return ch, nil
}

// PinMessage pins a message of the channel. Pinning a pinned message
// returns its pin and announces nothing; a 51st pin is refused with
// FAILED_PRECONDITION and nothing changes. The count is checked under the
// channel's lock, so concurrent pins never pass the limit.
func (s *Service) PinMessage(ctx context.Context, userID, channelID, messageID string) (PinView, error) {
	if _, err := s.mayPin(ctx, userID, channelID); err != nil {
		return PinView{}, err
	}
	m, err := s.reactionTarget(ctx, userID, channelID, messageID)
	if err != nil {
		return PinView{}, err
	}
	lock, err := s.d.Locks.Lock(ctx, channelID)
	if err != nil {
		return PinView{}, err
	}
	defer lock.Unlock("")
	pins, err := s.d.Pins.Pins(ctx, channelID, MaxPins+1)
	if err != nil {
		return PinView{}, err
	}
	for _, p := range pins {
		if p.MessageID == m.ID {
			return s.pinView(ctx, userID, p, m)
		}
	}
	if len(pins) >= MaxPins {
		return PinView{}, errs.FailedPrecondition("a channel has at most %d pinned messages; unpin one first", MaxPins).WithReason("TOO_MANY_PINS")
	}
	p := Pin{ChannelID: channelID, MessageID: m.ID, PinnedBy: userID, PinnedAt: now()}
	added, err := s.d.Pins.AddPin(ctx, p)
	if err != nil {
		return PinView{}, err
	}
	pv, err := s.pinView(ctx, userID, p, m)
	if err != nil || !added {
		return pv, err
	}
	names, _ := s.d.Names.DisplayNames(ctx, []string{userID})
	ev := pv
	ev.Message.Reactions = clearMe(ev.Message.Reactions)
	c := PinChange{ServerID: m.ServerID, ChannelID: channelID, MessageID: m.ID, UserID: userID, DisplayName: names[userID], Pin: &ev}
	s.announce(ctx, func(ctx context.Context) error { return s.d.Events.PinChanged(ctx, c, true) })
	return pv, nil
}

// UnpinMessage unpins a message of the channel; unpinning one that is not
// pinned changes nothing and announces nothing.
func (s *Service) UnpinMessage(ctx context.Context, userID, channelID, messageID string) error {
	if _, err := s.mayPin(ctx, userID, channelID); err != nil {
		return err
	}
	m, err := s.reactionTarget(ctx, userID, channelID, messageID)
	if err != nil {
		return err
	}
	lock, err := s.d.Locks.Lock(ctx, channelID)
	if err != nil {
		return err
	}
	defer lock.Unlock("")
	removed, err := s.d.Pins.RemovePin(ctx, channelID, m.ID)
	if err != nil || !removed {
		return err
	}
	names, _ := s.d.Names.DisplayNames(ctx, []string{userID})
	c := PinChange{ServerID: m.ServerID, ChannelID: channelID, MessageID: m.ID, UserID: userID, DisplayName: names[userID]}
	s.announce(ctx, func(ctx context.Context) error { return s.d.Events.PinChanged(ctx, c, false) })
	return nil
}

// ListPins returns the channel's pins with their messages, the latest pin
// first. Any member may read them.
func (s *Service) ListPins(ctx context.Context, userID, channelID string) ([]PinView, error) {
	if _, _, err := s.d.Access.Channel(ctx, userID, channelID); err != nil {
		return nil, err
	}
	pins, err := s.d.Pins.Pins(ctx, channelID, MaxPins)
	if err != nil || len(pins) == 0 {
		return nil, err
	}
	msgIDs := make([]string, len(pins))
	for i, p := range pins {
		msgIDs[i] = p.MessageID
	}
	ms, err := s.d.Messages.MessagesByID(ctx, msgIDs)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]Message, len(ms))
	for _, m := range ms {
		if m.ChannelID == channelID {
			byID[m.ID] = m
		}
	}
	var kept []Pin
	var found []Message
	for _, p := range pins {
		if m, ok := byID[p.MessageID]; ok { // a pin whose message is gone is left out
			kept = append(kept, p)
			found = append(found, m)
		}
	}
	vs, err := s.views(ctx, found)
	if err != nil {
		return nil, err
	}
	if err := s.decorate(ctx, userID, vs); err != nil {
		return nil, err
	}
	out := make([]PinView, len(kept))
	for i, p := range kept {
		out[i] = PinView{Pin: p, Message: vs[i]}
	}
	return out, nil
}

// pinView renders a pin with its message as userID sees it.
func (s *Service) pinView(ctx context.Context, userID string, p Pin, m Message) (PinView, error) {
	v, err := s.view(ctx, m)
	if err != nil {
		return PinView{}, err
	}
	vs := []View{v}
	if err := s.decorate(ctx, userID, vs); err != nil {
		return PinView{}, err
	}
	return PinView{Pin: p, Message: vs[0]}, nil
}

// clearMe returns summaries without Me, for events every member reads.
func clearMe(rs []ReactionSummary) []ReactionSummary {
	out := make([]ReactionSummary, len(rs))
	for i, r := range rs {
		out[i] = ReactionSummary{Emoji: r.Emoji, Count: r.Count}
	}
	return out
}
