package guild

import (
	"context"
	"errors"
	"sync"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/paging"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// CreateServer creates a guild owned by caller, its owner membership and its
// "general" channel. Without transactions, a failure after the server
// record is written undoes what was written.
func (s *Service) CreateServer(ctx context.Context, caller, name string) (Server, Channel, error) {
	now := s.now()
	srv := Server{ID: ids.New(), Name: name, Kind: KindGuild, OwnerID: caller, MemberCount: 1, CreatedAt: now}
	sid := srv.ID
	if err := s.store.CreateServer(ctx, srv); err != nil {
		return Server{}, Channel{}, err
	}
	owner := Member{ID: ids.New(), ServerID: sid, UserID: caller, Role: RoleOwner, JoinedAt: now}
	ch := Channel{ID: ids.New(), ServerID: sid, Name: GeneralChannel, Position: 0, CreatedAt: now}
	err := s.store.CreateMember(ctx, owner, KindGuild)
	if err == nil {
		err = s.store.CreateChannel(ctx, ch)
	}
	if err != nil {
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		_, derr := s.store.DeleteServer(cctx, sid)
		return Server{}, Channel{}, errors.Join(err, derr, s.store.DeleteServerData(cctx, sid))
	}
	s.publish(ctx, func(ctx context.Context) error { return s.events.ServerJoined(ctx, caller, srv, RoleOwner) })
	return srv, ch, nil
}

// RoleServer is a server as one member sees it: with their role.
type RoleServer struct {
	Server
	MyRole Role
}

// GetServer returns a server the caller belongs to.
func (s *Service) GetServer(ctx context.Context, caller, serverID string) (RoleServer, error) {
	m, srv, err := s.membership(ctx, serverID, caller)
	if err != nil {
		return RoleServer{}, err
	}
	return RoleServer{Server: srv, MyRole: m.Role}, nil
}

// ListServers pages the caller's servers (and conversations) in membership order.
// kind "" lists every kind.
func (s *Service) ListServers(ctx context.Context, caller string, kind Kind, size int32, token string) ([]RoleServer, string, error) {
	after, err := paging.After(token, ids.Valid)
	if err != nil {
		return nil, "", err
	}
	limit, err := paging.Size(size, DefaultServerPage, MaxServerPage)
	if err != nil {
		return nil, "", err
	}
	ms, err := s.store.Memberships(ctx, caller, kind, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	ms, next := paging.Trim(ms, limit, func(x Member) string { return x.ID })
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ServerID
	}
	docs, err := s.store.ServersByID(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]RoleServer, 0, len(ms))
	for _, m := range ms {
		// A server deleted between the two reads is simply left out.
		if d, ok := docs[m.ServerID]; ok {
			out = append(out, RoleServer{Server: d, MyRole: m.Role})
		}
	}
	return out, next, nil
}

// UpdateServer applies the fields named in paths (only "name").
func (s *Service) UpdateServer(ctx context.Context, caller, serverID string, paths []string, name string) (RoleServer, error) {
	if len(paths) == 0 {
		return RoleServer{}, errs.Invalid("update_mask", "list at least one field")
	}
	for _, p := range paths {
		if p != "name" {
			return RoleServer{}, errs.Invalid("update_mask", "field %q cannot be updated", p)
		}
	}
	m, _, err := s.authorize(ctx, serverID, caller, RoleAdmin, true)
	if err != nil {
		return RoleServer{}, err
	}
	srv, err := s.store.RenameServer(ctx, serverID, name)
	if err != nil {
		if errorsIsNotFound(err) {
			return RoleServer{}, errServerNotFound()
		}
		return RoleServer{}, err
	}
	s.publish(ctx, func(ctx context.Context) error { return s.events.ServerUpdated(ctx, srv) })
	return RoleServer{Server: srv, MyRole: m.Role}, nil
}

// DeleteServer deletes a guild with everything in it (owner only). The
// server record goes first, so that joins and channel creations racing
// with the deletion see it gone on their re-check and undo themselves; the
// members are read after that, so every member is told.
func (s *Service) DeleteServer(ctx context.Context, caller, serverID string) error {
	if _, _, err := s.authorize(ctx, serverID, caller, RoleOwner, true); err != nil {
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
	s.publish(ctx, func(ctx context.Context) error { return s.events.ServerDeleted(ctx, serverID) })
	// A big server has thousands of members: tell them a few at a time
	// rather than one round trip after another.
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, u := range users {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.publish(ctx, func(ctx context.Context) error { return s.events.ServerLeft(ctx, u, serverID, "deleted") })
		}()
	}
	wg.Wait()
	return nil
}

// TransferOwnership makes a member the owner; the old owner becomes admin.
// The target is promoted first (an owner cannot be kicked or leave, so the
// target stays), then the owner is swapped conditionally (of two concurrent
// transfers one wins; the loser's promotion is undone), then the caller is
// demoted.
func (s *Service) TransferOwnership(ctx context.Context, caller, serverID, target string) (RoleServer, error) {
	if _, _, err := s.authorize(ctx, serverID, caller, RoleOwner, true); err != nil {
		return RoleServer{}, err
	}
	if target == caller {
		return RoleServer{}, errs.FailedPrecondition("you already own this server").WithReason("ALREADY_OWNER")
	}
	tm, err := s.store.Member(ctx, serverID, target)
	if err != nil {
		if errorsIsNotFound(err) {
			return RoleServer{}, errs.NotFound("member not found")
		}
		return RoleServer{}, err
	}
	from := tm.Role
	ok, err := s.store.SetMemberRole(ctx, serverID, target, from, RoleOwner)
	if err != nil {
		return RoleServer{}, err
	}
	if !ok {
		return RoleServer{}, errs.FailedPrecondition("the member changed meanwhile; try again").WithReason("CONFLICT")
	}
	swapped, err := s.store.SwapOwner(ctx, serverID, caller, target)
	if err != nil || !swapped {
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		_, uerr := s.store.SetMemberRole(cctx, serverID, target, RoleOwner, from)
		if err == nil {
			err = errs.FailedPrecondition("ownership changed meanwhile").WithReason("CONFLICT")
		}
		return RoleServer{}, errors.Join(err, uerr)
	}
	if _, err := s.store.SetMemberRole(ctx, serverID, caller, RoleOwner, RoleAdmin); err != nil {
		return RoleServer{}, err
	}
	srv, err := s.store.Server(ctx, serverID)
	if err != nil {
		return RoleServer{}, err
	}
	s.publish(ctx, func(ctx context.Context) error { return s.events.ServerUpdated(ctx, srv) })
	names, _ := s.names(ctx, []string{caller, target})
	for _, u := range []struct {
		id   string
		role Role
	}{{target, RoleOwner}, {caller, RoleAdmin}} {
		m := Member{ServerID: serverID, UserID: u.id, Role: u.role}
		if mm, err := s.store.Member(ctx, serverID, u.id); err == nil {
			m = mm
		}
		s.publish(ctx, func(ctx context.Context) error { return s.events.MemberUpdated(ctx, m, names[u.id]) })
	}
	return RoleServer{Server: srv, MyRole: RoleAdmin}, nil
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

// ServersByID returns the servers among ids that exist, keyed by id: for
// other services (the stats reports name servers with it), so without a
// caller and without roles.
func (s *Service) ServersByID(ctx context.Context, ids []string) (map[string]Server, error) {
	if len(ids) == 0 {
		return map[string]Server{}, nil
	}
	return s.store.ServersByID(ctx, ids)
}
