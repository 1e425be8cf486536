package guild

import (
	"context"
	"errors"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/paging"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// join inserts a MEMBER membership of a guild for userID and tells the
// server and the user. The store's one membership per (server, user) makes a second
// join ALREADY_EXISTS before anything else happens. claim, when set, runs
// after the insert (an invite's use is taken there, so that a user racing
// with itself never spends a use); if it fails the membership is undone.
// After that the server is read again: if it was deleted meanwhile, the
// membership is undone so nothing is orphaned.
func (s *Service) join(ctx context.Context, serverID, userID string, info UserInfo, claim func(context.Context) error) (Member, Server, error) {
	m := Member{ID: ids.New(), ServerID: serverID, UserID: userID, Role: RoleMember, JoinedAt: s.now()}
	if err := s.store.CreateMember(ctx, m, KindGuild); err != nil {
		if errorsIsAlreadyExists(err) {
			return m, Server{}, errs.AlreadyExists("already a member").WithReason("ALREADY_MEMBER")
		}
		return m, Server{}, err
	}
	undo := func(err error) error {
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		_, derr := s.store.DeleteMember(cctx, serverID, userID, RoleMember)
		return errors.Join(err, derr)
	}
	if claim != nil {
		if err := claim(ctx); err != nil {
			return m, Server{}, undo(err)
		}
	}
	if err := s.store.AddMemberCount(ctx, serverID, 1); err != nil {
		s.log.ErrorContext(ctx, "member count not updated", "server_id", serverID, "err", err)
	}
	srv, err := s.store.Server(ctx, serverID)
	if err != nil {
		if errorsIsNotFound(err) {
			err = errServerNotFound()
		}
		return m, srv, undo(err)
	}
	s.publish(ctx, func(ctx context.Context) error { return s.events.MemberAdded(ctx, m, info) })
	s.publish(ctx, func(ctx context.Context) error { return s.events.ServerJoined(ctx, userID, srv, RoleMember) })
	return m, srv, nil
}

// AddMember adds the user with the given login (owner and admins).
// It returns the membership and the user's names.
func (s *Service) AddMember(ctx context.Context, caller, serverID, login string) (Member, UserInfo, error) {
	if _, _, err := s.authorize(ctx, serverID, caller, RoleAdmin, true); err != nil {
		return Member{}, UserInfo{}, err
	}
	u, err := s.users.LookupLogin(ctx, login)
	if err != nil {
		return Member{}, UserInfo{}, err
	}
	m, _, err := s.join(ctx, serverID, u.ID, u, nil)
	return m, u, err
}

// MemberInfo is a membership with the user's names (empty when unknown).
type MemberInfo struct {
	Member
	User UserInfo
}

// ListMembers pages a server's members in join order.
func (s *Service) ListMembers(ctx context.Context, caller, serverID string, size int32, token string) ([]MemberInfo, string, error) {
	after, err := paging.After(token, ids.Valid)
	if err != nil {
		return nil, "", err
	}
	if _, _, err := s.membership(ctx, serverID, caller); err != nil {
		return nil, "", err
	}
	limit, err := paging.Size(size, DefaultMemberPage, MaxMemberPage)
	if err != nil {
		return nil, "", err
	}
	ms, err := s.store.Members(ctx, serverID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	ms, next := paging.Trim(ms, limit, func(x Member) string { return x.ID })
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.UserID
	}
	names, _ := s.names(ctx, ids)
	out := make([]MemberInfo, len(ms))
	for i, m := range ms {
		out[i] = MemberInfo{Member: m, User: names[m.UserID]}
	}
	return out, next, nil
}

// target returns another member's membership, or NotFound("member not found").
func (s *Service) target(ctx context.Context, serverID, userID string) (Member, error) {
	m, err := s.store.Member(ctx, serverID, userID)
	if err != nil && errorsIsNotFound(err) {
		return m, errs.NotFound("member not found")
	}
	return m, err
}

// RemoveMember kicks a member of lower rank than the caller (owner and admins).
func (s *Service) RemoveMember(ctx context.Context, caller, serverID, userID string) error {
	me, _, err := s.authorize(ctx, serverID, caller, RoleAdmin, true)
	if err != nil {
		return err
	}
	tm, err := s.target(ctx, serverID, userID)
	if err != nil {
		return err
	}
	if !me.Role.Outranks(tm.Role) {
		return errs.PermissionDenied("you can only remove members of lower rank")
	}
	// Conditional on the role read: a member promoted meanwhile is not kicked.
	ok, err := s.store.DeleteMember(ctx, serverID, userID, tm.Role)
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
	if err := s.store.AddMemberCount(ctx, serverID, -1); err != nil {
		s.log.ErrorContext(ctx, "member count not updated", "server_id", serverID, "err", err)
	}
	reason := "left"
	if kicked {
		reason = "kicked"
	}
	s.publish(ctx, func(ctx context.Context) error { return s.events.MemberRemoved(ctx, serverID, userID, kicked) })
	s.publish(ctx, func(ctx context.Context) error { return s.events.ServerLeft(ctx, userID, serverID, reason) })
}

// SetMemberRole makes a member an admin or an admin a member (owner only).
func (s *Service) SetMemberRole(ctx context.Context, caller, serverID, userID string, role Role) (MemberInfo, error) {
	if role != RoleAdmin && role != RoleMember {
		return MemberInfo{}, errs.Invalid("role", "must be ROLE_ADMIN or ROLE_MEMBER")
	}
	if _, _, err := s.authorize(ctx, serverID, caller, RoleOwner, true); err != nil {
		return MemberInfo{}, err
	}
	tm, err := s.target(ctx, serverID, userID)
	if err != nil {
		return MemberInfo{}, err
	}
	from := tm.Role
	if from == RoleOwner {
		return MemberInfo{}, errs.FailedPrecondition("the owner's role changes only with TransferOwnership").WithReason("OWNER_ROLE")
	}
	if from != role {
		ok, err := s.store.SetMemberRole(ctx, serverID, userID, from, role)
		if err != nil {
			return MemberInfo{}, err
		}
		if !ok {
			return MemberInfo{}, errs.FailedPrecondition("the member changed meanwhile; try again").WithReason("CONFLICT")
		}
	}
	tm.Role = role
	names, _ := s.names(ctx, []string{userID})
	mi := MemberInfo{Member: tm, User: names[userID]}
	if from != role {
		s.publish(ctx, func(ctx context.Context) error { return s.events.MemberUpdated(ctx, tm, mi.User) })
	}
	return mi, nil
}

// LeaveServer removes the caller from a guild. An owner must transfer
// ownership or delete the server; a conversation cannot be left.
func (s *Service) LeaveServer(ctx context.Context, caller, serverID string) error {
	me, _, err := s.authorize(ctx, serverID, caller, RoleMember, true)
	if err != nil {
		return err
	}
	if me.Role == RoleOwner {
		return errs.FailedPrecondition("the owner must transfer ownership or delete the server").WithReason("OWNER_CANNOT_LEAVE")
	}
	ok, err := s.store.DeleteMember(ctx, serverID, caller, me.Role)
	if err != nil {
		return err
	}
	if !ok {
		return errs.FailedPrecondition("your membership changed meanwhile; try again").WithReason("CONFLICT")
	}
	s.left(ctx, serverID, caller, false)
	return nil
}
