package index

import (
	"github.com/accordchat/accord/services/search/internal/search"
)

// matcher finds where a query's words and phrases match a message's text,
// for its snippet, and checks phrases on candidates. It tokenizes a text
// once and takes each word's forms from the analyzer's cache
// (textAnalyzer.forms): the filters of the three analyses each act on
// one token alone, so a word's forms depend on the word only. Analyzing
// every hit's text the three ways, as indexing does, was 40% of a
// one-word query's time at 100,000 messages; analyzing each distinct
// word once per query was still a sixth of it.
type matcher struct {
	a *textAnalyzer
	// want holds every form of every word of the query.
	want map[string]bool
}

// word is one word of a text: its folded form and its byte range.
type word struct {
	folded     string
	start, end int
	wanted     bool
}

func newMatcher(a *textAnalyzer, t queryTerms) *matcher {
	m := &matcher{a: a, want: map[string]bool{}}
	for _, w := range t.words {
		for _, forms := range w {
			for _, f := range forms {
				m.want[f] = true
			}
		}
	}
	return m
}

// words tokenizes content as indexing does and returns its words.
func (m *matcher) words(content string) []word {
	toks := m.a.tokenizer.Tokenize([]byte(content))
	out := make([]word, 0, len(toks))
	for _, tok := range toks {
		w := m.a.forms(tok)
		wanted := false
		if len(m.want) > 0 {
			for _, f := range w.forms {
				if m.want[f] {
					wanted = true
					break
				}
			}
		}
		out = append(out, word{folded: w.folded, start: tok.Start, end: tok.End, wanted: wanted})
	}
	return out
}

// matches finds where the terms match content: every word in any of its
// forms, and every occurrence of each phrase.
func (m *matcher) matches(content string, t queryTerms) []search.Span {
	if len(t.words) == 0 && len(t.phrases) == 0 {
		return nil
	}
	ws := m.words(content)
	var out []search.Span
	if len(t.words) > 0 {
		for _, w := range ws {
			if w.wanted {
				out = append(out, search.Span{Start: w.start, End: w.end})
			}
		}
	}
	for _, p := range t.phrases {
		if len(p) == 0 {
			continue
		}
		for _, i := range phraseStarts(ws, p) {
			out = append(out, search.Span{Start: ws[i].start, End: ws[i+len(p)-1].end})
		}
	}
	return out
}

// holdsPhrases reports whether content holds each phrase, its folded words
// in order.
func (m *matcher) holdsPhrases(content string, phrases [][]string) bool {
	ws := m.words(content)
	for _, p := range phrases {
		if len(p) == 0 || len(phraseStarts(ws, p)) == 0 {
			return false
		}
	}
	return true
}

// phraseStarts are the indexes in ws where phrase p begins.
func phraseStarts(ws []word, p []string) []int {
	var out []int
next:
	for i := 0; i+len(p) <= len(ws); i++ {
		for j, w := range p {
			if ws[i+j].folded != w {
				continue next
			}
		}
		out = append(out, i)
	}
	return out
}
