package guild

import (
	"context"
	"errors"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/services/server/internal/access"
)

// CreateServer creates a guild owned by caller, its owner membership and its
// "general" channel. Without transactions, a failure after the server
// document is written undoes what was written.
func (s *Service) CreateServer(ctx context.Context, caller, name string) (*serverv1.Server, *serverv1.Channel, error) {
	now := s.now()
	srv := access.ServerDoc{ID: bson.NewObjectID(), Name: name, Kind: access.KindGuild, OwnerID: caller, MemberCount: 1, CreatedAt: now}
	sid := srv.ID.Hex()
	if err := s.store.InsertServer(ctx, srv); err != nil {
		return nil, nil, err
	}
	owner := access.MemberDoc{ID: bson.NewObjectID(), ServerID: sid, UserID: caller, Role: int32(serverv1.Role_ROLE_OWNER), JoinedAt: now}
	ch := access.ChannelDoc{ID: bson.NewObjectID(), ServerID: sid, Name: GeneralChannel, Position: 0, CreatedAt: now}
	err := s.store.InsertMember(ctx, owner, access.KindGuild)
	if err == nil {
		err = s.store.InsertChannel(ctx, ch)
	}
	if err != nil {
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		_, derr := s.store.DeleteServer(cctx, sid)
		return nil, nil, errors.Join(err, derr, s.store.DeleteServerData(cctx, sid))
	}
	out := ServerProto(srv, serverv1.Role_ROLE_OWNER)
	s.publish(ctx, events.UserScope(caller), &serverv1.Event{Payload: &serverv1.Event_ServerJoined{ServerJoined: out}})
	return out, ChannelProto(ch), nil
}

// GetServer returns a server the caller belongs to.
func (s *Service) GetServer(ctx context.Context, caller, serverID string) (*serverv1.Server, error) {
	m, srv, err := s.membership(ctx, serverID, caller)
	if err != nil {
		return nil, err
	}
	return ServerProto(srv, serverv1.Role(m.Role)), nil
}

// ListServers pages the caller's servers (and conversations) in membership order.
func (s *Service) ListServers(ctx context.Context, caller string, kind serverv1.ServerKind, size int32, token string) ([]*serverv1.Server, string, error) {
	after, err := decodeIDToken(token)
	if err != nil {
		return nil, "", err
	}
	limit := pageSize(size, DefaultServerPage, MaxServerPage)
	k := ""
	switch kind {
	case serverv1.ServerKind_SERVER_KIND_GUILD:
		k = access.KindGuild
	case serverv1.ServerKind_SERVER_KIND_DM:
		k = access.KindDM
	}
	ms, err := s.store.Memberships(ctx, caller, k, after, limit+1)
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
		ids[i] = m.ServerID
	}
	docs, err := s.store.ServersByID(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]*serverv1.Server, 0, len(ms))
	for _, m := range ms {
		// A server deleted between the two reads is simply left out.
		if d, ok := docs[m.ServerID]; ok {
			out = append(out, ServerProto(d, serverv1.Role(m.Role)))
		}
	}
	return out, next, nil
}

// UpdateServer applies the fields named in paths (only "name").
func (s *Service) UpdateServer(ctx context.Context, caller, serverID string, paths []string, name string) (*serverv1.Server, error) {
	if len(paths) == 0 {
		return nil, errs.Invalid("update_mask", "list at least one field")
	}
	for _, p := range paths {
		if p != "name" {
			return nil, errs.Invalid("update_mask", "field %q cannot be updated", p)
		}
	}
	m, _, err := s.authorize(ctx, serverID, caller, serverv1.Role_ROLE_ADMIN, true)
	if err != nil {
		return nil, err
	}
	srv, err := s.store.RenameServer(ctx, serverID, name)
	if err != nil {
		if errorsIsNotFound(err) {
			return nil, errServerNotFound()
		}
		return nil, err
	}
	s.publish(ctx, events.ServerScope(serverID), &serverv1.Event{Payload: &serverv1.Event_ServerUpdated{ServerUpdated: ServerProto(srv, serverv1.Role_ROLE_UNSPECIFIED)}})
	return ServerProto(srv, serverv1.Role(m.Role)), nil
}

// DeleteServer deletes a guild with everything in it (owner only). The
// server document goes first, so that joins and channel creations racing
// with the deletion see it gone on their re-check and undo themselves; the
// members are read after that, so every member is told.
func (s *Service) DeleteServer(ctx context.Context, caller, serverID string) error {
	if _, _, err := s.authorize(ctx, serverID, caller, serverv1.Role_ROLE_OWNER, true); err != nil {
		return err
	}
	ok, err := s.store.DeleteServer(ctx, serverID)
	if err != nil {
		return err
	}
	if !ok {
		return errServerNotFound()
	}
	// From here on the deletion must finish even if the caller goes away.
	ctx = context.WithoutCancel(ctx)
	users, err := s.store.MemberUserIDs(ctx, serverID)
	if err != nil {
		return err
	}
	if err := s.store.DeleteServerData(ctx, serverID); err != nil {
		return err
	}
	s.publish(ctx, events.ServerScope(serverID), &serverv1.Event{Payload: &serverv1.Event_ServerDeleted{ServerDeleted: &serverv1.ServerDeleted{ServerId: serverID}}})
	// A big server has thousands of members: tell them a few at a time
	// rather than one round trip after another.
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, u := range users {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.publish(ctx, events.UserScope(u), serverLeft(serverID, "deleted"))
		}()
	}
	wg.Wait()
	return nil
}

func serverLeft(serverID, reason string) *serverv1.Event {
	return &serverv1.Event{Payload: &serverv1.Event_ServerLeft{ServerLeft: &serverv1.ServerLeft{ServerId: serverID, Reason: reason}}}
}

// TransferOwnership makes a member the owner; the old owner becomes admin.
// The target is promoted first (an owner cannot be kicked or leave, so the
// target stays), then owner_id is swapped conditionally (of two concurrent
// transfers one wins; the loser's promotion is undone), then the caller is
// demoted.
func (s *Service) TransferOwnership(ctx context.Context, caller, serverID, target string) (*serverv1.Server, error) {
	if _, _, err := s.authorize(ctx, serverID, caller, serverv1.Role_ROLE_OWNER, true); err != nil {
		return nil, err
	}
	if target == caller {
		return nil, errs.FailedPrecondition("you already own this server").WithReason("ALREADY_OWNER")
	}
	tm, err := s.store.Member(ctx, serverID, target)
	if err != nil {
		if errorsIsNotFound(err) {
			return nil, errs.NotFound("member not found")
		}
		return nil, err
	}
	from := serverv1.Role(tm.Role)
	ok, err := s.store.SetMemberRole(ctx, serverID, target, from, serverv1.Role_ROLE_OWNER)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.FailedPrecondition("the member changed meanwhile; try again").WithReason("CONFLICT")
	}
	swapped, err := s.store.SwapOwner(ctx, serverID, caller, target)
	if err != nil || !swapped {
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		_, uerr := s.store.SetMemberRole(cctx, serverID, target, serverv1.Role_ROLE_OWNER, from)
		if err == nil {
			err = errs.FailedPrecondition("ownership changed meanwhile").WithReason("CONFLICT")
		}
		return nil, errors.Join(err, uerr)
	}
	if _, err := s.store.SetMemberRole(ctx, serverID, caller, serverv1.Role_ROLE_OWNER, serverv1.Role_ROLE_ADMIN); err != nil {
		return nil, err
	}
	srv, err := s.store.Server(ctx, serverID)
	if err != nil {
		return nil, err
	}
	scope := events.ServerScope(serverID)
	s.publish(ctx, scope, &serverv1.Event{Payload: &serverv1.Event_ServerUpdated{ServerUpdated: ServerProto(srv, serverv1.Role_ROLE_UNSPECIFIED)}})
	names, _ := s.names(ctx, []string{caller, target})
	for _, u := range []struct {
		id   string
		role serverv1.Role
	}{{target, serverv1.Role_ROLE_OWNER}, {caller, serverv1.Role_ROLE_ADMIN}} {
		m := access.MemberDoc{ServerID: serverID, UserID: u.id, Role: int32(u.role)}
		if mm, err := s.store.Member(ctx, serverID, u.id); err == nil {
			m = mm
		}
		s.publish(ctx, scope, &serverv1.Event{Payload: &serverv1.Event_MemberUpdated{MemberUpdated: MemberProto(m, names[u.id])}})
	}
	return ServerProto(srv, serverv1.Role_ROLE_ADMIN), nil
}

// names asks the user service for profiles; on failure the names are left
// empty (and logged): they decorate, they do not decide.
func (s *Service) names(ctx context.Context, ids []string) (map[string]UserInfo, error) {
	if len(ids) == 0 {
		return map[string]UserInfo{}, nil
	}
	m, err := s.users.Users(ctx, ids)
	if err != nil {
		s.log.WarnContext(ctx, "user names unavailable", "err", err)
		return map[string]UserInfo{}, err
	}
	return m, nil
}
