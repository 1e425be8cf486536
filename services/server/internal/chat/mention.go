package chat

import (
	"context"
	"regexp"
	"slices"

	"github.com/accordchat/accord/services/server/internal/guild"
)

// Mentions in stored content are written as Discord writes them: <@user_id>
// for a user, <#channel_id> for a channel, and @everyone or @here for every
// member. On send and edit the server resolves them (mentions.go): only
// members of the message's server count as mentioned users, only channels
// of the same server as mentioned channels, and only an owner's or admin's
// @everyone/@here notifies; anything else stays plain text in the content
// and is not recorded.

// MaxMentions bounds the users (and the channels) one message mentions;
// mentions past it stay plain text.
const MaxMentions = 50

var (
	userMention    = regexp.MustCompile(`<@([0-9a-f]{24})>`)
	channelMention = regexp.MustCompile(`<#([0-9a-f]{24})>`)
	// @everyone and @here as words: not inside an address or a longer word.
	everyoneMention = regexp.MustCompile(`(^|[^\w@.])@(everyone|here)\b`)
)

// Mentions is what a message mentions, resolved.
type Mentions struct {
	// UserIDs are the mentioned members, in order of first mention.
	UserIDs []string
	// ChannelIDs are the mentioned channels of the same server.
	ChannelIDs []string
	// Everyone is set by an owner's or admin's @everyone or @here.
	Everyone bool
}

// Empty reports whether nothing is mentioned.
func (m Mentions) Empty() bool {
	return len(m.UserIDs) == 0 && len(m.ChannelIDs) == 0 && !m.Everyone
}

// parsedMentions is what the content names before validation.
type parsedMentions struct {
	users, channels []string
	everyone        bool
}

func parseMentions(text string) parsedMentions {
	var p parsedMentions
	for _, m := range userMention.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(p.users, m[1]) && len(p.users) < MaxMentions {
			p.users = append(p.users, m[1])
		}
	}
	for _, m := range channelMention.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(p.channels, m[1]) && len(p.channels) < MaxMentions {
			p.channels = append(p.channels, m[1])
		}
	}
	p.everyone = everyoneMention.MatchString(text)
	return p
}

// MentionResolver is what resolving mentions reads of the guild stores
// (guild.Store has it).
type MentionResolver interface {
	// SharedUsers returns those of userIDs who are members of one of serverIDs.
	SharedUsers(ctx context.Context, serverIDs, userIDs []string) (map[string]bool, error)
	// MemberUserIDs returns every member of the server.
	MemberUserIDs(ctx context.Context, serverID string) ([]string, error)
	// ChannelsOfServers returns the channels of the servers.
	ChannelsOfServers(ctx context.Context, serverIDs []string) ([]guild.Channel, error)
}

// resolveMentions keeps the mentions of text that count for a message of
// the author (with role) in ch.
func (s *Service) resolveMentions(ctx context.Context, ch guild.Channel, role guild.Role, text string) (Mentions, error) {
	p := parseMentions(text)
	var out Mentions
	if len(p.users) > 0 {
		members, err := s.d.Mentions.SharedUsers(ctx, []string{ch.ServerID}, p.users)
		if err != nil {
			return Mentions{}, err
		}
		for _, u := range p.users {
			if members[u] {
				out.UserIDs = append(out.UserIDs, u)
			}
		}
	}
	if len(p.channels) > 0 {
		chans, err := s.d.Mentions.ChannelsOfServers(ctx, []string{ch.ServerID})
		if err != nil {
			return Mentions{}, err
		}
		for _, c := range p.channels {
			if slices.ContainsFunc(chans, func(x guild.Channel) bool { return x.ID == c }) {
				out.ChannelIDs = append(out.ChannelIDs, c)
			}
		}
	}
	// Conversations have no owner or admin: @everyone stays plain there.
	out.Everyone = p.everyone && role.AtLeast(guild.RoleAdmin)
	return out, nil
}

// notified returns the users a message with mentions m notifies: the
// mentioned members, or every member for @everyone; never its author.
func (s *Service) notified(ctx context.Context, m Message) ([]string, error) {
	users := m.Mentions.UserIDs
	if m.Mentions.Everyone {
		all, err := s.d.Mentions.MemberUserIDs(ctx, m.ServerID)
		if err != nil {
			return nil, err
		}
		users = all
	}
	out := make([]string, 0, len(users))
	for _, u := range users {
		if u != m.AuthorID {
			out = append(out, u)
		}
	}
	return out, nil
}

// recordMentions writes the mention entries of a stored message (replacing
// those of an earlier version). A failure is logged: the message stands,
// and its mentions show in its content and event.
func (s *Service) recordMentions(ctx context.Context, m Message, replace bool) {
	ctx = context.WithoutCancel(ctx)
	if replace {
		if err := s.d.MentionIndex.DeleteMentions(ctx, m.ID); err != nil {
			s.d.Log.ErrorContext(ctx, "mention delete failed", "err", err, "message_id", m.ID)
			return
		}
	}
	users, err := s.notified(ctx, m)
	if err == nil && len(users) > 0 {
		ms := make([]Mention, len(users))
		for i, u := range users {
			ms[i] = Mention{UserID: u, MessageID: m.ID, ChannelID: m.ChannelID, ServerID: m.ServerID, AuthorID: m.AuthorID}
		}
		err = s.d.MentionIndex.AddMentions(ctx, ms)
	}
	if err != nil {
		s.d.Log.ErrorContext(ctx, "mention record failed", "err", err, "message_id", m.ID)
	}
}
