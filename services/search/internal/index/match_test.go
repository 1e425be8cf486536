package index

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/accordchat/accord/services/search/internal/search"
)

// wordTexts are texts of the kinds messages hold: words, accents,
// apostrophes, numbers, links, mentions, emoji, scripts without spaces,
// and invalid UTF-8.
var wordTexts = []string{
	"",
	"deploy the release",
	"  Réunions de DEMAIN: l'équipe déploie, don't wait!  ",
	"v1.2.3 costs 3,50 € at 10:30 — see https://example.com/a_b?c=d#e",
	"<@u42> mentions @bob_smith; e-mail a.b@c.fr",
	"日本語のテキストと漢字 mixed with 한국어 and ภาษาไทย",
	"emoji 👍🏽 and 👨‍👩‍👧 family, flags 🇫🇷🇯🇵",
	"combining e\u0301 and zero\u200bwidth",
	"שלום עולם 123abc abc123 _under_ score",
	"bad \xff utf8 after word\xfe\xfd and \xc3",
	"word\xff",
	"\xff\xfeword",
	"tab\tnew\nline\r\nend.",
}

// TestWordsAsTokenized: the matcher's words, found in one pass of the
// segmenter, are the words bleve's tokenizer finds (the terms indexing
// analyzes), with the same byte ranges, on texts of every kind and on
// random mixes of their characters.
func TestWordsAsTokenized(t *testing.T) {
	p, err := newMemoryPart()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m := newMatcher(p.text, p.terms(mustParse(t, "deploy réunion")))
	check := func(text string) {
		t.Helper()
		got, want := m.words(text), m.tokenized(text)
		if !slices.Equal(got, want) {
			t.Fatalf("words of %q:\n got %+v\nwant %+v", text, got, want)
		}
	}
	for _, text := range wordTexts {
		check(text)
	}
	// Texts of ordinary characters are read in one pass.
	for _, text := range wordTexts[:9] {
		if _, _, ok := m.segments(text); !ok {
			t.Errorf("%q not segmented in one pass", text)
		}
	}
	pieces := strings.Split(strings.Join(wordTexts, " "), "")
	pieces = append(pieces, " ", ".", "'", "’", "_", "-", ",", ":", "\xff", "e\u0301", "1", "a")
	r := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		check(b.String())
	}
}

// FuzzWordsAsTokenized is TestWordsAsTokenized on any text.
func FuzzWordsAsTokenized(f *testing.F) {
	for _, text := range wordTexts {
		f.Add(text)
	}
	p, err := newMemoryPart()
	if err != nil {
		f.Fatal(err)
	}
	defer p.Close()
	f.Fuzz(func(t *testing.T, text string) {
		m := newMatcher(p.text, p.terms(mustParse(t, "deploy")))
		if got, want := m.words(text), m.tokenized(text); !slices.Equal(got, want) {
			t.Fatalf("words of %q:\n got %+v\nwant %+v", text, got, want)
		}
	})
}

func mustParse(t testing.TB, text string) search.Query {
	t.Helper()
	q, err := search.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return q
}
