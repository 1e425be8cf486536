package search_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/search/internal/search"
)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestParse(t *testing.T) {
	yes, no := true, false
	for _, tt := range []struct {
		in   string
		want search.Query
	}{
		{"hello World", search.Query{Words: []string{"hello", "World"}}},
		{`say "exact phrase here" now`, search.Query{Words: []string{"say", "now"}, Phrases: []string{"exact phrase here"}}},
		{`"unclosed phrase`, search.Query{Phrases: []string{"unclosed phrase"}}},
		{"from:@Alice FROM:bob", search.Query{From: []string{"Alice", "bob"}}},
		{`in:#general in:"team chat"`, search.Query{In: []string{"general", "team chat"}}},
		{"mentions:@Bob has:LINK", search.Query{Mentions: []string{"bob"}, HasLink: true}},
		{"pinned:true", search.Query{Pinned: &yes}},
		{"pinned:no", search.Query{Pinned: &no}},
		{"before:2026-03-10", search.Query{Until: day("2026-03-10")}},
		{"after:2026-03-10", search.Query{Since: day("2026-03-11")}},
		{"during:2026-03-10", search.Query{Since: day("2026-03-10"), Until: day("2026-03-11")}},
		{"during:2026-03", search.Query{Since: day("2026-03-01"), Until: day("2026-04-01")}},
		{"during:2026-03 before:2026-03-15", search.Query{Since: day("2026-03-01"), Until: day("2026-03-15")}},
		{"color:red from:", search.Query{Words: []string{"color:red", "from:"}}},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := search.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, in := range []string{
		"before:yesterday", "has:file", "pinned:maybe", "after:2026-03-10 before:2026-03-05",
		strings.Repeat("w ", search.MaxTerms+1), "\xff",
	} {
		_, err := search.Parse(in)
		var e *errs.Error
		if !errors.As(err, &e) || !errors.Is(err, errs.ErrInvalidArgument) || !strings.Contains(err.Error(), "query") {
			t.Errorf("%q: got %v, want an invalid query", in, err)
		}
	}
}

func TestNewDoc(t *testing.T) {
	d := search.NewDoc(search.Doc{Content: "hi @Alice and <@5f0000000000000000000001>, see HTTPS://x.example/a. mail bob@example.com"})
	if !d.HasLink {
		t.Error("no link found")
	}
	if want := []string{"alice", "5f0000000000000000000001"}; !slices.Equal(d.Mentions, want) {
		t.Errorf("mentions %v, want %v", d.Mentions, want)
	}
}

func TestSnippet(t *testing.T) {
	text := strings.Repeat("a ", 100) + "réunion" + strings.Repeat(" b", 100)
	start := strings.Index(text, "réunion")
	snip, hl := search.Snippet(text, []search.Span{{Start: start, End: start + len("réunion")}}, 40)
	if len(hl) != 1 || string([]rune(snip)[hl[0].Start:hl[0].End]) != "réunion" {
		t.Fatalf("snippet %q highlights %v", snip, hl)
	}
	if !strings.HasPrefix(snip, "…") || !strings.HasSuffix(snip, "…") || len([]rune(snip)) > 42 {
		t.Errorf("snippet %q", snip)
	}
	if snip, hl := search.Snippet("short", nil, 40); snip != "short" || hl != nil {
		t.Errorf("short text: %q %v", snip, hl)
	}
}
