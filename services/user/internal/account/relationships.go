package account

import (
	"context"
	"time"

	"github.com/accordchat/accord/platform/errs"
)

// transition maps the pair's current views (mine, theirs) to the new ones,
// or refuses with an error.
type transition func(mine, theirs RelType) (newMine, newTheirs RelType, err error)

// pairWriteTimeout bounds the writes of one change; they run detached from
// the caller's context so a client hanging up cannot leave a half-written pair.
const pairWriteTimeout = 10 * time.Second

// mutate applies f to the pair (me, other). A pair is two documents and the
// database offers no transactions, so changes to one pair are serialised by
// a short lock; the unique (user_id, other_id) index still guarantees one
// document per side whatever happens. It returns my new view.
func (s *Service) mutate(ctx context.Context, me, other User, f transition) (View, error) {
	if me.ID == other.ID {
		return View{}, errs.Invalid("user_id", "that is you")
	}
	unlock, err := s.d.Locks.Lock(ctx, pairLockName(me.ID, other.ID))
	if err != nil {
		if ctx.Err() != nil {
			return View{}, ctx.Err()
		}
		return View{}, err
	}
	defer unlock()
	mine, err := s.d.Relationships.Relationship(ctx, me.ID, other.ID)
	if err != nil {
		return View{}, err
	}
	theirs, err := s.d.Relationships.Relationship(ctx, other.ID, me.ID)
	if err != nil {
		return View{}, err
	}
	newMine, newTheirs, err := f(mine.Type, theirs.Type)
	if err != nil {
		return View{}, err
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pairWriteTimeout)
	defer cancel()
	now := s.now()
	var changes []Change
	view := View{Other: other, Type: mine.Type, UpdatedAt: mine.UpdatedAt}
	if newMine != mine.Type {
		if err := s.put(wctx, me.ID, other.ID, newMine, now); err != nil {
			return View{}, err
		}
		view = View{Other: other, Type: newMine, UpdatedAt: now}
		changes = append(changes, Change{OwnerID: me.ID, View: view})
	}
	if newTheirs != theirs.Type {
		if err := s.put(wctx, other.ID, me.ID, newTheirs, now); err != nil {
			return View{}, err
		}
		changes = append(changes, Change{OwnerID: other.ID, View: View{Other: me, Type: newTheirs, UpdatedAt: now}})
	}
	if len(changes) > 0 {
		if err := s.d.Events.RelationshipsChanged(wctx, changes); err != nil {
			s.d.Log.ErrorContext(ctx, "append relationship events failed", "user", me.ID, "other", other.ID, "err", err)
		}
	}
	return view, nil
}

func (s *Service) put(ctx context.Context, userID, otherID string, t RelType, now time.Time) error {
	if t == RelNone {
		return s.d.Relationships.DeleteRelationship(ctx, userID, otherID)
	}
	return s.d.Relationships.PutRelationship(ctx, Relationship{UserID: userID, OtherID: otherID, Type: t, UpdatedAt: now})
}

// pairLockName names the lock of a pair the same from either side.
func pairLockName(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return "pair:" + a + ":" + b
}

// pair loads the caller and the other user named by id.
func (s *Service) pair(ctx context.Context, meID, otherID string) (me, other User, err error) {
	if meID == otherID {
		return User{}, User{}, errs.Invalid("user_id", "that is you")
	}
	if me, err = s.d.Users.UserByID(ctx, meID); err != nil {
		if isNotFound(err) {
			return User{}, User{}, errs.Unauthenticated("account not found")
		}
		return User{}, User{}, err
	}
	if other, err = s.d.Users.UserByID(ctx, otherID); err != nil {
		if isNotFound(err) {
			return User{}, User{}, errUserNotFound
		}
		return User{}, User{}, err
	}
	return me, other, nil
}

// SendFriendRequest asks the user with login to be friends. When they had
// asked first, the two become friends. A user who blocked the caller is
// reported as not found, so blocking cannot be detected.
func (s *Service) SendFriendRequest(ctx context.Context, meID, login string) (View, error) {
	other, err := s.Lookup(ctx, login)
	if err != nil {
		if isNotFound(err) {
			return View{}, errUserNotFound
		}
		return View{}, err
	}
	if other.ID == meID {
		return View{}, errs.Invalid("login", "you cannot befriend yourself")
	}
	me, other, err := s.pair(ctx, meID, other.ID)
	if err != nil {
		return View{}, err
	}
	return s.mutate(ctx, me, other, func(mine, theirs RelType) (RelType, RelType, error) {
		switch {
		case mine == RelBlocked:
			return 0, 0, errs.FailedPrecondition("you blocked this user; unblock them first").WithReason("USER_BLOCKED")
		case theirs == RelBlocked:
			return 0, 0, errUserNotFound
		case mine == RelFriend:
			return 0, 0, errs.AlreadyExists("you are already friends").WithReason("ALREADY_FRIENDS")
		case mine == RelOutgoing:
			return mine, theirs, nil // asked already: the retry changes nothing
		case mine == RelIncoming:
			return RelFriend, RelFriend, nil
		}
		return RelOutgoing, RelIncoming, nil
	})
}

// AcceptFriendRequest accepts the request otherID sent.
func (s *Service) AcceptFriendRequest(ctx context.Context, meID, otherID string) (View, error) {
	return s.change(ctx, meID, otherID, func(mine, theirs RelType) (RelType, RelType, error) {
		switch mine {
		case RelIncoming:
			return RelFriend, RelFriend, nil
		case RelFriend:
			return mine, theirs, nil // accepted already
		}
		return 0, 0, errs.NotFound("no friend request from this user")
	})
}

// DeclineFriendRequest declines the request otherID sent.
func (s *Service) DeclineFriendRequest(ctx context.Context, meID, otherID string) error {
	_, err := s.change(ctx, meID, otherID, func(mine, theirs RelType) (RelType, RelType, error) {
		if mine != RelIncoming {
			return 0, 0, errs.NotFound("no friend request from this user")
		}
		return RelNone, RelNone, nil
	})
	return err
}

// CancelFriendRequest withdraws the caller's request to otherID.
func (s *Service) CancelFriendRequest(ctx context.Context, meID, otherID string) error {
	_, err := s.change(ctx, meID, otherID, func(mine, theirs RelType) (RelType, RelType, error) {
		if mine != RelOutgoing {
			return 0, 0, errs.NotFound("no friend request to this user")
		}
		return RelNone, RelNone, nil
	})
	return err
}

// RemoveFriend ends a friendship.
func (s *Service) RemoveFriend(ctx context.Context, meID, otherID string) error {
	_, err := s.change(ctx, meID, otherID, func(mine, theirs RelType) (RelType, RelType, error) {
		if mine != RelFriend {
			return 0, 0, errs.NotFound("not a friend")
		}
		return RelNone, RelNone, nil
	})
	return err
}

// BlockUser blocks otherID: any friendship or request between the two ends.
// The other user's own block of the caller, if any, stays.
func (s *Service) BlockUser(ctx context.Context, meID, otherID string) (View, error) {
	return s.change(ctx, meID, otherID, func(mine, theirs RelType) (RelType, RelType, error) {
		if theirs != RelBlocked {
			theirs = RelNone
		}
		return RelBlocked, theirs, nil
	})
}

// UnblockUser lifts the caller's block of otherID.
func (s *Service) UnblockUser(ctx context.Context, meID, otherID string) error {
	_, err := s.change(ctx, meID, otherID, func(mine, theirs RelType) (RelType, RelType, error) {
		if mine != RelBlocked {
			return 0, 0, errs.NotFound("this user is not blocked")
		}
		return RelNone, theirs, nil
	})
	return err
}

func (s *Service) change(ctx context.Context, meID, otherID string, f transition) (View, error) {
	me, other, err := s.pair(ctx, meID, otherID)
	if err != nil {
		return View{}, err
	}
	return s.mutate(ctx, me, other, f)
}

// ListRelationships pages through the caller's relationships by other id,
// only of type t unless t is RelNone; next is empty at the end.
func (s *Service) ListRelationships(ctx context.Context, meID string, t RelType, after string, limit int) (views []View, next string, err error) {
	rels, err := s.d.Relationships.ListRelationships(ctx, meID, t, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	if len(rels) > limit {
		rels = rels[:limit]
		next = rels[limit-1].OtherID
	}
	ids := make([]string, len(rels))
	for i, r := range rels {
		ids[i] = r.OtherID
	}
	users, err := s.d.Users.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	byID := make(map[string]User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	views = make([]View, 0, len(rels))
	for _, r := range rels {
		u, ok := byID[r.OtherID]
		if !ok {
			u = User{ID: r.OtherID}
		}
		views = append(views, View{Other: u, Type: r.Type, UpdatedAt: r.UpdatedAt})
	}
	return views, next, nil
}
