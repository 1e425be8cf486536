package index

import (
	"github.com/blevesearch/bleve/v2/analysis"

	"github.com/accordchat/accord/services/search/internal/search"
)

// matcher finds where a query's words and phrases match a message's text,
// for its snippet, and checks phrases on candidates. It tokenizes a text
// once and analyzes each distinct word once per query: the filters of the
// three analyses (textAnalyzer's chains) each act on one token alone, so a
// word's forms depend on the word only, and are remembered. Analyzing
// every hit's text the three ways, as indexing does, was 40% of a
// one-word query's time at 100,000 messages.
type matcher struct {
	a *textAnalyzer
	// want holds every form of every word of the query.
	want map[string]bool
	// memo maps a word as tokenized to its folded form and whether any of
	// its forms is wanted.
	memo map[string]wordInfo
}

type wordInfo struct {
	folded string
	wanted bool
}

// word is one word of a text: its folded form and its byte range.
type word struct {
	folded     string
	start, end int
	wanted     bool
}

func newMatcher(a *textAnalyzer, t queryTerms) *matcher {
	m := &matcher{a: a, want: map[string]bool{}, memo: map[string]wordInfo{}}
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
		info, ok := m.memo[string(tok.Term)]
		if !ok {
			info = m.analyze(tok)
			m.memo[string(tok.Term)] = info
		}
		out = append(out, word{folded: info.folded, start: tok.Start, end: tok.End, wanted: info.wanted})
	}
	return out
}

// analyze passes one token through each of the three analyses.
func (m *matcher) analyze(tok *analysis.Token) wordInfo {
	var info wordInfo
	for i, chain := range m.a.chains {
		ts := analysis.TokenStream{{Term: append([]byte(nil), tok.Term...), Position: 1, Type: tok.Type, KeyWord: tok.KeyWord}}
		for _, f := range chain {
			ts = f.Filter(ts)
		}
		for _, t := range ts {
			if i == 0 {
				info.folded = string(t.Term)
			}
			if m.want[string(t.Term)] {
				info.wanted = true
			}
		}
	}
	return info
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
