package chat

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/paging"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// Limits of reactions.
const (
	// MaxReactionEmojis is how many different emojis one message may carry.
	MaxReactionEmojis = 20
	// MaxEmojiLen bounds an emoji in characters (the longest ZWJ sequences
	// are about ten code points).
	MaxEmojiLen = 32
	// DefaultReactorsPage and MaxReactorsPage size ListReactions pages.
	DefaultReactorsPage = 50
	MaxReactorsPage     = 100
)

// ReactionSummary is one emoji's reactions on a message.
type ReactionSummary struct {
	Emoji string
	Count int
	// Me tells whether the user the view was made for reacted with it.
	Me bool
}

// ReactionChange is an added or removed reaction, announced with the
// emoji's count after the change.
type ReactionChange struct {
	ServerID, ChannelID, MessageID string
	Emoji, UserID                  string
	Count                          int
}

// Reactor is one user who reacted with an emoji.
type Reactor struct {
	UserID      string
	DisplayName string
	At          time.Time
}

// emoji checks a reaction's emoji: exactly one Unicode emoji (a sequence
// with skin tones, ZWJ joins, flags and keycaps counts as one).
func (s *Service) emoji(e string) (string, error) {
	if e == "" {
		return "", errs.Invalid("emoji", "must not be empty")
	}
	if !utf8.ValidString(e) || utf8.RuneCountInString(e) > MaxEmojiLen || s.d.IsEmoji == nil || !s.d.IsEmoji(e) {
		return "", errs.Invalid("emoji", "must be one Unicode emoji")
	}
	return e, nil
}

// reactionTarget checks the caller reads the channel and the message is
// one of its messages; it returns the message.
func (s *Service) reactionTarget(ctx context.Context, userID, channelID, messageID string) (Message, error) {
	if _, _, err := s.d.Access.Channel(ctx, userID, channelID); err != nil {
		return Message{}, err
	}
	if !ids.Valid(strings.ToLower(messageID)) {
		return Message{}, errs.NotFound("message not found")
	}
	return s.message(ctx, channelID, strings.ToLower(messageID))
}

// React adds (add true) or removes the user's reaction with an emoji to a
// message and returns the emoji's summary after the change. Adding twice or
// removing what is not there changes nothing and announces nothing.
//
// Every change of a channel's reactions is made under the channel's lock:
// the 20-emoji limit is checked and the new count read and announced
// before the next change, so the counts in the channel's events are in the
// order of the changes and the last one is the stored count.
func (s *Service) React(ctx context.Context, userID, channelID, messageID, emoji string, add bool) (ReactionSummary, error) {
	e, err := s.emoji(emoji)
	if err != nil {
		return ReactionSummary{}, err
	}
	m, err := s.reactionTarget(ctx, userID, channelID, messageID)
	if err != nil {
		return ReactionSummary{}, err
	}
	lock, err := s.d.Locks.Lock(ctx, channelID)
	if err != nil {
		return ReactionSummary{}, err
	}
	defer lock.Unlock("")
	counts, err := s.d.Reactions.ReactionCounts(ctx, []string{m.ID})
	if err != nil {
		return ReactionSummary{}, err
	}
	var changed bool
	if add {
		if !slices.ContainsFunc(counts, func(c ReactionCount) bool { return c.Emoji == e }) && len(counts) >= MaxReactionEmojis {
			err := errs.FailedPrecondition("emoji: a message carries at most %d different reactions", MaxReactionEmojis).WithReason("TOO_MANY_REACTIONS")
			err.Field = "emoji"
			return ReactionSummary{}, err
		}
		changed, err = s.d.Reactions.AddReaction(ctx, Reaction{MessageID: m.ID, ChannelID: m.ChannelID, Emoji: e, UserID: userID, CreatedAt: now()})
	} else {
		changed, err = s.d.Reactions.RemoveReaction(ctx, m.ID, e, userID)
	}
	if err != nil {
		return ReactionSummary{}, err
	}
	n := 0
	if changed {
		after, err := s.d.Reactions.ReactionCounts(ctx, []string{m.ID})
		if err != nil {
			return ReactionSummary{}, err
		}
		counts = after
	}
	for _, c := range counts {
		if c.Emoji == e {
			n = c.Count
		}
	}
	if changed {
		ch := ReactionChange{ServerID: m.ServerID, ChannelID: m.ChannelID, MessageID: m.ID, Emoji: e, UserID: userID, Count: n}
		s.announce(ctx, func(ctx context.Context) error { return s.d.Events.ReactionChanged(ctx, ch, add) })
	}
	// Changed or not, the user's reaction is there after an add and gone
	// after a remove.
	return ReactionSummary{Emoji: e, Count: n, Me: add && n > 0}, nil
}

// Reactors pages through the users who reacted to a message with an emoji,
// in user id order.
func (s *Service) Reactors(ctx context.Context, userID, channelID, messageID, emoji string, pageSize int32, pageToken string) ([]Reactor, string, error) {
	e, err := s.emoji(emoji)
	if err != nil {
		return nil, "", err
	}
	n, err := paging.Size(pageSize, DefaultReactorsPage, MaxReactorsPage)
	if err != nil {
		return nil, "", err
	}
	after, err := paging.After(pageToken, ids.Valid)
	if err != nil {
		return nil, "", err
	}
	m, err := s.reactionTarget(ctx, userID, channelID, messageID)
	if err != nil {
		return nil, "", err
	}
	rs, err := s.d.Reactions.Reactors(ctx, m.ID, e, after, n+1)
	if err != nil {
		return nil, "", err
	}
	rs, next := paging.Trim(rs, n, func(x Reaction) string { return x.UserID })
	uids := make([]string, len(rs))
	for i, r := range rs {
		uids[i] = r.UserID
	}
	names, _ := s.d.Names.DisplayNames(ctx, uids)
	out := make([]Reactor, len(rs))
	for i, r := range rs {
		out[i] = Reactor{UserID: r.UserID, DisplayName: names[r.UserID], At: r.CreatedAt}
	}
	return out, next, nil
}

// decorate adds the reaction summaries (with Me for userID, "" for no one)
// and the pinned flags to views of one channel's messages.
func (s *Service) decorate(ctx context.Context, userID string, vs []View) error {
	if len(vs) == 0 {
		return nil
	}
	msgIDs := make([]string, len(vs))
	for i, v := range vs {
		msgIDs[i] = v.ID
	}
	counts, err := s.d.Reactions.ReactionCounts(ctx, msgIDs)
	if err != nil {
		return err
	}
	mine := map[[2]string]bool{}
	if userID != "" && len(counts) > 0 {
		rs, err := s.d.Reactions.UserReactions(ctx, userID, msgIDs)
		if err != nil {
			return err
		}
		for _, r := range rs {
			mine[[2]string{r.MessageID, r.Emoji}] = true
		}
	}
	slices.SortStableFunc(counts, func(a, b ReactionCount) int {
		if c := a.First.Compare(b.First); c != 0 {
			return c
		}
		return strings.Compare(a.Emoji, b.Emoji)
	})
	byMsg := map[string][]ReactionSummary{}
	for _, c := range counts {
		byMsg[c.MessageID] = append(byMsg[c.MessageID], ReactionSummary{Emoji: c.Emoji, Count: c.Count, Me: mine[[2]string{c.MessageID, c.Emoji}]})
	}
	pinned, err := s.d.Pins.PinnedAmong(ctx, vs[0].ChannelID, msgIDs)
	if err != nil {
		return err
	}
	for i := range vs {
		vs[i].Reactions = byMsg[vs[i].ID]
		vs[i].Pinned = slices.Contains(pinned, vs[i].ID)
	}
	return nil
}
