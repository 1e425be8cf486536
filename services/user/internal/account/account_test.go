package account

import (
	"errors"
	"strings"
	"testing"

	"github.com/accordchat/accord/platform/errs"
)

func TestNormalizeDisplayName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"  Ann  ", "Ann", true},
		{"\u00a0Ann\u3000", "Ann", true},
		{"Émile Zola", "Émile Zola", true},
		{strings.Repeat("é", 32), strings.Repeat("é", 32), true},
		{" " + strings.Repeat("a", 32) + " ", strings.Repeat("a", 32), true},
		{strings.Repeat("a", 33), "", false},
		{"", "", false},
		{" \u2003 ", "", false},
		{"a\tb", "", false},
		{"a\u200bb", "", false}, // zero-width space is a format character
		{"a\u202eb", "", false}, // bidi override
		{"\ue000", "", false},   // private use
		{"\u0378", "", false},   // unassigned
		{"a\xffb", "", false},   // not UTF-8
	} {
		got, err := NormalizeDisplayName("f", tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("NormalizeDisplayName(%q) = %q, %v", tc.in, got, err)
		}
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Field != "f" || !errors.Is(err, errs.ErrInvalidArgument) {
				t.Errorf("NormalizeDisplayName(%q) error = %#v", tc.in, err)
			}
		}
	}
}

func TestValidateLogin(t *testing.T) {
	for in, ok := range map[string]bool{
		"abc": true, "A.b-C_9": true, strings.Repeat("x", 32): true,
		"ab": false, strings.Repeat("x", 33): false, "a b": false, "ümlaut": false, "a/b": false, "": false,
	} {
		if err := ValidateLogin("login", in); (err == nil) != ok {
			t.Errorf("ValidateLogin(%q) = %v", in, err)
		}
	}
	if LoginKey("MiXeD.Case") != "mixed.case" {
		t.Fatal("LoginKey")
	}
}

func TestPairLockNameSymmetric(t *testing.T) {
	if pairLockName("a", "b") != pairLockName("b", "a") {
		t.Fatal("pair lock differs by side")
	}
}
