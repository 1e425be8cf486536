package search_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/search/internal/search"
)

// FuzzParse: any text parses or is refused as an invalid query; it never
// panics, and what it parses has at most MaxTerms parts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`from:bob "exact phrase" in:#general`, `in:"a b`, `"`, `::`, `during:2026-02`, `has:link pinned:true mentions:@x`, "before:2026-13-45"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		q, err := search.Parse(in)
		if err != nil {
			if !errors.Is(err, errs.ErrInvalidArgument) || !strings.Contains(err.Error(), "query") {
				t.Fatalf("%q: %v", in, err)
			}
			return
		}
		if n := len(q.Words) + len(q.Phrases) + len(q.From) + len(q.In) + len(q.Mentions); n > search.MaxTerms {
			t.Fatalf("%q: %d parts", in, n)
		}
	})
}
