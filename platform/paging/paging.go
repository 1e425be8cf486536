// Package paging holds the list rules every Accord service follows (AIP-158):
// a page size of 0 means the list's default, sizes above its maximum are
// clamped, a negative size is refused; page tokens are opaque to clients
// (base64url of the key to continue after, with a version prefix so that
// their shape can change later), and an empty next_page_token ends a list.
// It is pure: domain packages may use it.
package paging

import (
	"encoding/base64"
	"strings"

	"github.com/accordchat/accord/platform/errs"
)

// Size applies the rules to a requested page size n: 0 is def, above max is
// max, negative is INVALID_ARGUMENT on page_size.
func Size(n int32, def, max int) (int, error) {
	switch {
	case n < 0:
		return 0, errs.Invalid("page_size", "must not be negative")
	case n == 0:
		return def, nil
	case int(n) > max:
		return max, nil
	}
	return int(n), nil
}

// version prefixes every token's key.
const version = "1:"

// Token returns the page token that continues after key; "" (the end of
// the list) for an empty key.
func Token(key string) string {
	if key == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(version + key))
}

// After decodes a page token into the key to continue after: "" for an
// empty token (the first page). A token that was not made by Token, or
// whose key valid rejects (valid may be nil), is INVALID_ARGUMENT on
// page_token.
func After(tok string, valid func(key string) bool) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	key, ok := "", false
	if err == nil {
		key, ok = strings.CutPrefix(string(b), version)
	}
	if !ok || key == "" || (valid != nil && !valid(key)) {
		return "", errs.Invalid("page_token", "not a page token from this list")
	}
	return key, nil
}

// Trim cuts a page read with one item more than limit (the way every list
// asks its store, to learn whether more follow) back to limit, and returns
// the next page's token: the key of the page's last item, or "" at the end.
func Trim[T any](items []T, limit int, key func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, Token(key(items[limit-1]))
}
