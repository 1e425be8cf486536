package chat

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/accordchat/accord/services/server/internal/guild"
)

// MarkRead moves the caller's read marker in a channel forward to messageID
// (never back) and tells the caller's other clients.
func (s *Service) MarkRead(ctx context.Context, userID, channelID, messageID string) (ReadState, error) {
	ch, _, err := s.d.Access.Channel(ctx, userID, channelID)
	if err != nil {
		return ReadState{}, err
	}
	if _, err := s.message(ctx, channelID, messageID); err != nil {
		return ReadState{}, err
	}
	moved, err := s.d.ReadStates.AdvanceReadMarker(ctx, ReadMarker{
		UserID: userID, ChannelID: channelID, ServerID: ch.ServerID, LastReadID: messageID, UpdatedAt: time.Now().UTC(),
	})
	if err != nil {
		return ReadState{}, err
	}
	last, err := s.d.ReadStates.ReadMarker(ctx, userID, channelID)
	if err != nil {
		return ReadState{}, err
	}
	settings, err := s.settings(ctx, userID)
	if err != nil {
		return ReadState{}, err
	}
	st, err := s.stateOf(ctx, userID, ch, last, settings)
	if err != nil {
		return ReadState{}, err
	}
	if moved {
		s.announce(ctx, func(ctx context.Context) error { return s.d.Events.ReadStateUpdated(ctx, userID, st) })
	}
	return st, nil
}

// stateOf counts what is unread after lastRead by reading at most
// UnreadCap+1 messages, so a long unread backlog costs no more than 101.
// The user's own messages are never unread to them.
func (s *Service) stateOf(ctx context.Context, userID string, ch guild.Channel, lastRead string, settings userSettings) (ReadState, error) {
	mentions, err := s.d.MentionIndex.CountMentions(ctx, userID, ch.ID, lastRead, UnreadCap+1)
	if err != nil {
		return ReadState{}, err
	}
	if c, ok := s.d.Messages.(UnreadCounter); ok {
		unread, newest, err := c.UnreadCount(ctx, ch.ID, lastRead, userID, UnreadCap+1)
		if err != nil {
			return ReadState{}, err
		}
		return newReadState(ch, lastRead, settings, mentions, UnreadCount{Unread: unread, NewestID: newest}), nil
	}
	refs, err := s.d.Messages.NewestMessages(ctx, ch.ID, lastRead, UnreadCap+1)
	if err != nil {
		return ReadState{}, err
	}
	var count UnreadCount
	for _, m := range refs {
		if m.AuthorID != userID {
			count.Unread++
		}
	}
	if len(refs) > 0 {
		count.NewestID = refs[0].ID
	} else if lastRead != "" {
		// Nothing after the marker: the newest message is at or before it.
		last, err := s.d.Messages.NewestMessages(ctx, ch.ID, "", 1)
		if err != nil {
			return ReadState{}, err
		}
		if len(last) > 0 {
			count.NewestID = last[0].ID
		}
	}
	return newReadState(ch, lastRead, settings, mentions, count), nil
}

// newReadState is the read state of ch from its counts, capped at
// UnreadCap, and the user's settings.
func newReadState(ch guild.Channel, lastRead string, settings userSettings, mentions int, unread UnreadCount) ReadState {
	st := ReadState{ServerID: ch.ServerID, ChannelID: ch.ID, LastReadID: lastRead, LastMessageID: unread.NewestID}
	st.Level, st.Muted = settings.of(ch.ServerID, ch.ID)
	st.MentionCount = min(mentions, UnreadCap)
	st.UnreadCount = min(unread.Unread, UnreadCap)
	return st
}

// ListReadStates returns the caller's read state in every channel of their
// servers, or of one server.
func (s *Service) ListReadStates(ctx context.Context, userID, serverID string) ([]ReadState, error) {
	var serverIDs []string
	if serverID != "" {
		if _, err := s.d.Access.Role(ctx, serverID, userID); err != nil {
			return nil, err
		}
		serverIDs = []string{serverID}
	} else {
		ids, err := s.d.Access.ServerIDs(ctx, userID)
		if err != nil {
			return nil, err
		}
		serverIDs = ids
	}
	if len(serverIDs) == 0 {
		return nil, nil
	}
	chans, err := s.d.Channels.ChannelsOfServers(ctx, serverIDs)
	if err != nil || len(chans) == 0 {
		return nil, err
	}
	chIDs := make([]string, len(chans))
	for i, c := range chans {
		chIDs[i] = c.ID
	}
	last, err := s.d.ReadStates.ReadMarkers(ctx, userID, chIDs)
	if err != nil {
		return nil, err
	}
	settings, err := s.settings(ctx, userID)
	if err != nil {
		return nil, err
	}
	if out, ok, err := s.batchStates(ctx, userID, chans, last, settings); ok || err != nil {
		return out, err
	}
	// Stores without batch counts (MongoDB) answer per channel: a few at a
	// time, so a first screen of hundreds of channels waits for a few
	// round trips rather than for all of them in a row.
	out := make([]ReadState, len(chans))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(stateConcurrency)
	for i, c := range chans {
		g.Go(func() error {
			st, err := s.stateOf(gctx, userID, c, last[c.ID], settings)
			out[i] = st
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// stateConcurrency is how many channels' read states ListReadStates counts
// at once on a store without batch counts.
const stateConcurrency = 8

// batchStates is ListReadStates's counting on stores that count many
// channels in one read (UnreadBatcher and MentionBatcher); ok is false on
// the others. It counts what stateOf counts, channel by channel.
func (s *Service) batchStates(ctx context.Context, userID string, chans []guild.Channel, last map[string]string, settings userSettings) ([]ReadState, bool, error) {
	ub, ok := s.d.Messages.(UnreadBatcher)
	if !ok {
		return nil, false, nil
	}
	mb, ok := s.d.MentionIndex.(MentionBatcher)
	if !ok {
		return nil, false, nil
	}
	qs := make([]UnreadQuery, len(chans))
	for i, c := range chans {
		qs[i] = UnreadQuery{ChannelID: c.ID, After: last[c.ID]}
	}
	mentions, err := mb.CountMentionsIn(ctx, userID, qs, UnreadCap+1)
	if err != nil {
		return nil, true, err
	}
	unread, err := ub.UnreadCounts(ctx, userID, qs, UnreadCap+1)
	if err != nil {
		return nil, true, err
	}
	out := make([]ReadState, len(chans))
	for i, c := range chans {
		out[i] = newReadState(c, qs[i].After, settings, mentions[i], unread[i])
	}
	return out, true, nil
}
