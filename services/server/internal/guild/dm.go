package guild

import (
	"context"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/services/server/internal/access"
)

// DMKey is the unique key of the conversation between two users: their
// ids sorted and joined with ":".
func DMKey(a, b string) string {
	ids := []string{a, b}
	slices.Sort(ids)
	return strings.Join(ids, ":")
}

// OpenConversation finds or creates the private conversation of caller and
// a friend. The unique dm_key index makes concurrent opens converge on one
// server document; the memberships and the single channel (whose id is the
// conversation's id) are then ensured idempotently, so a call that finds a
// half-built conversation completes it.
func (s *Service) OpenConversation(ctx context.Context, caller, other string) (*serverv1.Server, *serverv1.Channel, bool, error) {
	if other == caller {
		return nil, nil, false, errs.Invalid("user_id", "you cannot open a conversation with yourself")
	}
	rel, err := s.users.Relation(ctx, caller, other)
	if err != nil {
		return nil, nil, false, err
	}
	// One answer for strangers, unknown users and blocks alike, so that a
	// block is not revealed.
	if !rel.Exists || !rel.Friend || rel.Blocked {
		return nil, nil, false, errs.FailedPrecondition("you can only open a conversation with a friend").WithReason("NOT_FRIENDS")
	}
	key := DMKey(caller, other)
	ids := strings.Split(key, ":")
	now := s.now()
	srv := access.ServerDoc{ID: bson.NewObjectID(), Kind: access.KindDM, DMKey: key, DMUserIDs: ids, MemberCount: 2, CreatedAt: now}
	created := true
	if err := s.store.InsertServer(ctx, srv); err != nil {
		if !errorsIsAlreadyExists(err) {
			return nil, nil, false, err
		}
		created = false
		if srv, err = s.store.ServerByDMKey(ctx, key); err != nil {
			return nil, nil, false, err
		}
	}
	sid := srv.ID.Hex()
	for _, u := range ids {
		m := access.MemberDoc{ID: bson.NewObjectID(), ServerID: sid, UserID: u, Role: int32(serverv1.Role_ROLE_MEMBER), JoinedAt: now}
		if err := s.store.InsertMember(ctx, m, access.KindDM); err != nil && !errorsIsAlreadyExists(err) {
			return nil, nil, false, err
		}
	}
	ch := access.ChannelDoc{ID: srv.ID, ServerID: sid, Name: "dm", CreatedAt: now}
	if err := s.store.InsertChannel(ctx, ch); err != nil {
		if !errorsIsAlreadyExists(err) {
			return nil, nil, false, err
		}
		if ch, err = s.store.Channel(ctx, sid); err != nil {
			return nil, nil, false, err
		}
	}
	out := ServerProto(srv, serverv1.Role_ROLE_MEMBER)
	if created {
		for _, u := range ids {
			s.publish(ctx, events.UserScope(u), &serverv1.Event{Payload: &serverv1.Event_ServerJoined{ServerJoined: out}})
		}
	}
	return out, ChannelProto(ch), created, nil
}

// FilterSharedUsers returns, in request order and without repeats, those of
// candidates who share a server or a conversation with userID (userID
// itself too, when listed and a member of anything). It reads the user's
// memberships through the user_id index, then the candidates' memberships
// of those servers through the (server_id, user_id) index.
func (s *Service) FilterSharedUsers(ctx context.Context, userID string, candidates []string) ([]string, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	var sids []string
	after := bson.NilObjectID
	for {
		ms, err := s.store.Memberships(ctx, userID, "", after, 5000)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			sids = append(sids, m.ServerID)
		}
		if len(ms) < 5000 {
			break
		}
		after = ms[len(ms)-1].ID
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
func (s *Service) GetMemberRole(ctx context.Context, serverID, userID string) (serverv1.Role, string, error) {
	m, srv, err := s.membership(ctx, serverID, userID)
	if err != nil {
		if errorsIsNotFound(err) {
			return serverv1.Role_ROLE_UNSPECIFIED, "", nil
		}
		return 0, "", err
	}
	return serverv1.Role(m.Role), srv.Name, nil
}
