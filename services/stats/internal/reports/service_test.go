package reports

import (
	"context"
	"errors"
	"testing"

	"github.com/accordchat/accord/platform/errs"
)

// roles answers from a fixed map, as the server service would.
type roles map[string]Role // "<server>/<user>"

func (r roles) MemberRole(_ context.Context, serverID, userID string) (Role, error) {
	return r[serverID+"/"+userID], nil
}

func TestAuthorize(t *testing.T) {
	s := NewService(Deps{Roles: roles{"s/owner": RoleOwner, "s/admin": RoleAdmin, "s/member": RoleMember}})
	for _, tc := range []struct {
		name           string
		v              Viewer
		server, user   string
		wantPermDenied bool
	}{
		{"operator, global", Viewer{UserID: "op", Operator: true}, "", "", false},
		{"operator, any server", Viewer{UserID: "op", Operator: true}, "s", "", false},
		{"user, global", Viewer{UserID: "u"}, "", "", true},
		{"user, own activity", Viewer{UserID: "u"}, "", "u", false},
		{"user, another's activity", Viewer{UserID: "u"}, "", "x", true},
		{"owner", Viewer{UserID: "owner"}, "s", "", false},
		{"admin", Viewer{UserID: "admin"}, "s", "", false},
		{"member", Viewer{UserID: "member"}, "s", "", true},
		{"stranger", Viewer{UserID: "stranger"}, "s", "", true},
		{"stranger, unknown server", Viewer{UserID: "stranger"}, "nope", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.authorize(context.Background(), tc.v, tc.server, tc.user)
			if got := errors.Is(err, errs.ErrPermissionDenied); got != tc.wantPermDenied || (!tc.wantPermDenied && err != nil) {
				t.Fatalf("got %v, want permission denied %v", err, tc.wantPermDenied)
			}
		})
	}
}

func TestCheckActivity(t *testing.T) {
	for _, tc := range []struct {
		name  string
		q     SeriesQuery
		field string
	}{
		{"daily messages of a server", SeriesQuery{Metric: Messages, Window: Month, ServerID: "s"}, ""},
		{"hourly, last 7 days", SeriesQuery{Metric: Connections, Window: Week, Hourly: true}, ""},
		{"hourly, last 30 days", SeriesQuery{Metric: Messages, Window: Month, Hourly: true}, "granularity"},
		{"hourly, all time", SeriesQuery{Metric: Messages, Window: All, Hourly: true}, "granularity"},
		{"connections of a server", SeriesQuery{Metric: Connections, Window: Week, ServerID: "s"}, "server_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckActivity(tc.q)
			var e *errs.Error
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tc.field != "" && (!errors.As(err, &e) || e.Kind != errs.KindInvalidArgument || e.Field != tc.field):
				t.Fatalf("got %v, want INVALID_ARGUMENT on %s", err, tc.field)
			}
		})
	}
}
