package emoji

import "testing"

func TestValid(t *testing.T) {
	for _, s := range []string{
		"👍", "😀", "❤️", "❤", // with and without the emoji presentation selector
		"👍🏽",       // skin tone
		"👨‍👩‍👧‍👦",  // ZWJ family
		"🧑🏿‍💻",     // ZWJ with a skin tone
		"🏳️‍🌈",     // ZWJ flag
		"🇫🇷", "🇯🇵", // regional indicator flags
		"#️⃣", "1️⃣", // keycaps
		"🏴󠁧󠁢󠁳󠁣󠁴󠁿", // tag sequence (Scotland)
	} {
		if !Valid(s) {
			t.Errorf("Valid(%q) = false, want true", s)
		}
	}
	for _, s := range []string{
		"", "a", "+1", ":thumbsup:", "hello", "1", "#",
		"👍👍",          // two emojis
		"👍 ",          // trailing space
		"🇫",           // half a flag
		"🏽",           // a lone skin tone
		"🦰",           // a lone hair style
		"<img src=x>", // markup
		"\u200d",      // a lone joiner
		"👍\u200d",     // a dangling joiner
	} {
		if Valid(s) {
			t.Errorf("Valid(%q) = true, want false", s)
		}
	}
}
