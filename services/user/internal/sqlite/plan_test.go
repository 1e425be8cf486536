package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/sqlitex"
)

// Every statement of the stores is served by the primary key or an index:
// none reads a whole table or sorts rows outside an index, so each costs
// the same with ten users or a million.
func TestEveryQueryUsesAnIndex(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := platformtest.SQLite(t, "")
	if _, err := New(ctx, db); err != nil {
		t.Fatal(err)
	}
	ids, now := idList([]string{"a", "b"}), int64(1)
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"insert user":            {qInsertUser, []any{"i", "l", "l", "d", "", false, "h", now}},
		"user by id":             {qUserByID, []any{"i"}},
		"user by login":          {qUserByLogin, []any{"l"}},
		"users by ids":           {qUsersByIDs, []any{ids}},
		"search users":           {qSearchUsers, []any{"a", "", "a{", 10}},
		"update profile":         {qUpdateProfile, []any{"d", nil, "i"}},
		"set operator":           {qSetOperator, []any{true, "i"}},
		"set avatar":             {qSetAvatar, []any{"a", "i"}},
		"insert session":         {qInsertSession, []any{"i", "u", "c", now}},
		"session by id":          {qSessionByID, []any{"i"}},
		"revoke session":         {qRevokeSession, []any{now, "i", "u"}},
		"user sessions":          {qUserSessions, []any{"u"}},
		"touch session":          {qTouchSession, []any{now, "i"}},
		"set password hash":      {qSetPasswordHash, []any{"h", "i"}},
		"insert token":           {qInsertToken, []any{"h", "s", "u", now}},
		"token by hash":          {qTokenByHash, []any{"h"}},
		"spend token":            {qSpendToken, []any{now, "h"}},
		"purge tokens":           {qPurgeTokens, []any{"s", now}},
		"relationship":           {qRelationship, []any{"u", "o"}},
		"put relationship":       {qPutRelationship, []any{"u", "o", "friend", now}},
		"delete relationship":    {qDeleteRelationship, []any{"u", "o"}},
		"list relationships":     {qListRelationships, []any{"u", "", "friend", 10}},
		"list all relationships": {qListRelationships, []any{"u", "o", "", 10}},
		"relationships between":  {qRelationshipsBetween, []any{ids, ids}},
	} {
		plan, err := db.Plan(ctx, q.sql, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if bad := sqlitex.Unindexed(plan); len(bad) > 0 {
			t.Errorf("%s reads without an index: %s\n%s", name, strings.Join(bad, "; "), q.sql)
		}
		// A write with no lookup (an INSERT) has an empty plan; a read or
		// an update must show the index it searches.
		if !strings.HasPrefix(strings.TrimSpace(q.sql), "INSERT") && !strings.Contains(strings.Join(plan, "\n"), "SEARCH ") {
			t.Errorf("%s: plan %q searches no index", name, plan)
		}
	}
}
