package store

import (
	"testing"
	"time"
)

func TestUnpack(t *testing.T) {
	now := time.UnixMilli(2_000)
	for _, tc := range []struct {
		name, raw string
		want      State
	}{
		{"missing", "", State{UserID: "u", Status: StatusOnline}},
		{"garbage", "x|y", State{UserID: "u", Status: StatusOnline}},
		{"online", "1|3|1000|900|7|3000", State{UserID: "u", Online: true, Status: StatusIdle,
			SelfTime: time.UnixMilli(1000), OthersTime: time.UnixMilli(900), Version: 7}},
		{"every session expired", "1|2|1000|1000|7|1999", State{UserID: "u", Status: StatusOnline,
			SelfTime: time.UnixMilli(1000), OthersTime: time.UnixMilli(1000), Version: 7}},
		{"offline invisible", "0|5|1000|0|2|0", State{UserID: "u", Status: StatusInvisible,
			SelfTime: time.UnixMilli(1000), Version: 2}},
		{"bad status", "1|9|1|1|1|3000", State{UserID: "u", Online: true, Status: StatusOnline,
			SelfTime: time.UnixMilli(1), OthersTime: time.UnixMilli(1), Version: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unpack("u", tc.raw, now); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseChange(t *testing.T) {
	st, err := ParseChange("abc|1|4|10|10|3|20")
	if err != nil {
		t.Fatal(err)
	}
	if st.UserID != "abc" || !st.Online || st.Status != StatusDND || st.Version != 3 {
		t.Fatalf("got %+v", st)
	}
	for _, bad := range []string{"", "abc", "|1|4|10|10|3|20", "abc|1|4|10|10|3"} {
		if _, err := ParseChange(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

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

func FuzzParseChange(f *testing.F) {
	f.Add("abc|1|4|10|10|3|20")
	f.Add("a||||||")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseChange(s)
		if err == nil && st.UserID == "" {
			t.Fatal("accepted a change without user")
		}
	})
}
