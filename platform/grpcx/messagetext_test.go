package grpcx_test

import (
	"strings"
	"testing"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
)

// TestMessageTextRule checks the one rule for message text, on send and on
// edit: newline and tab are the only control characters a message may hold.
func TestMessageTextRule(t *testing.T) {
	v, err := protovalidate.New()
	if err != nil {
		t.Fatal(err)
	}
	const id = "0123456789abcdef01234567"
	reqs := map[string]func(content string) proto.Message{
		"send": func(c string) proto.Message { return &serverv1.SendMessageRequest{ChannelId: id, Content: c} },
		"edit": func(c string) proto.Message {
			return &serverv1.UpdateMessageRequest{ChannelId: id, MessageId: id, Content: c}
		},
	}
	for name, req := range reqs {
		for _, ok := range []string{"hello", "two\nlines", "a\ttab", "héllo 🎉 ünïcode", "\u00a0non-breaking", strings.Repeat("x", 4000)} {
			if err := v.Validate(req(ok)); err != nil {
				t.Errorf("%s %q refused: %v", name, ok, err)
			}
		}
		for _, bad := range []string{"\x00", "a\x00b", "\x1b[2J\x1b[31mfake system notice\x07", "\r", "a\rb", "\x7f", "\u0085", "\u009b31m", "\x08"} {
			err := v.Validate(req(bad))
			ve, isVE := err.(*protovalidate.ValidationError)
			if !isVE || len(ve.Violations) != 1 || protovalidate.FieldPathString(ve.Violations[0].Proto.GetField()) != "content" {
				t.Errorf("%s %q: %v, want one violation of content", name, bad, err)
			}
		}
	}
}
