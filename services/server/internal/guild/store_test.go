package guild_test

import (
	"testing"
	"time"

	"github.com/accordchat/accord/services/server/internal/guild"
)

func TestRoleRank(t *testing.T) {
	order := []guild.Role{guild.RoleNone, guild.RoleMember, guild.RoleAdmin, guild.RoleOwner}
	for i, a := range order {
		for j, b := range order {
			if got, want := a.AtLeast(b), i >= j; got != want {
				t.Errorf("%v.AtLeast(%v) = %v, want %v", a, b, got, want)
			}
			if got, want := a.Outranks(b), i > j; got != want {
				t.Errorf("%v.Outranks(%v) = %v, want %v", a, b, got, want)
			}
		}
	}
	if guild.Role(99).AtLeast(guild.RoleMember) {
		t.Error("an unknown role ranks as a member")
	}
}

func TestInviteLive(t *testing.T) {
	now := time.Now()
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	for _, tc := range []struct {
		name string
		inv  guild.Invite
		want bool
	}{
		{"forever", guild.Invite{}, true},
		{"expired", guild.Invite{ExpiresAt: &past}, false},
		{"not yet expired", guild.Invite{ExpiresAt: &future}, true},
		{"uses left", guild.Invite{MaxUses: 2, Uses: 1}, true},
		{"used up", guild.Invite{MaxUses: 2, Uses: 2}, false},
	} {
		if got := tc.inv.Live(now); got != tc.want {
			t.Errorf("%s: Live = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDMKey(t *testing.T) {
	if guild.DMKey("b", "a") != "a:b" || guild.DMKey("a", "b") != "a:b" {
		t.Fatal("the key depends on the order of the users")
	}
}
