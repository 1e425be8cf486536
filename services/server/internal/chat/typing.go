package chat

import (
	"context"
	"time"
)

// Typing tells the channel's other members that the user is typing and
// returns until when the indicator shows. It is published, never stored: a
// reconnecting client does not need old typing.
func (s *Service) Typing(ctx context.Context, userID, channelID string) (time.Time, error) {
	ch, _, err := s.d.Access.Channel(ctx, userID, channelID)
	if err != nil {
		return time.Time{}, err
	}
	at := time.Now()
	until := at.Add(s.cfg.TypingTTL).Truncate(time.Millisecond) // as windows keep it
	if s.cfg.TypingEvery > 0 {
		// A client that calls in a loop reaches the channel's members once
		// per TypingEvery, with the expiry of that announcement.
		opened, shown, err := s.d.Typing.Open(ctx, channelID, userID, until, s.cfg.TypingEvery)
		if err != nil {
			return time.Time{}, err
		}
		if !opened {
			return shown, nil
		}
	}
	names, _ := s.d.Names.DisplayNames(ctx, []string{userID})
	if err := s.d.Events.Typing(ctx, Typing{
		ServerID: ch.ServerID, ChannelID: channelID, UserID: userID, DisplayName: names[userID], At: at, Until: until,
	}); err != nil {
		return time.Time{}, err
	}
	return until, nil
}

// typingDone ends the user's typing window in the channel: a sent message
// ends the indicator on the other side, so their next keystroke must be
// announced at once.
func (s *Service) typingDone(ctx context.Context, channelID, userID string) {
	if s.cfg.TypingEvery <= 0 {
		return
	}
	if err := s.d.Typing.Close(context.WithoutCancel(ctx), channelID, userID); err != nil {
		s.d.Log.WarnContext(ctx, "typing window not cleared", "err", err)
	}
}
