package paging_test

import (
	"errors"
	"testing"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/paging"
)

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		n    int32
		want int
	}{{0, 50}, {1, 1}, {50, 50}, {100, 100}, {101, 100}, {1 << 30, 100}} {
		got, err := paging.Size(tc.n, 50, 100)
		if err != nil || got != tc.want {
			t.Errorf("Size(%d) = %d, %v; want %d", tc.n, got, err, tc.want)
		}
	}
	_, err := paging.Size(-1, 50, 100)
	if e, ok := errs.As(err); !ok || e.Kind != errs.KindInvalidArgument || e.Field != "page_size" {
		t.Errorf("Size(-1) error %v, want INVALID_ARGUMENT on page_size", err)
	}
}

func TestTokens(t *testing.T) {
	if paging.Token("") != "" {
		t.Error("an empty key must end the list with an empty token")
	}
	for _, key := range []string{"a", "65f0c0ffee0000000000beef", "user/with:colons"} {
		got, err := paging.After(paging.Token(key), nil)
		if err != nil || got != key {
			t.Errorf("After(Token(%q)) = %q, %v", key, got, err)
		}
	}
	if got, err := paging.After("", nil); got != "" || err != nil {
		t.Errorf("After(\"\") = %q, %v; want the first page", got, err)
	}
	hex := func(s string) bool { return len(s) == 24 }
	for _, bad := range []string{"%%%", "bm90LWEtdG9rZW4", paging.Token("short")} {
		_, err := paging.After(bad, hex)
		var e *errs.Error
		if !errors.As(err, &e) || e.Field != "page_token" {
			t.Errorf("After(%q) error %v, want INVALID_ARGUMENT on page_token", bad, err)
		}
	}
}

func TestTrim(t *testing.T) {
	key := func(s string) string { return s }
	if got, next := paging.Trim([]string{"a", "b"}, 2, key); len(got) != 2 || next != "" {
		t.Fatalf("a full last page: %v %q, want both items and no token", got, next)
	}
	got, next := paging.Trim([]string{"a", "b", "c"}, 2, key)
	if len(got) != 2 || next != paging.Token("b") {
		t.Fatalf("one item more than the limit: %v %q, want [a b] and the token after b", got, next)
	}
}
