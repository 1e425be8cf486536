package guild

import (
	"context"
)

// MemberReader is the part of the stores that membership checks read.
type MemberReader interface {
	Member(ctx context.Context, serverID, userID string) (Member, error)
	Memberships(ctx context.Context, userID string, kind Kind, after string, limit int) ([]Member, error)
	Channel(ctx context.Context, id string) (Channel, error)
}

// Access answers the question every call of the chat half asks first: may
// this user see this server or channel, and with what role? A user who is
// not a member gets errs.NotFound, exactly as if the server or channel did
// not exist.
type Access struct {
	store MemberReader
}

// NewAccess returns an Access over store.
func NewAccess(store MemberReader) *Access { return &Access{store: store} }

// Role returns the user's role in the server, or NotFound("server not
// found") when the user is not a member (or the server does not exist).
func (a *Access) Role(ctx context.Context, serverID, userID string) (Role, error) {
	m, err := a.store.Member(ctx, serverID, userID)
	if errorsIsNotFound(err) {
		return RoleNone, errServerNotFound()
	}
	if err != nil {
		return RoleNone, err
	}
	return m.Role, nil
}

// Channel returns a channel and the user's role in its server, or
// NotFound("channel not found") when there is no such channel or the user
// is not a member of its server.
func (a *Access) Channel(ctx context.Context, userID, channelID string) (Channel, Role, error) {
	ch, err := a.store.Channel(ctx, channelID)
	if errorsIsNotFound(err) {
		return Channel{}, RoleNone, errChannelNotFound()
	}
	if err != nil {
		return Channel{}, RoleNone, err
	}
	role, err := a.Role(ctx, ch.ServerID, userID)
	if err != nil {
		if errorsIsNotFound(err) {
			return Channel{}, RoleNone, errChannelNotFound()
		}
		return Channel{}, RoleNone, err
	}
	return ch, role, nil
}

// ServerIDs returns the ids of every server (and conversation) the user
// belongs to, in join order.
func (a *Access) ServerIDs(ctx context.Context, userID string) ([]string, error) {
	const page = 5000
	var out []string
	after := ""
	for {
		ms, err := a.store.Memberships(ctx, userID, "", after, page)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			out = append(out, m.ServerID)
		}
		if len(ms) < page {
			return out, nil
		}
		after = ms[len(ms)-1].ID
	}
}
