package chat

import (
	"context"
	"slices"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/paging"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// Mention inbox page sizes.
const (
	DefaultMentionPage = 25
	MaxMentionPage     = 100
)

// ServerSettings are one user's notification settings of one server.
type ServerSettings struct {
	ServerID string
	// Level is never LevelDefault.
	Level int
	// MutedChannelIDs are the muted channels, in id order.
	MutedChannelIDs []string
}

// userSettings are all of one user's settings, by server.
type userSettings map[string]*ServerSettings

func (u userSettings) of(serverID, channelID string) (level int, muted bool) {
	st := u.server(serverID)
	return st.Level, slices.Contains(st.MutedChannelIDs, channelID)
}

// server returns the settings of a server, the default when none is stored.
func (u userSettings) server(serverID string) ServerSettings {
	if st, ok := u[serverID]; ok {
		return *st
	}
	return ServerSettings{ServerID: serverID, Level: LevelAll}
}

// settings loads every notification setting of the user.
func (s *Service) settings(ctx context.Context, userID string) (userSettings, error) {
	rows, err := s.d.Notify.NotifySettings(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := userSettings{}
	for _, r := range rows {
		st, ok := out[r.ServerID]
		if !ok {
			st = &ServerSettings{ServerID: r.ServerID, Level: LevelAll}
			out[r.ServerID] = st
		}
		if r.ChannelID == "" {
			if r.Level != LevelDefault {
				st.Level = r.Level
			}
		} else if r.Muted {
			st.MutedChannelIDs = append(st.MutedChannelIDs, r.ChannelID)
		}
	}
	for _, st := range out {
		slices.Sort(st.MutedChannelIDs)
	}
	return out, nil
}

// NotificationSettings returns the user's settings of the servers they are
// a member of where they differ from the default.
func (s *Service) NotificationSettings(ctx context.Context, userID string) ([]ServerSettings, error) {
	all, err := s.settings(ctx, userID)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	mine, err := s.d.Access.ServerIDs(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []ServerSettings
	for _, id := range mine {
		if st, ok := all[id]; ok && (st.Level != LevelAll || len(st.MutedChannelIDs) > 0) {
			out = append(out, *st)
		}
	}
	return out, nil
}

// SetServerLevel sets the user's notification level of a server they are
// a member of (LevelDefault restores the default).
func (s *Service) SetServerLevel(ctx context.Context, userID, serverID string, level int) (ServerSettings, error) {
	if level < LevelDefault || level > LevelNothing {
		return ServerSettings{}, errs.Invalid("level", "not a notification level")
	}
	if _, err := s.d.Access.Role(ctx, serverID, userID); err != nil {
		return ServerSettings{}, err
	}
	if err := s.d.Notify.PutNotifySetting(ctx, NotifySetting{UserID: userID, ServerID: serverID, Level: level}); err != nil {
		return ServerSettings{}, err
	}
	return s.settingsChanged(ctx, userID, serverID)
}

// SetChannelMuted mutes or unmutes a channel for the user.
func (s *Service) SetChannelMuted(ctx context.Context, userID, channelID string, muted bool) (ServerSettings, error) {
	ch, _, err := s.d.Access.Channel(ctx, userID, channelID)
	if err != nil {
		return ServerSettings{}, err
	}
	if err := s.d.Notify.PutNotifySetting(ctx, NotifySetting{UserID: userID, ServerID: ch.ServerID, ChannelID: ch.ID, Muted: muted}); err != nil {
		return ServerSettings{}, err
	}
	return s.settingsChanged(ctx, userID, ch.ServerID)
}

// settingsChanged returns the user's settings of a server after a change
// and tells the user's clients.
func (s *Service) settingsChanged(ctx context.Context, userID, serverID string) (ServerSettings, error) {
	all, err := s.settings(ctx, userID)
	if err != nil {
		return ServerSettings{}, err
	}
	st := all.server(serverID)
	s.announce(ctx, func(ctx context.Context) error { return s.d.Events.NotificationSettingsUpdated(ctx, userID, st) })
	return st, nil
}

// ListMentions returns one page of the messages that mention the user,
// newest first, leaving out those of servers the user has left and those
// deleted since, and the token of the next page ("" at the end).
func (s *Service) ListMentions(ctx context.Context, userID string, pageSize int, pageToken string) ([]View, string, error) {
	n, err := paging.Size(int32(min(pageSize, MaxMentionPage+1)), DefaultMentionPage, MaxMentionPage)
	if err != nil {
		return nil, "", err
	}
	before, err := paging.After(pageToken, ids.Valid)
	if err != nil {
		return nil, "", err
	}
	mine, err := s.d.Access.ServerIDs(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	member := make(map[string]bool, len(mine))
	for _, id := range mine {
		member[id] = true
	}
	// Entries of servers left are skipped; a page reads a bounded number
	// of entries and may come back short, with a token to go on.
	var out []Message
	next := ""
	for range 4 {
		es, err := s.d.MentionIndex.ListMentions(ctx, userID, before, n+1)
		if err != nil {
			return nil, "", err
		}
		more := len(es) > n
		if more {
			es = es[:n]
		}
		var want []string
		for _, e := range es {
			if member[e.ServerID] {
				want = append(want, e.MessageID)
			}
		}
		ms, err := s.d.Messages.MessagesByID(ctx, want)
		if err != nil {
			return nil, "", err
		}
		got := make(map[string]Message, len(ms))
		for _, m := range ms {
			got[m.ID] = m
		}
		used := 0
		for _, e := range es {
			if len(out) == n {
				break
			}
			used++
			before = e.MessageID
			if m, ok := got[e.MessageID]; ok && member[m.ServerID] {
				out = append(out, m)
			}
		}
		if !more && used == len(es) {
			next = "" // the end of the list
			break
		}
		next = before
		if len(out) == n {
			break
		}
	}
	vs, err := s.views(ctx, out)
	if err != nil {
		return nil, "", err
	}
	return vs, paging.Token(next), nil
}
