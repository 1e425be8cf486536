package account

import (
	"context"
	"errors"

	"github.com/accordchat/accord/platform/errs"
)

// User returns one account.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	return s.d.Users.UserByID(ctx, id)
}

// Users returns the accounts found among ids, in the order of ids, each once.
func (s *Service) Users(ctx context.Context, ids []string) ([]User, error) {
	found, err := s.d.Users.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]User, len(found))
	for _, u := range found {
		byID[u.ID] = u
	}
	out := make([]User, 0, len(found))
	for _, id := range ids {
		if u, ok := byID[id]; ok {
			out = append(out, u)
			delete(byID, id)
		}
	}
	return out, nil
}

// Lookup finds an account by login in any case.
func (s *Service) Lookup(ctx context.Context, login string) (User, error) {
	key := LoginKey(login)
	if !ValidLoginChars(key) || len(key) > MaxLoginLen {
		return User{}, errUserNotFound
	}
	return s.d.Users.UserByLogin(ctx, key)
}

// Search pages through accounts whose login starts with prefix (any case),
// after the login key after. next is the key to continue after, empty at the end.
func (s *Service) Search(ctx context.Context, prefix, after string, limit int) (users []User, next string, err error) {
	key := LoginKey(prefix)
	if !ValidLoginChars(key) {
		return nil, "", errs.Invalid("login_prefix", "may only hold letters, digits, '_', '.' and '-'")
	}
	users, err = s.d.Users.SearchUsers(ctx, key, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	if len(users) > limit {
		users = users[:limit]
		next = LoginKey(users[limit-1].Login)
	}
	return users, next, nil
}

// UpdateProfile changes the caller's display name or status text and
// tells the caller's other clients.
func (s *Service) UpdateProfile(ctx context.Context, userID string, upd ProfileUpdate) (User, error) {
	if upd.DisplayName != nil {
		v, err := NormalizeDisplayName("user.display_name", *upd.DisplayName)
		if err != nil {
			return User{}, err
		}
		upd.DisplayName = &v
	}
	if upd.StatusText != nil {
		v, err := NormalizeStatusText("user.status_text", *upd.StatusText)
		if err != nil {
			return User{}, err
		}
		upd.StatusText = &v
	}
	u, err := s.d.Users.UpdateProfile(ctx, userID, upd)
	if err != nil {
		return User{}, err
	}
	s.publishUser(ctx, u)
	return u, nil
}

// SetOperator grants or removes the operator role; callerOperator is whether
// the caller holds it. The change reaches the user's tokens at their next refresh.
func (s *Service) SetOperator(ctx context.Context, callerOperator bool, userID string, operator bool) (User, error) {
	if !callerOperator {
		return User{}, errs.PermissionDenied("only operators may change roles")
	}
	u, err := s.d.Users.SetOperator(ctx, userID, operator)
	if err != nil {
		return User{}, err
	}
	s.publishUser(ctx, u)
	return u, nil
}

// publishUser appends user_updated to the user's stream and announces the
// profile to the servers the user belongs to (member_updated there). The
// change is committed already, so a failure is logged, not returned:
// clients catch up when they reload.
func (s *Service) publishUser(ctx context.Context, u User) {
	if err := s.d.Events.UserUpdated(context.WithoutCancel(ctx), u); err != nil {
		s.d.Log.ErrorContext(ctx, "append user event failed", "user", u.ID, "err", err)
	}
	if s.d.Profiles != nil {
		if err := s.d.Profiles.AnnounceProfile(context.WithoutCancel(ctx), u); err != nil {
			s.d.Log.ErrorContext(ctx, "announce profile failed", "user", u.ID, "err", err)
		}
	}
}

// Check answers, for each of others, whether userID and they are friends,
// whether either blocked the other, and whether they exist.
func (s *Service) Check(ctx context.Context, userID string, others []string) ([]Check, error) {
	found, err := s.d.Users.UsersByIDs(ctx, others)
	if err != nil {
		return nil, err
	}
	exists := make(map[string]bool, len(found))
	for _, u := range found {
		exists[u.ID] = true
	}
	mine, err := s.d.Relationships.RelationshipsBetween(ctx, []string{userID}, others)
	if err != nil {
		return nil, err
	}
	theirs, err := s.d.Relationships.RelationshipsBetween(ctx, others, []string{userID})
	if err != nil {
		return nil, err
	}
	friend := map[string]bool{}
	blocked := map[string]bool{}
	for _, r := range mine {
		friend[r.OtherID] = friend[r.OtherID] || r.Type == RelFriend
		blocked[r.OtherID] = blocked[r.OtherID] || r.Type == RelBlocked
	}
	for _, r := range theirs {
		blocked[r.UserID] = blocked[r.UserID] || r.Type == RelBlocked
	}
	out := make([]Check, len(others))
	for i, id := range others {
		out[i] = Check{OtherID: id, Exists: exists[id], Friend: friend[id] && !blocked[id], Blocked: blocked[id]}
	}
	return out, nil
}

// isNotFound reports a not-found domain error.
func isNotFound(err error) bool { return errors.Is(err, errs.ErrNotFound) }
