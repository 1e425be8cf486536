package index

import (
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/segment"

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
//
// A matcher serves one search at a time (it keeps buffers between the
// texts it reads): a query's partitions are asked one after the other.
type matcher struct {
	a *textAnalyzer
	// want holds every form of every word of the query.
	want map[string]bool
	// Buffers of words, reused from text to text.
	text  []byte
	segs  [][]byte
	types []int
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
//
// The words are the segments the unicode tokenizer keeps (those of
// letters, numbers or ideograms, by Unicode's word boundaries), found in
// one pass of its segmenter over the whole text: the tokenizer asks the
// segmenter for one segment at a time, which allocated two slices per
// segment and a token per word, most of a snippet's cost. A text the
// pass does not read to its end (invalid UTF-8 after a word stops the
// segmenter) is tokenized as indexing does.
func (m *matcher) words(content string) []word {
	segs, types, ok := m.segments(content)
	if !ok {
		return m.tokenized(content)
	}
	out := make([]word, 0, len(segs))
	for i, s := range segs {
		if types[i] == segment.None {
			continue
		}
		// Each segment is a slice of the text: its capacity tells where
		// it begins.
		start := cap(m.text) - cap(s)
		out = append(out, m.word(s, tokenType(types[i]), start, start+len(s)))
	}
	return out
}

// segments are content's segments and their types, in one pass, in the
// matcher's buffers; ok is false if the pass stopped before the end.
func (m *matcher) segments(content string) (segs [][]byte, types []int, ok bool) {
	m.text = append(m.text[:0], content...)
	segs, types, n, err := segment.SegmentWordsDirect(m.text, m.segs[:0], m.types[:0])
	if err != nil || n != len(m.text) {
		return nil, nil, false
	}
	m.segs, m.types = segs, types
	return segs, types, true
}

// tokenized is words by bleve's tokenizer, should the segmenter fail.
func (m *matcher) tokenized(content string) []word {
	toks := m.a.tokenizer.Tokenize([]byte(content))
	out := make([]word, 0, len(toks))
	for _, tok := range toks {
		out = append(out, m.word(tok.Term, tok.Type, tok.Start, tok.End))
	}
	return out
}

// word is the word term at start:end, with its forms compared with the
// query's.
func (m *matcher) word(term []byte, typ analysis.TokenType, start, end int) word {
	w := m.a.formsOf(term, typ, false)
	wanted := false
	for _, f := range w.forms {
		if m.want[f] {
			wanted = true
			break
		}
	}
	return word{folded: w.folded, start: start, end: end, wanted: wanted}
}

// tokenType is the token type bleve's unicode tokenizer gives a segment
// of the type t.
func tokenType(t int) analysis.TokenType {
	switch t {
	case segment.Ideo, segment.Kana:
		return analysis.Ideographic
	case segment.Number:
		return analysis.Numeric
	}
	return analysis.AlphaNumeric
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
