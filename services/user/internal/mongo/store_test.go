package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/user/internal/account"
	"github.com/accordchat/accord/services/user/internal/mongo"
)

func newStore(t *testing.T) (*mongo.Store, context.Context) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	s, err := mongo.New(ctx, platformtest.Mongo(t))
	if err != nil {
		t.Fatal(err)
	}
	// Ensuring the indexes again is a no-op.
	return s, ctx
}

func TestUsers(t *testing.T) {
	s, ctx := newStore(t)
	for _, l := range []string{"a.b", "a-c", "ab", "a_d", "a", "b", "Az"} {
		u := account.User{Login: l, DisplayName: l, CreatedAt: time.Now()}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	u := account.User{Login: "AB"}
	if err := s.CreateUser(ctx, &u); !errors.Is(err, account.ErrLoginTaken) {
		t.Fatalf("duplicate login in another case: %v", err)
	}
	// Prefix search covers exactly the keys starting with the prefix, in
	// key order, whatever characters follow it.
	for _, tc := range []struct{ prefix, after, want string }{
		{"a", "", "[a a-c a.b a_d ab Az]"},
		{"a", "a.b", "[a_d ab Az]"},
		{"a.", "", "[a.b]"},
		{"az", "", "[Az]"},
		{"c", "", "[]"},
	} {
		us, err := s.SearchUsers(ctx, tc.prefix, tc.after, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range us {
			got = append(got, u.Login)
		}
		if fmt.Sprint(got) != tc.want && !(tc.want == "[]" && len(got) == 0) {
			t.Errorf("search %q after %q = %v, want %s", tc.prefix, tc.after, got, tc.want)
		}
	}
	if _, err := s.UserByID(ctx, "not-hex"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("malformed id: %v", err)
	}
}

func TestRefreshTokens(t *testing.T) {
	s, ctx := newStore(t)
	sess := account.Session{UserID: "u1", CreatedAt: time.Now()}
	if err := s.CreateSession(ctx, &sess); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tok := range []account.RefreshToken{
		{Hash: "old", SessionID: sess.ID, UserID: "u1", ExpiresAt: now.Add(-time.Hour)},
		{Hash: "new", SessionID: sess.ID, UserID: "u1", ExpiresAt: now.Add(time.Hour)},
	} {
		if err := s.CreateRefreshToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SpendRefreshToken(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SpendRefreshToken(ctx, "old"); !errors.Is(err, account.ErrTokenSpent) {
		t.Fatalf("second spend: %v", err)
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
	if err := s.RevokeSession(ctx, "someone-else", sess.ID); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("revoking another user's session: %v", err)
	}
	if err := s.RevokeSession(ctx, "u1", sess.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SessionByID(ctx, sess.ID); err != nil || !got.Revoked {
		t.Fatalf("session = %+v, %v", got, err)
	}
}

func TestRelationships(t *testing.T) {
	s, ctx := newStore(t)
	now := time.Now()
	put := func(u, o string, ty account.RelType) {
		if err := s.PutRelationship(ctx, account.Relationship{UserID: u, OtherID: o, Type: ty, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	put("a", "b", account.RelOutgoing)
	put("a", "b", account.RelFriend) // replaces, never duplicates
	put("a", "c", account.RelBlocked)
	put("c", "a", account.RelBlocked)
	r, err := s.Relationship(ctx, "a", "b")
	if err != nil || r.Type != account.RelFriend || !r.UpdatedAt.Equal(now.Truncate(time.Millisecond)) {
		t.Fatalf("a>b = %+v, %v", r, err)
	}
	list, err := s.ListRelationships(ctx, "a", account.RelNone, "", 10)
	if err != nil || len(list) != 2 || list[0].OtherID != "b" || list[1].OtherID != "c" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	between, err := s.RelationshipsBetween(ctx, []string{"b", "c"}, []string{"a"})
	if err != nil || len(between) != 1 || between[0].UserID != "c" {
		t.Fatalf("between = %+v, %v", between, err)
	}
	if err := s.DeleteRelationship(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Relationship(ctx, "a", "b"); err != nil || r.Type != account.RelNone {
		t.Fatalf("deleted a>b = %+v, %v", r, err)
	}
}
