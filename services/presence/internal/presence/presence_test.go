package presence

import (
	"testing"
	"time"
)

func TestNewer(t *testing.T) {
	old := State{Version: 5, SelfTime: time.UnixMilli(100)}
	for _, tc := range []struct {
		name string
		s    State
		want bool
	}{
		{"later version", State{Version: 6, SelfTime: time.UnixMilli(100)}, true},
		{"same", old, false},
		{"older", State{Version: 4, SelfTime: time.UnixMilli(90)}, false},
		{"after Redis lost its data", State{Version: 1, SelfTime: time.UnixMilli(200)}, true},
	} {
		if got := tc.s.Newer(old); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestView(t *testing.T) {
	self, other := time.UnixMilli(200), time.UnixMilli(100)
	st := func(online bool, s Status) State {
		return State{UserID: "u", Online: online, Status: s, SelfTime: self, OthersTime: other}
	}
	for _, tc := range []struct {
		name    string
		viewer  string
		st      State
		visible bool
		want    Presence
	}{
		{"online to others", "v", st(true, StatusDND), true, Presence{"u", StatusDND, other}},
		{"invisible to others", "v", st(true, StatusInvisible), true, Presence{"u", StatusOffline, other}},
		{"invisible to self", "u", st(true, StatusInvisible), true, Presence{"u", StatusInvisible, self}},
		{"offline to self", "u", st(false, StatusIdle), true, Presence{"u", StatusOffline, self}},
		{"hidden", "v", st(true, StatusOnline), false, Presence{"u", StatusOffline, time.Time{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := View(tc.viewer, tc.st, tc.visible); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
