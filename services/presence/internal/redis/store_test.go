package redis

import (
	"testing"
	"time"

	"github.com/accordchat/accord/services/presence/internal/presence"
)

func TestUnpack(t *testing.T) {
	now := time.UnixMilli(2_000)
	for _, tc := range []struct {
		name, raw string
		want      presence.State
	}{
		{"missing", "", presence.State{UserID: "u", Status: presence.StatusOnline}},
		{"garbage", "x|y", presence.State{UserID: "u", Status: presence.StatusOnline}},
		{"online", "1|3|1000|900|7|3000", presence.State{UserID: "u", Online: true, Status: presence.StatusIdle,
			SelfTime: time.UnixMilli(1000), OthersTime: time.UnixMilli(900), Version: 7}},
		{"every session expired", "1|2|1000|1000|7|1999", presence.State{UserID: "u", Status: presence.StatusOnline,
			SelfTime: time.UnixMilli(1000), OthersTime: time.UnixMilli(1000), Version: 7}},
		{"offline invisible", "0|5|1000|0|2|0", presence.State{UserID: "u", Status: presence.StatusInvisible,
			SelfTime: time.UnixMilli(1000), Version: 2}},
		{"bad status", "1|9|1|1|1|3000", presence.State{UserID: "u", Online: true, Status: presence.StatusOnline,
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
	if st.UserID != "abc" || !st.Online || st.Status != presence.StatusDND || st.Version != 3 {
		t.Fatalf("got %+v", st)
	}
	for _, bad := range []string{"", "abc", "|1|4|10|10|3|20", "abc|1|4|10|10|3"} {
		if _, err := ParseChange(bad); err == nil {
			t.Errorf("%q: no error", bad)
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
