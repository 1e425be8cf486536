package guild

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/services/server/internal/access"
)

// join inserts a MEMBER membership of a guild for userID and tells the
// server and the user. The unique (server_id, user_id) index makes a second
// join ALREADY_EXISTS before anything else happens. claim, when set, runs
// after the insert (an invite's use is taken there, so that a user racing
// with itself never spends a use); if it fails the membership is undone.
// After that the server is read again: if it was deleted meanwhile, the
// membership is undone so nothing is orphaned.
func (s *Service) join(ctx context.Context, serverID, userID string, info UserInfo, claim func(context.Context) error) (access.MemberDoc, access.ServerDoc, error) {
	m := access.MemberDoc{ID: bson.NewObjectID(), ServerID: serverID, UserID: userID, Role: int32(serverv1.Role_ROLE_MEMBER), JoinedAt: s.now()}
	if err := s.store.InsertMember(ctx, m, access.KindGuild); err != nil {
		if errorsIsAlreadyExists(err) {
			return m, access.ServerDoc{}, errs.AlreadyExists("already a member").WithReason("ALREADY_MEMBER")
		}
		return m, access.ServerDoc{}, err
	}
	undo := func(err error) error {
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		_, derr := s.store.DeleteMember(cctx, serverID, userID, serverv1.Role_ROLE_MEMBER)
		return errors.Join(err, derr)
	}
	if claim != nil {
		if err := claim(ctx); err != nil {
			return m, access.ServerDoc{}, undo(err)
		}
	}
	if err := s.store.IncMemberCount(ctx, serverID, 1); err != nil {
		s.log.ErrorContext(ctx, "member count not updated", "server_id", serverID, "err", err)
	}
	srv, err := s.store.Server(ctx, serverID)
	if err != nil {
		if errorsIsNotFound(err) {
			err = errServerNotFound()
		}
		return m, srv, undo(err)
	}
	s.publish(ctx, events.ServerScope(serverID), &serverv1.Event{Payload: &serverv1.Event_MemberAdded{MemberAdded: MemberProto(m, info)}})
	s.publish(ctx, events.UserScope(userID), &serverv1.Event{Payload: &serverv1.Event_ServerJoined{ServerJoined: ServerProto(srv, serverv1.Role_ROLE_MEMBER)}})
	return m, srv, nil
}

// AddMember adds the user with the given login (owner and admins).
func (s *Service) AddMember(ctx context.Context, caller, serverID, login string) (*serverv1.Member, error) {
	if _, _, err := s.authorize(ctx, serverID, caller, serverv1.Role_ROLE_ADMIN, true); err != nil {
		return nil, err
	}
	u, err := s.users.LookupLogin(ctx, login)
	if err != nil {
		return nil, err
	}
	m, _, err := s.join(ctx, serverID, u.ID, u, nil)
	if err != nil {
		return nil, err
	}
	return MemberProto(m, u), nil
}

// ListMembers pages a server's members in join order.
func (s *Service) ListMembers(ctx context.Context, caller, serverID string, size int32, token string) ([]*serverv1.Member, string, error) {
	after, err := decodeIDToken(token)
	if err != nil {
		return nil, "", err
	}
	if _, _, err := s.membership(ctx, serverID, caller); err != nil {
		return nil, "", err
	}
	limit := pageSize(size, DefaultMemberPage, MaxMemberPage)
	ms, err := s.store.Members(ctx, serverID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ms) > limit {
		ms = ms[:limit]
		next = encodeToken(ms[limit-1].ID.Hex())
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.UserID
	}
	names, _ := s.names(ctx, ids)
	out := make([]*serverv1.Member, len(ms))
	for i, m := range ms {
		out[i] = MemberProto(m, names[m.UserID])
	}
	return out, next, nil
}

// target returns another member's membership, or NotFound("member not found").
func (s *Service) target(ctx context.Context, serverID, userID string) (access.MemberDoc, error) {
	m, err := s.store.Member(ctx, serverID, userID)
	if err != nil && errorsIsNotFound(err) {
		return m, errs.NotFound("member not found")
	}
	return m, err
}

func rank(r serverv1.Role) int {
	switch r {
	case serverv1.Role_ROLE_OWNER:
		return 3
	case serverv1.Role_ROLE_ADMIN:
		return 2
	case serverv1.Role_ROLE_MEMBER:
		return 1
	}
	return 0
}

// RemoveMember kicks a member of lower rank than the caller (owner and admins).
func (s *Service) RemoveMember(ctx context.Context, caller, serverID, userID string) error {
	me, _, err := s.authorize(ctx, serverID, caller, serverv1.Role_ROLE_ADMIN, true)
	if err != nil {
		return err
	}
	tm, err := s.target(ctx, serverID, userID)
	if err != nil {
		return err
	}
	if rank(serverv1.Role(tm.Role)) >= rank(serverv1.Role(me.Role)) {
		return errs.PermissionDenied("you can only remove members of lower rank")
	}
	// Conditional on the role read: a member promoted meanwhile is not kicked.
	ok, err := s.store.DeleteMember(ctx, serverID, userID, serverv1.Role(tm.Role))
	if err != nil {
		return err
	}
	if !ok {
		return errs.FailedPrecondition("the member changed meanwhile; try again").WithReason("CONFLICT")
	}
	s.left(ctx, serverID, userID, true)
	return nil
}

// left updates the count and tells the server and the user.
func (s *Service) left(ctx context.Context, serverID, userID string, kicked bool) {
	if err := s.store.IncMemberCount(ctx, serverID, -1); err != nil {
		s.log.ErrorContext(ctx, "member count not updated", "server_id", serverID, "err", err)
	}
	reason := "left"
	if kicked {
		reason = "kicked"
	}
	s.publish(ctx, events.ServerScope(serverID), &serverv1.Event{Payload: &serverv1.Event_MemberRemoved{MemberRemoved: &serverv1.MemberRemoved{ServerId: serverID, UserId: userID, Kicked: kicked}}})
	s.publish(ctx, events.UserScope(userID), serverLeft(serverID, reason))
}

// SetMemberRole makes a member an admin or an admin a member (owner only).
func (s *Service) SetMemberRole(ctx context.Context, caller, serverID, userID string, role serverv1.Role) (*serverv1.Member, error) {
	if role != serverv1.Role_ROLE_ADMIN && role != serverv1.Role_ROLE_MEMBER {
		return nil, errs.Invalid("role", "must be ROLE_ADMIN or ROLE_MEMBER")
	}
	if _, _, err := s.authorize(ctx, serverID, caller, serverv1.Role_ROLE_OWNER, true); err != nil {
		return nil, err
	}
	tm, err := s.target(ctx, serverID, userID)
	if err != nil {
		return nil, err
	}
	from := serverv1.Role(tm.Role)
	if from == serverv1.Role_ROLE_OWNER {
		return nil, errs.FailedPrecondition("the owner's role changes only with TransferOwnership").WithReason("OWNER_ROLE")
	}
	if from != role {
		ok, err := s.store.SetMemberRole(ctx, serverID, userID, from, role)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.FailedPrecondition("the member changed meanwhile; try again").WithReason("CONFLICT")
		}
	}
	tm.Role = int32(role)
	names, _ := s.names(ctx, []string{userID})
	mp := MemberProto(tm, names[userID])
	if from != role {
		s.publish(ctx, events.ServerScope(serverID), &serverv1.Event{Payload: &serverv1.Event_MemberUpdated{MemberUpdated: mp}})
	}
	return mp, nil
}

// LeaveServer removes the caller from a guild. An owner must transfer
// ownership or delete the server; a conversation cannot be left.
func (s *Service) LeaveServer(ctx context.Context, caller, serverID string) error {
	me, _, err := s.authorize(ctx, serverID, caller, serverv1.Role_ROLE_MEMBER, true)
	if err != nil {
		return err
	}
	if serverv1.Role(me.Role) == serverv1.Role_ROLE_OWNER {
		return errs.FailedPrecondition("the owner must transfer ownership or delete the server").WithReason("OWNER_CANNOT_LEAVE")
	}
	ok, err := s.store.DeleteMember(ctx, serverID, caller, serverv1.Role(me.Role))
	if err != nil {
		return err
	}
	if !ok {
		return errs.FailedPrecondition("your membership changed meanwhile; try again").WithReason("CONFLICT")
	}
	s.left(ctx, serverID, caller, false)
	return nil
}
