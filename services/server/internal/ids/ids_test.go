package ids_test

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/accordchat/accord/services/server/internal/ids"
)

func TestNew(t *testing.T) {
	a, b := ids.New(), ids.New()
	if !ids.Valid(a) || !ids.Valid(b) || a == b {
		t.Fatalf("ids %q %q", a, b)
	}
	// The layout is an ObjectID's, so the Mongo store keeps ids as such.
	o, err := bson.ObjectIDFromHex(a)
	if err != nil || o.Hex() != a {
		t.Fatalf("not an ObjectID: %q %v", a, err)
	}
	if d := time.Since(ids.Time(a)); d < 0 || d > time.Minute {
		t.Fatalf("time part %v", ids.Time(a))
	}
	if ids.At(time.Now().Add(time.Hour)) <= ids.At(time.Now()) {
		t.Fatal("a later time made a smaller id")
	}
}

func TestAfter(t *testing.T) {
	future := ids.At(time.Now().Add(time.Hour))
	for _, tc := range []struct{ name, last string }{
		{"none", ""},
		{"past", ids.At(time.Now().Add(-time.Hour))},
		{"future", future},
		{"carry", "0000000000000000000000ff"},
	} {
		if got := ids.After(tc.last); !ids.Valid(got) || got <= tc.last {
			t.Errorf("%s: After(%q) = %q", tc.name, tc.last, got)
		}
	}
	if got := ids.After("ffffffff0000000000000fff"); got != "ffffffff000000000000100"+"0" {
		t.Errorf("carry = %q", got)
	}
}

func TestValid(t *testing.T) {
	for s, want := range map[string]bool{
		"0123456789abcdef01234567": true,
		"0123456789ABCDEF01234567": false,
		"0123456789abcdef0123456":  false,
		"0123456789abcdef0123456g": false,
		"":                         false,
	} {
		if got := ids.Valid(s); got != want {
			t.Errorf("Valid(%q) = %v", s, got)
		}
	}
}
