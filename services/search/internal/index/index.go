// Package index is search.Index on bleve: a folder on local disk (or
// memory, for tests) of time partitions (partition.go), each a bleve index
// holding a range of message ids with their text analyzed three ways
// (folded words, English stems, French stems), their ids as keywords and
// their time as a number.
package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/lang/fr"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/search/internal/search"
)

// Field names of the index.
const (
	fContent  = "content" // the text as written, stored only
	fText     = "text"    // the text analyzed (textName): folded words and their stems
	fServer   = "server_id"
	fChannel  = "channel_id"
	fAuthor   = "author_id"
	fName     = "author_name"
	fMentions = "mentions"
	fLink     = "has_link"
	fPinned   = "pinned"
	fTime     = "ts"     // creation, Unix milliseconds
	fEdited   = "edited" // last edit, Unix milliseconds; 0 if none
)

// Analyzer and filter names registered with bleve, and internal keys.
const (
	foldName   = "accord_fold"
	plainName  = "accord_plain"
	enName     = "accord_en"
	frName     = "accord_fr"
	textType   = "accord_text_type"
	textName   = "accord_text"
	positionID = "accord_position"
	versionID  = "accord_mapping"
)

// mappingVersion names the index's schema, of each partition and of the
// partition list. An index of another version is discarded at open and
// rebuilt from the log (or by Reindex). Version 4 split the index into
// time partitions.
const mappingVersion = "4"

var register sync.Once

// registerFold adds the accent-folding token filter and the text analyzer
// to bleve's registry (a process-wide table, so once).
func registerFold() {
	register.Do(func() {
		_ = registry.RegisterTokenFilter(foldName, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
			return foldFilter{asciifolding.New()}, nil
		})
		_ = registry.RegisterAnalyzer(textType, newTextAnalyzer)
	})
}

// foldFilter folds each token's accents ("réunion" -> "reunion"), keeping
// its offsets in the original text (a char filter would shift them).
type foldFilter struct {
	f *asciifolding.AsciiFoldingFilter
}

func (f foldFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		t.Term = f.f.Filter(t.Term)
	}
	return in
}

// chains are the three analyses of a text: folded words, English stems,
// French stems.
var chains = [][]string{
	{lowercase.Name, foldName},
	{en.PossessiveName, lowercase.Name, foldName, en.StopName, porter.Name},
	{fr.ElisionName, lowercase.Name, fr.StopName, fr.LightStemmerName, foldName},
}

// textAnalyzer puts the three analyses of a text in one field: at each
// word's position, its folded form and its English and French stems (each
// once). One field answers a word in any of its forms with one term
// lookup per distinct form, where three fields took three searches.
type textAnalyzer struct {
	tokenizer analysis.Tokenizer
	chains    [][]analysis.TokenFilter

	// cache holds the forms of words seen (forms), at most
	// maxCachedWords, emptied when full.
	mu    sync.RWMutex
	cache map[string]wordForms
}

// wordForms are a word's folded form and every form of it (folded,
// English and French stems, each once).
type wordForms struct {
	folded string
	forms  []string
}

// maxCachedWords bounds textAnalyzer's cache of word forms: a few MiB.
const maxCachedWords = 50_000

// forms is the analysis of one token as textAnalyzer does it (each filter
// acting on one token alone), remembered: a query's hits, and a
// partition's summary, analyze the same few thousand words over and over.
func (a *textAnalyzer) forms(tok *analysis.Token) wordForms {
	return a.formsOf(tok.Term, tok.Type, tok.KeyWord)
}

// formsOf is forms of a token given by its term, type and keyword flag.
func (a *textAnalyzer) formsOf(term []byte, typ analysis.TokenType, keyWord bool) wordForms {
	a.mu.RLock()
	w, ok := a.cache[string(term)]
	a.mu.RUnlock()
	if ok {
		return w
	}
	for i, chain := range a.chains {
		ts := analysis.TokenStream{{Term: append([]byte(nil), term...), Position: 1, Type: typ, KeyWord: keyWord}}
		for _, f := range chain {
			ts = f.Filter(ts)
		}
		for _, t := range ts {
			if i == 0 {
				w.folded = string(t.Term)
			}
			if !slices.Contains(w.forms, string(t.Term)) {
				w.forms = append(w.forms, string(t.Term))
			}
		}
	}
	a.mu.Lock()
	if len(a.cache) >= maxCachedWords || a.cache == nil {
		a.cache = make(map[string]wordForms, 1024)
	}
	a.cache[string(term)] = w
	a.mu.Unlock()
	return w
}

func newTextAnalyzer(_ map[string]any, cache *registry.Cache) (analysis.Analyzer, error) {
	tok, err := cache.TokenizerNamed(unicode.Name)
	if err != nil {
		return nil, err
	}
	a := &textAnalyzer{tokenizer: tok}
	for _, names := range chains {
		var fs []analysis.TokenFilter
		for _, n := range names {
			f, err := cache.TokenFilterNamed(n)
			if err != nil {
				return nil, fmt.Errorf("token filter %s: %w", n, err)
			}
			fs = append(fs, f)
		}
		a.chains = append(a.chains, fs)
	}
	return a, nil
}

// Analyze implements analysis.Analyzer. The folded forms come first, in
// order, so a phrase of them is the text's words in order.
func (a *textAnalyzer) Analyze(text []byte) analysis.TokenStream {
	var out analysis.TokenStream
	seen := map[int][][]byte{}
	for _, filters := range a.chains {
		ts := a.tokenizer.Tokenize(text)
		for _, f := range filters {
			ts = f.Filter(ts)
		}
		for _, t := range ts {
			if slices.ContainsFunc(seen[t.Position], func(b []byte) bool { return bytes.Equal(b, t.Term) }) {
				continue
			}
			seen[t.Position] = append(seen[t.Position], t.Term)
			out = append(out, t)
		}
	}
	return out
}

// Mapping is the index's schema.
func Mapping() (mapping.IndexMapping, error) {
	registerFold()
	m := bleve.NewIndexMapping()
	if err := m.AddCustomAnalyzer(plainName, map[string]any{
		"type": custom.Name, "tokenizer": unicode.Name, "token_filters": chains[0],
	}); err != nil {
		return nil, fmt.Errorf("analyzer %s: %w", plainName, err)
	}
	if err := m.AddCustomAnalyzer(textName, map[string]any{"type": textType}); err != nil {
		return nil, fmt.Errorf("analyzer %s: %w", textName, err)
	}
	// No doc values (bleve's column store): results sort by the message
	// id, which bleve keeps uncompressed beside each document, and every
	// other field is found through its terms or loaded stored.
	text := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		// Term vectors: phrases match on positions.
		f.Analyzer, f.Store, f.IncludeTermVectors, f.IncludeInAll, f.DocValues = textName, false, true, false, false
		return f
	}
	stored := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Index, f.Store, f.IncludeTermVectors, f.IncludeInAll, f.DocValues = false, true, false, false, false
		return f
	}
	kw := func(store bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer, f.Store, f.IncludeTermVectors, f.IncludeInAll, f.DocValues = keyword.Name, store, false, false, false
		return f
	}
	num := func() *mapping.FieldMapping {
		f := bleve.NewNumericFieldMapping()
		f.Store, f.IncludeInAll, f.DocValues = true, false, false
		return f
	}
	boolean := func() *mapping.FieldMapping {
		f := bleve.NewBooleanFieldMapping()
		f.Store, f.IncludeInAll, f.DocValues = true, false, false
		return f
	}
	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt(fContent, stored())
	doc.AddFieldMappingsAt(fText, text())
	for _, f := range []string{fServer, fChannel, fAuthor, fName} {
		doc.AddFieldMappingsAt(f, kw(true))
	}
	doc.AddFieldMappingsAt(fMentions, kw(false))
	doc.AddFieldMappingsAt(fLink, boolean())
	doc.AddFieldMappingsAt(fPinned, boolean())
	doc.AddFieldMappingsAt(fTime, num())
	doc.AddFieldMappingsAt(fEdited, num())
	// No "_all" field: every query names its field, and building the
	// composite cost an eighth of indexing time.
	doc.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())
	m.DefaultMapping = doc
	m.DefaultAnalyzer = plainName
	return m, nil
}

// part is one partition: a bleve index answering search.Index's calls
// for the messages it holds.
type part struct {
	idx   bleve.Index
	dir   string            // "" in memory
	text  *textAnalyzer     // textName
	plain analysis.Analyzer // plainName
	// viaBleve asks every search of bleve's search requests, never
	// straight from the segments (runDirect): tests compare the two.
	viaBleve bool
}

// openPart opens the partition at dir, creating it when missing. An index of an
// older schema is removed and created anew: its replica then reads the
// whole message log again (or an operator runs Reindex).
func openPart(dir string) (*part, error) {
	registerFold()
	// Another process holding the index (two replicas sharing a folder)
	// is an error at start, not a wait forever.
	idx, err := bleve.OpenUsing(dir, map[string]any{"bolt_timeout": "5s"})
	if err == nil {
		v, verr := idx.GetInternal([]byte(versionID))
		if verr == nil && string(v) == mappingVersion {
			return wrap(idx, dir)
		}
		_ = idx.Close()
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("remove search index of an older schema %s: %w", dir, err)
		}
		err = bleve.ErrorIndexPathDoesNotExist
	}
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		m, merr := Mapping()
		if merr != nil {
			return nil, merr
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		_ = os.Remove(dir) // bleve creates the last element itself
		if idx, err = bleve.New(dir, m); err == nil {
			if err = idx.SetInternal([]byte(versionID), []byte(mappingVersion)); err != nil {
				_ = idx.Close()
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open search index %s: %w", dir, err)
	}
	return wrap(idx, dir)
}

// newMemoryPart returns a partition held in memory (tests).
func newMemoryPart() (*part, error) {
	m, err := Mapping()
	if err != nil {
		return nil, err
	}
	idx, err := bleve.NewMemOnly(m)
	if err != nil {
		return nil, err
	}
	return wrap(idx, "")
}

func wrap(idx bleve.Index, dir string) (*part, error) {
	text, _ := idx.Mapping().AnalyzerNamed(textName).(*textAnalyzer)
	x := &part{idx: idx, dir: dir, text: text, plain: idx.Mapping().AnalyzerNamed(plainName)}
	if x.text == nil || x.plain == nil {
		_ = idx.Close()
		return nil, errors.New("search index: analyzers missing")
	}
	return x, nil
}

// Close closes the index.
func (x *part) Close() error { return x.idx.Close() }

// Settled reports whether everything applied is persisted and merged:
// bleve's background work is done. Benchmarks wait for it before timing
// queries.
func (x *part) Settled() bool {
	m, _ := x.idx.StatsMap()["index"].(map[string]any)
	active, ok := m["index_bgthreads_active"].(bool)
	return ok && !active
}

// Count is the number of messages indexed.
func (x *part) Count() (uint64, error) { return x.idx.DocCount() }

type record struct {
	Content  string   `json:"content"`
	Text     string   `json:"text"`
	Server   string   `json:"server_id"`
	Channel  string   `json:"channel_id"`
	Author   string   `json:"author_id"`
	Name     string   `json:"author_name"`
	Mentions []string `json:"mentions"`
	Link     bool     `json:"has_link"`
	Pinned   bool     `json:"pinned"`
	Time     float64  `json:"ts"`
	Edited   float64  `json:"edited"`
}

// Apply applies changes as search.Index does: the changes and the position go in one
// bleve batch. The deletion of a channel or server first commits what came
// before it (so its messages are found), then deletes every message it
// finds there; the position goes with the last batch, and a replay after a
// crash in between does the same again.
func (x *part) Apply(ctx context.Context, changes []search.Change, position string) error {
	b := x.idx.NewBatch()
	for _, c := range changes {
		if c.DeleteChannel || c.DeleteServer {
			if b.Size() > 0 {
				if err := x.idx.Batch(b); err != nil {
					return err
				}
				b = x.idx.NewBatch()
			}
			t := bleve.NewTermQuery(c.ServerID)
			t.SetField(fServer)
			var q query.Query = t
			if c.DeleteChannel {
				ch := bleve.NewTermQuery(c.ChannelID)
				ch.SetField(fChannel)
				q = bleve.NewConjunctionQuery(t, ch)
			}
			if err := x.deleteAll(ctx, q, b); err != nil {
				return err
			}
			continue
		}
		if c.Delete {
			b.Delete(c.ID)
			continue
		}
		d := c.Doc
		r := record{
			Content: d.Content, Text: d.Content,
			Server: d.ServerID, Channel: d.ChannelID, Author: d.AuthorID, Name: d.AuthorName,
			Mentions: d.Mentions, Link: d.HasLink, Pinned: d.Pinned,
			Time: float64(d.Created.UnixMilli()),
		}
		if !d.Edited.IsZero() {
			r.Edited = float64(d.Edited.UnixMilli())
		}
		if err := b.Index(c.ID, r); err != nil {
			return fmt.Errorf("index message %s: %w", c.ID, err)
		}
	}
	if position != "" {
		b.SetInternal([]byte(positionID), []byte(position))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return x.idx.Batch(b)
}

// deleteAll adds the deletion of every message q matches to b, reading
// their ids a page at a time in id order.
func (x *part) deleteAll(ctx context.Context, q query.Query, b *bleve.Batch) error {
	var after []string
	for {
		req := bleve.NewSearchRequestOptions(q, 1000, 0, false)
		req.Score = "none"
		req.SortByCustom(bsearch.SortOrder{&bsearch.SortDocID{}})
		req.SearchAfter = after
		res, err := x.idx.SearchInContext(ctx, req)
		if err != nil {
			return fmt.Errorf("find messages to delete: %w", err)
		}
		for _, h := range res.Hits {
			b.Delete(h.ID)
		}
		if len(res.Hits) < 1000 {
			return nil
		}
		after = res.Hits[len(res.Hits)-1].Sort
	}
}

// Position is the log position recorded with the last batch, if any.
func (x *part) Position(context.Context) (string, error) {
	v, err := x.idx.GetInternal([]byte(positionID))
	return string(v), err
}

// Search answers q as search.Index does, within the partition. Hits are sorted newest first by message
// id (the server service's ids grow with time, and its history pages along
// them), or by score then id. Bleve keeps each document's id uncompressed
// in front of its stored fields, so sorting reads a few bytes per
// candidate; a column of sort keys cost a compressed chunk per candidate,
// which grew with the index. Stored fields are loaded, and matches found
// (by analyzing the text again), for the returned page only.
func (x *part) Search(ctx context.Context, q search.IndexQuery) ([]search.Hit, int64, error) {
	terms := x.terms(q.Query)
	hits, total, err := x.search(ctx, q, terms)
	if err == nil && total.bound {
		total.n, err = x.count(ctx, q, terms)
	}
	return hits, total.n, err
}

// partTotal is a partition's count of matches: exact, or with bound an
// upper bound (the matches of the server, out of the channels asked
// included) for the caller to count exactly (count) if its total is to
// be exact.
type partTotal struct {
	n     int64
	bound bool
}

// count is the exact number of q's matches in the partition.
func (x *part) count(ctx context.Context, q search.IndexQuery, terms queryTerms) (int64, error) {
	_, n, err := x.run(ctx, q, terms, false)
	return n, err
}

// search is Search with the query's terms analyzed (once for every
// partition asked).
//
// Newest first, a server's channels (q.Channels, all of them but those
// deleted since their messages were indexed, until the deletion reaches
// the index) are checked on the hits instead of asked of bleve: a term
// lookup per channel in every partition asked was a fifth of a one-word
// query's time, and most of a rare query's, for a condition the server
// already almost decides. When a hit is out of scope, or the partition
// holds more matches than the hits returned, bleve is asked again with
// the channels (for the total, only if the search's total is exact:
// partTotal), so hits and totals stay exact. With in: naming channels
// of the scope only, the channels add nothing and are not asked.
func (x *part) search(ctx context.Context, q search.IndexQuery, terms queryTerms) ([]search.Hit, partTotal, error) {
	if len(q.Servers) == 0 || (q.Channels != nil && len(q.Channels) == 0) {
		return nil, partTotal{}, nil
	}
	exact := func(hits []search.Hit, n int64, err error) ([]search.Hit, partTotal, error) {
		return hits, partTotal{n: n}, err
	}
	var scope []string
	if q.Order != search.Relevance && q.Channels != nil {
		scope, q.Channels = q.Channels, nil
		if len(q.In) > 0 && !slices.ContainsFunc(q.In, func(c string) bool { return !slices.Contains(scope, c) }) {
			scope = nil // in: is narrower
		}
	}
	if q.Order != search.Relevance && terms.longPhrase() {
		hits, total, ok, err := x.searchPhrases(ctx, q, terms, scope)
		if ok || err != nil {
			return exact(hits, total, err)
		}
	}
	if scope == nil {
		return exact(x.run(ctx, q, terms, true))
	}
	hits, total, err := x.run(ctx, q, terms, true)
	if err != nil {
		return nil, partTotal{}, err
	}
	kept := hits[:0:0]
	for _, h := range hits {
		if slices.Contains(scope, h.ChannelID) {
			kept = append(kept, h)
		}
	}
	switch {
	case len(q.After) == 0 && total == int64(len(hits)):
		// Every match seen.
		return kept, partTotal{n: int64(len(kept))}, nil
	case len(kept) == len(hits):
		// The page is right; the total is a bound, counted within scope
		// only if the search's total is to be exact (with q.Channels).
		return kept, partTotal{n: total, bound: true}, nil
	default:
		q.Channels = scope
		return exact(x.run(ctx, q, terms, true))
	}
}

// run asks bleve for q (with load, the hits, with their fields and
// matches; without, only the total).
func (x *part) run(ctx context.Context, q search.IndexQuery, terms queryTerms, load bool) ([]search.Hit, int64, error) {
	if !x.viaBleve {
		hits, total, ok, err := x.runDirect(ctx, q, terms, load)
		if ok || err != nil {
			return hits, total, err
		}
	}
	size := q.Size
	if !load {
		size = 0
	}
	req := bleve.NewSearchRequestOptions(x.build(q, terms, false), size, 0, false)
	order := bsearch.SortOrder{&bsearch.SortDocID{Desc: true}}
	if q.Order == search.Relevance {
		order = append(bsearch.SortOrder{&bsearch.SortScore{Desc: true}}, order...)
	} else {
		req.Score = "none" // no score to compute when it decides nothing
	}
	req.SortByCustom(order)
	if len(q.After) > 0 && load {
		if len(q.After) != len(req.Sort) {
			return nil, 0, nil // a token of another order: fingerprinted away before
		}
		for _, v := range q.After[:len(q.After)-1] { // the score
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return nil, 0, errs.Invalid("page_token", "not a token of this search")
			}
		}
		req.SearchAfter = q.After
	}
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	docs, err := x.load(res.Hits)
	if err != nil {
		return nil, 0, err
	}
	hits := make([]search.Hit, 0, len(res.Hits))
	for i, h := range res.Hits {
		if docs[i].ID == "" {
			continue // deleted since the search (load)
		}
		out := hit(h, docs[i], q.Order)
		out.Matches = terms.m.matches(out.Content, terms)
		hits = append(hits, out)
	}
	return hits, int64(res.Total), nil
}

// hit is the match h, whose stored fields are d.
func hit(h *bsearch.DocumentMatch, d search.Doc, order search.Order) search.Hit {
	// The position in the form SearchAfter takes.
	out := search.Hit{Doc: d, Sort: []string{h.ID}}
	if order == search.Relevance {
		out.Sort = append([]string{strconv.FormatFloat(h.Score, 'g', -1, 64)}, out.Sort...)
	}
	return out
}

// queryTerms are a query's text analyzed: each word's positions, each
// with its forms (any of which matches), and each phrase's folded words.
type queryTerms struct {
	words   [][][]string
	phrases [][]string
	m       *matcher
}

func (x *part) terms(q search.Query) queryTerms {
	var t queryTerms
	for _, w := range q.Words {
		var positions [][]string
		at := map[int]int{}
		for _, tok := range x.text.Analyze([]byte(w)) {
			i, ok := at[tok.Position]
			if !ok {
				i = len(positions)
				at[tok.Position] = i
				positions = append(positions, nil)
			}
			positions[i] = append(positions[i], string(tok.Term))
		}
		t.words = append(t.words, positions)
	}
	for _, p := range q.Phrases {
		var words []string
		for _, tok := range x.plain.Analyze([]byte(p)) {
			words = append(words, string(tok.Term))
		}
		t.phrases = append(t.phrases, words)
	}
	t.m = newMatcher(x.text, t)
	return t
}

// build turns the query into bleve's: a conjunction of the servers, each
// word (in any of its forms), each phrase (with looseWords, only each of
// its words) and each filter kind.
func (x *part) build(q search.IndexQuery, t queryTerms, looseWords bool) query.Query {
	var must []query.Query
	must = append(must, anyTerm(fServer, q.Servers))
	for _, w := range t.words {
		if len(w) == 0 {
			must = append(must, bleve.NewMatchNoneQuery()) // a word of no letters
		}
		for _, forms := range w {
			must = append(must, anyTerm(fText, forms))
		}
	}
	for _, p := range t.phrases {
		switch len(p) {
		case 0:
			must = append(must, bleve.NewMatchNoneQuery())
		case 1:
			must = append(must, anyTerm(fText, p))
		default:
			if looseWords {
				for _, w := range p {
					must = append(must, anyTerm(fText, []string{w}))
				}
				continue
			}
			must = append(must, bleve.NewPhraseQuery(p, fText))
		}
	}
	if len(q.From) > 0 {
		must = append(must, anyTerm(fAuthor, q.From))
	}
	if len(q.In) > 0 {
		must = append(must, anyTerm(fChannel, q.In))
	}
	if q.Channels != nil {
		must = append(must, anyTerm(fChannel, q.Channels))
	}
	if len(q.Mentions) > 0 {
		must = append(must, anyTerm(fMentions, q.Mentions))
	}
	if q.HasLink {
		b := bleve.NewBoolFieldQuery(true)
		b.SetField(fLink)
		must = append(must, b)
	}
	if q.Pinned != nil {
		b := bleve.NewBoolFieldQuery(*q.Pinned)
		b.SetField(fPinned)
		must = append(must, b)
	}
	if !q.Since.IsZero() || !q.Until.IsZero() {
		var lo, hi *float64
		if !q.Since.IsZero() {
			v := float64(q.Since.UnixMilli())
			lo = &v
		}
		if !q.Until.IsZero() {
			v := float64(q.Until.UnixMilli())
			hi = &v
		}
		incl, excl := true, false
		r := bleve.NewNumericRangeInclusiveQuery(lo, hi, &incl, &excl)
		r.SetField(fTime)
		must = append(must, r)
	}
	return bleve.NewConjunctionQuery(must...)
}

// maxPhraseCandidates bounds the messages searchPhrases reads to check;
// it asks for the page's size first, at most firstPhraseCandidates.
const (
	maxPhraseCandidates   = 2000
	firstPhraseCandidates = 100
)

// longPhrase reports whether the query has a phrase of several words.
func (t queryTerms) longPhrase() bool {
	return slices.ContainsFunc(t.phrases, func(p []string) bool { return len(p) > 1 })
}

// searchPhrases answers a query with phrases, newest first, by finding
// the messages in scope that hold every word of each phrase (a conjunction
// of terms, without positions) and keeping those whose text holds each
// phrase in order. Bleve's phrase search walks every message of the whole
// index holding all of a phrase's words, reading their positions, before
// the scope narrows it: with a common word in the phrase ("the") that grew
// with the index (16 ms of CPU at a million messages), where the messages
// in scope holding the words are few. With more than maxPhraseCandidates
// of them, ok is false and the caller asks bleve's phrase search instead.
// The total is exact: every candidate is checked (and, with scope, its
// channel).
func (x *part) searchPhrases(ctx context.Context, q search.IndexQuery, t queryTerms, scope []string) (hits []search.Hit, total int64, ok bool, err error) {
	// Bleve sets aside a match for each place of the page asked, so the
	// candidates are asked for as many as the page lacks at first (at most
	// firstPhraseCandidates), and all of them (counted by then) only when
	// there are more: a query asking every partition for a rare phrase
	// sets aside a few matches in each, not a hundred.
	if !x.viaBleve {
		hits, total, ok, err = x.searchPhrasesDirect(ctx, q, t, scope)
		if ok || err != nil {
			return hits, total, ok, err
		}
	}
	size := min(firstPhraseCandidates, max(q.Size, 1))
	var res *bleve.SearchResult
	for {
		req := bleve.NewSearchRequestOptions(x.build(q, t, true), size, 0, false)
		req.Score = "none"
		req.SortByCustom(bsearch.SortOrder{&bsearch.SortDocID{Desc: true}})
		if res, err = x.idx.SearchInContext(ctx, req); err != nil {
			return nil, 0, false, fmt.Errorf("search: %w", err)
		}
		if res.Total > maxPhraseCandidates {
			return nil, 0, false, nil
		}
		if res.Total <= uint64(size) {
			break
		}
		size = int(res.Total)
	}
	docs, err := x.load(res.Hits)
	if err != nil {
		return nil, 0, false, err
	}
	after, ok := phraseAfter(q)
	if !ok {
		return nil, 0, true, nil // a token of another order: fingerprinted away before
	}
	hits = []search.Hit{}
	for i, h := range res.Hits {
		if docs[i].ID == "" {
			continue // deleted since the search (load)
		}
		if h, ok := checkPhrases(q, t, scope, after, len(hits), hit(h, docs[i], q.Order)); ok {
			total++
			if h != nil {
				hits = append(hits, *h)
			}
		}
	}
	return hits, total, true, nil
}

// phraseAfter is the id a page newest first starts below ("" for the
// first page); ok is false for a token of another order.
func phraseAfter(q search.IndexQuery) (after string, ok bool) {
	switch len(q.After) {
	case 0:
		return "", true
	case 1:
		return q.After[0], true
	}
	return "", false
}

// checkPhrases checks a phrase candidate out, a message holding the
// phrases' words: ok if it is in scope and holds each phrase (a match,
// counted), with the hit to add to a page holding n hits so far, if it
// belongs there.
func checkPhrases(q search.IndexQuery, t queryTerms, scope []string, after string, n int, out search.Hit) (h *search.Hit, ok bool) {
	if (scope != nil && !slices.Contains(scope, out.ChannelID)) || !t.m.holdsPhrases(out.Content, t.phrases) {
		return nil, false
	}
	if (after != "" && out.ID >= after) || n == q.Size {
		return nil, true
	}
	out.Matches = t.m.matches(out.Content, t)
	return &out, true
}

// anyTerm matches documents whose field holds one of the values exactly.
func anyTerm(field string, values []string) query.Query {
	qs := make([]query.Query, 0, len(values))
	for _, v := range values {
		t := bleve.NewTermQuery(v)
		t.SetField(field)
		qs = append(qs, t)
	}
	if len(qs) == 1 {
		return qs[0]
	}
	return bleve.NewDisjunctionQuery(qs...)
}
