package index

import (
	"fmt"
	"slices"
	"testing"
)

// TestWordFormsCacheStaysBounded: the analyzer's cache of word forms
// answers as an analysis does, and empties itself rather than grow past
// maxCachedWords.
func TestWordFormsCacheStaysBounded(t *testing.T) {
	p, err := newMemoryPart()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a := p.text
	toks := a.tokenizer.Tokenize([]byte("Réunions meetings"))
	first := a.forms(toks[0])
	if first.folded != "reunions" || !slices.Contains(first.forms, "reunion") {
		t.Fatalf("forms of Réunions: %+v", first)
	}
	for i := range maxCachedWords + 10 {
		a.forms(a.tokenizer.Tokenize([]byte(fmt.Sprintf("w%d", i)))[0])
		if n := len(a.cache); n > maxCachedWords {
			t.Fatalf("cache holds %d words, more than %d", n, maxCachedWords)
		}
	}
	if again := a.forms(toks[0]); again.folded != first.folded || !slices.Equal(again.forms, first.forms) {
		t.Errorf("forms after the cache emptied: %+v, want %+v", again, first)
	}
	if w := a.forms(toks[1]); !slices.Contains(w.forms, "meet") {
		t.Errorf("forms of meetings: %+v", w)
	}
}
