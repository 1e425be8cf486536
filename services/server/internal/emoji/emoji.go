// Package emoji tells whether a string is one Unicode emoji, by the
// emoji-test data of the Unicode Consortium that github.com/forPelevin/gomoji
// carries: every fully-qualified, minimally-qualified and unqualified emoji
// and emoji sequence (skin tones, ZWJ sequences, flags, keycaps). Arbitrary
// text, several emojis in a row or half a sequence are not one.
package emoji

import (
	"unicode/utf8"

	"github.com/forPelevin/gomoji"
)

// Valid reports whether s is exactly one emoji. The components that
// emoji-test lists on their own (a lone regional indicator, a lone skin
// tone or hair style) are parts of emojis, not emojis to react with.
func Valid(s string) bool {
	if s == "" {
		return false
	}
	if r, n := utf8.DecodeRuneInString(s); n == len(s) && component(r) {
		return false
	}
	_, err := gomoji.GetInfo(s)
	return err == nil
}

// component reports whether r is an emoji component: a regional indicator
// letter, a skin tone modifier or a hair style.
func component(r rune) bool {
	return (r >= 0x1F1E6 && r <= 0x1F1FF) || (r >= 0x1F3FB && r <= 0x1F3FF) || (r >= 0x1F9B0 && r <= 0x1F9B3)
}
