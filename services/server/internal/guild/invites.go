package guild

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/paging"
)

// InviteCodeLen is the length of invite codes: 10 base62 characters carry
// about 59 bits, far beyond guessing through a rate-limited API.
const InviteCodeLen = 10

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewInviteCode returns a random code from crypto/rand, without modulo bias.
func NewInviteCode() (string, error) {
	out := make([]byte, 0, InviteCodeLen)
	buf := make([]byte, 2*InviteCodeLen)
	for len(out) < InviteCodeLen {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			// 248 = 4*62: bytes above are rejected so each symbol is uniform.
			if b < 248 && len(out) < InviteCodeLen {
				out = append(out, base62[int(b)%62])
			}
		}
	}
	return string(out), nil
}

// CreateInvite creates an invite (owner and admins); ttl 0 never expires,
// maxUses 0 is unlimited.
func (s *Service) CreateInvite(ctx context.Context, caller, serverID string, ttl time.Duration, maxUses int32) (Invite, error) {
	if _, _, err := s.authorize(ctx, serverID, caller, RoleAdmin, true); err != nil {
		return Invite{}, err
	}
	now := s.now()
	inv := Invite{ServerID: serverID, CreatorID: caller, MaxUses: maxUses, CreatedAt: now}
	if ttl > 0 {
		exp := now.Add(ttl)
		inv.ExpiresAt = &exp
	}
	// A collision of 59-bit codes is astronomically rare; retry anyway.
	for attempt := 0; ; attempt++ {
		code, err := NewInviteCode()
		if err != nil {
			return Invite{}, err
		}
		inv.Code = code
		err = s.store.CreateInvite(ctx, inv)
		if err == nil {
			break
		}
		if !errorsIsAlreadyExists(err) || attempt >= 3 {
			return Invite{}, err
		}
	}
	return inv, nil
}

// ListInvites pages a server's live invites (owner and admins).
func (s *Service) ListInvites(ctx context.Context, caller, serverID string, size int32, token string) ([]Invite, string, error) {
	after, err := paging.After(token, nil)
	if err != nil {
		return nil, "", err
	}
	if _, _, err := s.authorize(ctx, serverID, caller, RoleAdmin, true); err != nil {
		return nil, "", err
	}
	limit, err := paging.Size(size, DefaultInvitePage, MaxInvitePage)
	if err != nil {
		return nil, "", err
	}
	invs, err := s.store.Invites(ctx, serverID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	invs, next := paging.Trim(invs, limit, func(x Invite) string { return x.Code })
	now := s.now()
	// Dead invites are filtered here rather than in the query: comparing
	// uses with max_uses needs $expr, which FerretDB lacks. Pages may come
	// out short; the token still moves on.
	out := make([]Invite, 0, len(invs))
	for _, inv := range invs {
		if inv.Live(now) {
			out = append(out, inv)
		}
	}
	return out, next, nil
}

// DeleteInvite revokes an invite (owner and admins).
func (s *Service) DeleteInvite(ctx context.Context, caller, serverID, code string) error {
	if _, _, err := s.authorize(ctx, serverID, caller, RoleAdmin, true); err != nil {
		return err
	}
	ok, err := s.store.DeleteInvite(ctx, serverID, code)
	if err != nil {
		return err
	}
	if !ok {
		return errs.NotFound("invite not found")
	}
	return nil
}

// liveInvite returns the invite if it exists and may be used.
func (s *Service) liveInvite(ctx context.Context, code string) (Invite, error) {
	inv, err := s.store.Invite(ctx, code)
	if err != nil {
		if errorsIsNotFound(err) {
			return inv, errs.NotFound("invite not found")
		}
		return inv, err
	}
	if inv.ExpiresAt != nil && !s.now().Before(*inv.ExpiresAt) {
		return inv, errs.FailedPrecondition("this invite has expired").WithReason("INVITE_EXPIRED")
	}
	if inv.MaxUses > 0 {
		n, err := s.store.InviteUses(ctx, code)
		if err != nil {
			return inv, err
		}
		if inv.Uses = max(inv.Uses, n); n >= inv.MaxUses {
			return inv, errUsedUp()
		}
	}
	return inv, nil
}

// GetInvite previews an invite's server; any signed-in user may ask.
// It returns the invite and its server.
func (s *Service) GetInvite(ctx context.Context, code string) (Invite, Server, error) {
	inv, err := s.liveInvite(ctx, code)
	if err != nil {
		return Invite{}, Server{}, err
	}
	srv, err := s.store.Server(ctx, inv.ServerID)
	if err != nil {
		if errorsIsNotFound(err) {
			return Invite{}, Server{}, errs.NotFound("invite not found")
		}
		return Invite{}, Server{}, err
	}
	return inv, srv, nil
}

func errUsedUp() error {
	return errs.FailedPrecondition("this invite has been used up").WithReason("INVITE_USED_UP")
}

// AcceptInvite joins the invite's server. The membership is inserted
// first (so a second join by the same user fails before spending a use),
// then a use slot is claimed; with none left the membership is undone.
func (s *Service) AcceptInvite(ctx context.Context, caller, code string) (Server, error) {
	inv, err := s.liveInvite(ctx, code)
	if err != nil {
		return Server{}, err
	}
	claim := func(ctx context.Context) error {
		if inv.MaxUses > 0 {
			ok, err := s.store.ClaimInviteUse(ctx, inv, caller)
			if err != nil {
				return err
			}
			if !ok {
				return errUsedUp()
			}
		}
		if err := s.store.CountInviteUse(ctx, code); err != nil {
			s.log.ErrorContext(ctx, "invite use not counted", "err", err)
		}
		return nil
	}
	names, _ := s.names(ctx, []string{caller})
	_, srv, err := s.join(ctx, inv.ServerID, caller, names[caller], claim)
	return srv, err
}
