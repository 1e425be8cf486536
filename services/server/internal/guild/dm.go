package guild

import (
	"context"
	"slices"
	"strings"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// DMKey is the unique key of the conversation between two users: their
// ids sorted and joined with ":".
func DMKey(a, b string) string {
	ids := []string{a, b}
	slices.Sort(ids)
	return strings.Join(ids, ":")
}

// OpenConversation finds or creates the private conversation of caller and
// a friend. The store's unique DMKey makes concurrent opens converge on one
// server record; the memberships and the single channel (whose id is the
// conversation's id) are then ensured idempotently, so a call that finds a
// half-built conversation completes it.
func (s *Service) OpenConversation(ctx context.Context, caller, other string) (Server, Channel, bool, error) {
	if other == caller {
		return Server{}, Channel{}, false, errs.Invalid("user_id", "you cannot open a conversation with yourself")
	}
	rel, err := s.users.Relation(ctx, caller, other)
	if err != nil {
		return Server{}, Channel{}, false, err
	}
	// One answer for strangers, unknown users and blocks alike, so that a
	// block is not revealed.
	if !rel.Exists || !rel.Friend || rel.Blocked {
		return Server{}, Channel{}, false, errs.FailedPrecondition("you can only open a conversation with a friend").WithReason("NOT_FRIENDS")
	}
	key := DMKey(caller, other)
	users := strings.Split(key, ":")
	now := s.now()
	srv := Server{ID: ids.New(), Kind: KindDM, DMKey: key, DMUserIDs: users, MemberCount: 2, CreatedAt: now}
	created := true
	if err := s.store.CreateServer(ctx, srv); err != nil {
		if !errorsIsAlreadyExists(err) {
			return Server{}, Channel{}, false, err
		}
		created = false
		if srv, err = s.store.ServerByDMKey(ctx, key); err != nil {
			return Server{}, Channel{}, false, err
		}
	}
	sid := srv.ID
	for _, u := range users {
		m := Member{ID: ids.New(), ServerID: sid, UserID: u, Role: RoleMember, JoinedAt: now}
		if err := s.store.CreateMember(ctx, m, KindDM); err != nil && !errorsIsAlreadyExists(err) {
			return Server{}, Channel{}, false, err
		}
	}
	ch := Channel{ID: srv.ID, ServerID: sid, Name: "dm", CreatedAt: now}
	if err := s.store.CreateChannel(ctx, ch); err != nil {
		if !errorsIsAlreadyExists(err) {
			return Server{}, Channel{}, false, err
		}
		if ch, err = s.store.Channel(ctx, sid); err != nil {
			return Server{}, Channel{}, false, err
		}
	}
	if created {
		for _, u := range users {
			s.publish(ctx, func(ctx context.Context) error { return s.events.ServerJoined(ctx, u, srv, RoleMember) })
		}
	}
	return srv, ch, created, nil
}

// FilterSharedUsers returns, in request order and without repeats, those of
// candidates who share a server or a conversation with userID (userID
// itself too, when listed and a member of anything). It reads the user's
// memberships, then asks which candidates belong to any of those servers.
func (s *Service) FilterSharedUsers(ctx context.Context, userID string, candidates []string) ([]string, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	sids, err := NewAccess(s.store).ServerIDs(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(sids) == 0 {
		return nil, nil
	}
	shared, err := s.store.SharedUsers(ctx, sids, candidates)
	if err != nil {
		return nil, err
	}
	out := []string{}
	seen := map[string]bool{}
	for _, c := range candidates {
		if shared[c] && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// GetMemberRole tells a user's role in a server and its name;
// ROLE_UNSPECIFIED and no name when not a member.
func (s *Service) GetMemberRole(ctx context.Context, serverID, userID string) (Role, string, error) {
	m, srv, err := s.membership(ctx, serverID, userID)
	if err != nil {
		if errorsIsNotFound(err) {
			return RoleNone, "", nil
		}
		return 0, "", err
	}
	return m.Role, srv.Name, nil
}
