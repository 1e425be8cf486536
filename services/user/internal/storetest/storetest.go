// Package storetest is the contract of the user service's stores: one
// test function per account store interface, written against the
// interface only and run against every implementation (internal/mongo on
// FerretDB or ACCORD_MONGO_URI, internal/sqlite on a temporary file).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/user/internal/account"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Users checks an account.UserStore; newStore returns an empty one.
func Users(t *testing.T, newStore func(t *testing.T) account.UserStore) {
	t.Run("create and find", func(t *testing.T) {
		s, ctx := newStore(t), testCtx(t)
		created := time.Now()
		u := account.User{Login: "Alice", DisplayName: "Alice A", StatusText: "hi", PasswordHash: "h1", CreatedAt: created}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		if u.ID == "" || !u.CreatedAt.Equal(created.Truncate(time.Millisecond)) {
			t.Fatalf("created user = %+v", u)
		}
		for name, find := range map[string]func() (account.User, error){
			"by id":               func() (account.User, error) { return s.UserByID(ctx, u.ID) },
			"by login":            func() (account.User, error) { return s.UserByLogin(ctx, "Alice") },
			"by login other case": func() (account.User, error) { return s.UserByLogin(ctx, "aLICE") },
		} {
			got, err := find()
			if err != nil || got != u {
				t.Errorf("%s = %+v, %v; want %+v", name, got, err, u)
			}
		}
		for name, find := range map[string]func() (account.User, error){
			"unknown id":    func() (account.User, error) { return s.UserByID(ctx, "0123456789abcdef01234567") },
			"malformed id":  func() (account.User, error) { return s.UserByID(ctx, "not-hex") },
			"unknown login": func() (account.User, error) { return s.UserByLogin(ctx, "bob") },
		} {
			if _, err := find(); !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("%s: err = %v, want NotFound", name, err)
			}
		}
	})

	t.Run("login taken in any case", func(t *testing.T) {
		s, ctx := newStore(t), testCtx(t)
		a := account.User{Login: "ab", CreatedAt: time.Now()}
		if err := s.CreateUser(ctx, &a); err != nil {
			t.Fatal(err)
		}
		b := account.User{Login: "AB", CreatedAt: time.Now()}
		if err := s.CreateUser(ctx, &b); !errors.Is(err, account.ErrLoginTaken) {
			t.Fatalf("duplicate login in another case: %v", err)
		}
	})

	t.Run("search by login prefix", func(t *testing.T) {
		s, ctx := newStore(t), testCtx(t)
		for _, l := range []string{"a.b", "a-c", "ab", "a_d", "a", "b", "Az"} {
			u := account.User{Login: l, DisplayName: l, CreatedAt: time.Now()}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
		}
		// Prefix search covers exactly the keys starting with the prefix, in
		// key order, whatever characters follow it.
		for _, tc := range []struct {
			prefix, after string
			limit         int
			want          string
		}{
			{"a", "", 100, "[a a-c a.b a_d ab Az]"},
			{"a", "", 2, "[a a-c]"},
			{"a", "a.b", 100, "[a_d ab Az]"},
			{"a.", "", 100, "[a.b]"},
			{"az", "", 100, "[Az]"},
			{"c", "", 100, "[]"},
		} {
			us, err := s.SearchUsers(ctx, tc.prefix, tc.after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, u := range us {
				got = append(got, u.Login)
			}
			if fmt.Sprint(got) != tc.want {
				t.Errorf("search %q after %q limit %d = %v, want %s", tc.prefix, tc.after, tc.limit, got, tc.want)
			}
		}
	})

	t.Run("users by ids", func(t *testing.T) {
		s, ctx := newStore(t), testCtx(t)
		var ids []string
		for _, l := range []string{"u1", "u2", "u3"} {
			u := account.User{Login: l, CreatedAt: time.Now()}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		us, err := s.UsersByIDs(ctx, []string{ids[2], "not-hex", ids[0], "0123456789abcdef01234567"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range us {
			got = append(got, u.Login)
		}
		slices.Sort(got)
		if fmt.Sprint(got) != "[u1 u3]" {
			t.Errorf("users = %v, want [u1 u3]", got)
		}
		if us, err := s.UsersByIDs(ctx, nil); err != nil || len(us) != 0 {
			t.Errorf("no ids = %v, %v", us, err)
		}
	})

	t.Run("update profile and operator", func(t *testing.T) {
		s, ctx := newStore(t), testCtx(t)
		u := account.User{Login: "carol", DisplayName: "Carol", StatusText: "old", CreatedAt: time.Now()}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		name := "Caroline"
		got, err := s.UpdateProfile(ctx, u.ID, account.ProfileUpdate{DisplayName: &name})
		if err != nil || got.DisplayName != "Caroline" || got.StatusText != "old" {
			t.Fatalf("display name only = %+v, %v", got, err)
		}
		empty := ""
		got, err = s.UpdateProfile(ctx, u.ID, account.ProfileUpdate{StatusText: &empty})
		if err != nil || got.DisplayName != "Caroline" || got.StatusText != "" {
			t.Fatalf("status only = %+v, %v", got, err)
		}
		if got, err = s.UpdateProfile(ctx, u.ID, account.ProfileUpdate{}); err != nil || got.DisplayName != "Caroline" {
			t.Fatalf("no change = %+v, %v", got, err)
		}
		if got, err = s.SetOperator(ctx, u.ID, true); err != nil || !got.Operator {
			t.Fatalf("set operator = %+v, %v", got, err)
		}
		if got, err = s.UserByID(ctx, u.ID); err != nil || !got.Operator || got.DisplayName != "Caroline" {
			t.Fatalf("read back = %+v, %v", got, err)
		}
		if got, err = s.SetOperator(ctx, u.ID, false); err != nil || got.Operator {
			t.Fatalf("clear operator = %+v, %v", got, err)
		}
		if got, err = s.SetAvatar(ctx, u.ID, "0123abcd"); err != nil || got.Avatar != "0123abcd" || got.DisplayName != "Caroline" {
			t.Fatalf("set avatar = %+v, %v", got, err)
		}
		if got, err = s.UserByID(ctx, u.ID); err != nil || got.Avatar != "0123abcd" {
			t.Fatalf("avatar read back = %+v, %v", got, err)
		}
		if us, err := s.UsersByIDs(ctx, []string{u.ID}); err != nil || len(us) != 1 || us[0].Avatar != "0123abcd" {
			t.Fatalf("avatar in a batch = %+v, %v", us, err)
		}
		if got, err = s.SetAvatar(ctx, u.ID, ""); err != nil || got.Avatar != "" {
			t.Fatalf("remove avatar = %+v, %v", got, err)
		}
		for _, id := range []string{"0123456789abcdef01234567", "not-hex"} {
			if _, err := s.UpdateProfile(ctx, id, account.ProfileUpdate{DisplayName: &name}); !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("update %s: %v", id, err)
			}
			if _, err := s.SetOperator(ctx, id, true); !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("set operator %s: %v", id, err)
			}
			if _, err := s.SetAvatar(ctx, id, "x"); !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("set avatar %s: %v", id, err)
			}
		}
	})
}

// Sessions checks an account.SessionStore; newStore returns an empty one.
func Sessions(t *testing.T, newStore func(t *testing.T) account.SessionStore) {
	t.Run("sessions", func(t *testing.T) {
		s, ctx := newStore(t), testCtx(t)
		created := time.Now()
		sess := account.Session{UserID: "u1", Client: "web", CreatedAt: created}
		if err := s.CreateSession(ctx, &sess); err != nil {
			t.Fatal(err)
		}
		if sess.ID == "" || !sess.CreatedAt.Equal(created.Truncate(time.Millisecond)) {
			t.Fatalf("created session = %+v", sess)
		}
		if got, err := s.SessionByID(ctx, sess.ID); err != nil || got != sess {
			t.Fatalf("session = %+v, %v; want %+v", got, err, sess)
		}
		for _, id := range []string{"0123456789abcdef01234567", "not-hex"} {
			if _, err := s.SessionByID(ctx, id); !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("session %s: %v", id, err)
			}
			if err := s.RevokeSession(ctx, "u1", id); !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("revoke %s: %v", id, err)
			}
		}
		if err := s.RevokeSession(ctx, "someone-else", sess.ID); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("revoking another user's session: %v", err)
		}
		if got, _ := s.SessionByID(ctx, sess.ID); got.Revoked {
			t.Fatal("another user revoked the session")
		}
		if err := s.RevokeSession(ctx, "u1", sess.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SessionByID(ctx, sess.ID); err != nil || !got.Revoked {
			t.Fatalf("session = %+v, %v", got, err)
		}
	})

	t.Run("a user's live sessions and when they were last used", func(t *testing.T) {
		s, ctx := newStore(t), testCtx(t)
		if got, err := s.ListSessions(ctx, "u1"); err != nil || len(got) != 0 {
			t.Fatalf("sessions of a new user = %+v, %v", got, err)
		}
		base := time.Now().Truncate(time.Millisecond).UTC()
		var mine []account.Session
		for i, u := range []string{"u1", "u1", "u2", "u1"} {
			sess := account.Session{UserID: u, Client: "web", CreatedAt: base.Add(time.Duration(i) * time.Second)}
			if err := s.CreateSession(ctx, &sess); err != nil {
				t.Fatal(err)
			}
			if u == "u1" {
				mine = append(mine, sess)
			}
		}
		used := base.Add(time.Hour)
		if err := s.TouchSession(ctx, mine[0].ID, used); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeSession(ctx, "u1", mine[1].ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListSessions(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(a, b account.Session) int { return a.CreatedAt.Compare(b.CreatedAt) })
		mine[0].LastUsedAt = used
		want := []account.Session{mine[0], mine[2]}
		if len(got) != len(want) {
			t.Fatalf("sessions = %+v; want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("session %d = %+v; want %+v", i, got[i], want[i])
			}
		}
		if one, err := s.SessionByID(ctx, mine[0].ID); err != nil || !one.LastUsedAt.Equal(used) {
			t.Fatalf("touched session = %+v, %v", one, err)
		}
	})

	t.Run("refresh tokens", func(t *testing.T) {
		s, ctx := newStore(t), testCtx(t)
		sess := account.Session{UserID: "u1", CreatedAt: time.Now()}
		if err := s.CreateSession(ctx, &sess); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for _, tok := range []account.RefreshToken{
			{Hash: "old", SessionID: sess.ID, UserID: "u1", ExpiresAt: now.Add(-time.Hour)},
			{Hash: "new", SessionID: sess.ID, UserID: "u1", ExpiresAt: now.Add(time.Hour)},
			{Hash: "other", SessionID: "another-session", UserID: "u1", ExpiresAt: now.Add(-time.Hour)},
		} {
			if err := s.CreateRefreshToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		tok, err := s.SpendRefreshToken(ctx, "old")
		want := account.RefreshToken{Hash: "old", SessionID: sess.ID, UserID: "u1", ExpiresAt: now.Add(-time.Hour).UTC().Truncate(time.Millisecond), Spent: true}
		if err != nil || tok != want {
			t.Fatalf("spend = %+v, %v; want %+v", tok, err, want)
		}
		tok, err = s.SpendRefreshToken(ctx, "old")
		if !errors.Is(err, account.ErrTokenSpent) || tok.SessionID != sess.ID {
			t.Fatalf("second spend = %+v, %v; want the token and ErrTokenSpent", tok, err)
		}
		if _, err := s.SpendRefreshToken(ctx, "unknown"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}
		if err := s.PurgeRefreshTokens(ctx, sess.ID, now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SpendRefreshToken(ctx, "old"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("purged token: %v", err)
		}
		if tok, err := s.SpendRefreshToken(ctx, "new"); err != nil || tok.SessionID != sess.ID {
			t.Fatalf("unexpired token after purge: %v, %v", tok, err)
		}
		// Purging one session leaves the others' tokens.
		if _, err := s.SpendRefreshToken(ctx, "other"); err != nil {
			t.Fatalf("another session's expired token after purge: %v", err)
		}
	})

	t.Run("a token is spent once under concurrent use", func(t *testing.T) {
		s, ctx := newStore(t), testCtx(t)
		if err := s.CreateRefreshToken(ctx, account.RefreshToken{Hash: "h", SessionID: "s", UserID: "u", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		results := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.SpendRefreshToken(ctx, "h")
				results <- err
			}()
		}
		wg.Wait()
		close(results)
		won, spent := 0, 0
		for err := range results {
			switch {
			case err == nil:
				won++
			case errors.Is(err, account.ErrTokenSpent):
				spent++
			default:
				t.Errorf("spend: %v", err)
			}
		}
		if won != 1 || spent != n-1 {
			t.Fatalf("%d spends won and %d saw reuse; want 1 and %d", won, spent, n-1)
		}
	})
}

// Relationships checks an account.RelationshipStore; newStore returns an
// empty one.
func Relationships(t *testing.T, newStore func(t *testing.T) account.RelationshipStore) {
	t.Run("put, replace, list, delete", func(t *testing.T) {
		s, ctx := newStore(t), testCtx(t)
		now := time.Now()
		put := func(u, o string, ty account.RelType) {
			t.Helper()
			if err := s.PutRelationship(ctx, account.Relationship{UserID: u, OtherID: o, Type: ty, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		if r, err := s.Relationship(ctx, "a", "b"); err != nil || r != (account.Relationship{UserID: "a", OtherID: "b"}) {
			t.Fatalf("no relationship = %+v, %v", r, err)
		}
		put("a", "b", account.RelOutgoing)
		put("a", "b", account.RelFriend) // replaces, never duplicates
		put("a", "c", account.RelBlocked)
		put("a", "d", account.RelFriend)
		put("c", "a", account.RelBlocked)
		r, err := s.Relationship(ctx, "a", "b")
		want := account.Relationship{UserID: "a", OtherID: "b", Type: account.RelFriend, UpdatedAt: now.UTC().Truncate(time.Millisecond)}
		if err != nil || r != want {
			t.Fatalf("a>b = %+v, %v; want %+v", r, err, want)
		}
		others := func(rs []account.Relationship) string {
			var o []string
			for _, r := range rs {
				o = append(o, r.OtherID)
			}
			return fmt.Sprint(o)
		}
		for _, tc := range []struct {
			ty    account.RelType
			after string
			limit int
			want  string
		}{
			{account.RelNone, "", 10, "[b c d]"},
			{account.RelNone, "", 2, "[b c]"},
			{account.RelNone, "b", 10, "[c d]"},
			{account.RelFriend, "", 10, "[b d]"},
			{account.RelFriend, "b", 10, "[d]"},
			{account.RelBlocked, "", 10, "[c]"},
			{account.RelIncoming, "", 10, "[]"},
		} {
			list, err := s.ListRelationships(ctx, "a", tc.ty, tc.after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := others(list); got != tc.want {
				t.Errorf("list %v after %q limit %d = %s, want %s", tc.ty, tc.after, tc.limit, got, tc.want)
			}
		}
		between, err := s.RelationshipsBetween(ctx, []string{"b", "c"}, []string{"a"})
		if err != nil || len(between) != 1 || between[0].UserID != "c" || between[0].Type != account.RelBlocked {
			t.Fatalf("between = %+v, %v", between, err)
		}
		between, err = s.RelationshipsBetween(ctx, []string{"a", "c"}, []string{"a", "c", "d"})
		if err != nil || len(between) != 3 {
			t.Fatalf("between a,c x a,c,d = %+v, %v; want a>c, a>d, c>a", between, err)
		}
		if between, err = s.RelationshipsBetween(ctx, nil, []string{"a"}); err != nil || len(between) != 0 {
			t.Fatalf("between no owners = %+v, %v", between, err)
		}
		if err := s.DeleteRelationship(ctx, "a", "b"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRelationship(ctx, "a", "b"); err != nil {
			t.Fatalf("deleting a missing side: %v", err)
		}
		if r, err := s.Relationship(ctx, "a", "b"); err != nil || r.Type != account.RelNone {
			t.Fatalf("deleted a>b = %+v, %v", r, err)
		}
		if r, _ := s.Relationship(ctx, "c", "a"); r.Type != account.RelBlocked {
			t.Fatalf("the other side went with it: %+v", r)
		}
	})

	t.Run("concurrent puts of one side leave one", func(t *testing.T) {
		s, ctx := newStore(t), testCtx(t)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ty := account.RelOutgoing
				if i%2 == 0 {
					ty = account.RelFriend
				}
				if err := s.PutRelationship(ctx, account.Relationship{UserID: "x", OtherID: "y", Type: ty, UpdatedAt: time.Now()}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		list, err := s.ListRelationships(ctx, "x", account.RelNone, "", 10)
		if err != nil || len(list) != 1 {
			t.Fatalf("sides = %+v, %v; want one", list, err)
		}
	})
}
