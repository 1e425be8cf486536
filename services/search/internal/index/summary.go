package index

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"sync"

	"github.com/blevesearch/bleve/v2"
	bsearch "github.com/blevesearch/bleve/v2/search"

	"github.com/accordchat/accord/services/search/internal/search"
)

// A summary tells a search which partitions cannot hold a match, so that a
// query matching less than a page (which asks every partition, newest
// first) does not pay a search in each. It is kept for a sealed partition
// (one no longer the newest): built from its messages once it is sealed,
// written beside partitions.json (<name>.summary), loaded at open (and
// built again if missing or of another format), and widened by every
// message applied to the partition since (an edit's new words, a late
// creation) before it is applied, so it never lacks one. A deletion does
// not narrow it: a summary may hold more than the partition, never less.
//
// It is a Bloom filter of pairs of a server and
//
//   - an author, a channel, and a channel with an author (from:, in:, both);
//   - a term of the text, in each of its forms (words, and each word of a
//     phrase, as bleve's term and phrase searches ask them);
//   - two and three consecutive words, folded (phrases, as searchPhrases
//     checks them on the text);
//   - a user mentioned (mentions:), and a link (has:link), as search.NewDoc
//     finds them in the text,
//
// and the number of messages of each server. A query skips a partition
// when, for each of its servers, a pair it requires is absent. A false
// positive (about 1% a pair) only costs the search the partition would
// have had anyway.
type summary struct {
	mu sync.Mutex
	// ready: bits and servers are the partition's; a search may skip it.
	ready bool
	// building: a build reads the partition; keys added meanwhile wait
	// in pending, to be added once it is done.
	building bool
	pending  []uint64
	pendingS map[string]int64
	bits     []uint64
	k        uint32
	servers  map[string]int64
	// big are the servers with more than maxPhraseCandidates messages
	// in the partition (servers' keys), so that a search of one server
	// reads no map (bigServers).
	big  []string
	path string // "" in memory
}

// bigServers sets big from servers.
func (s *summary) bigServers() {
	s.big = s.big[:0]
	for sv, n := range s.servers {
		if n > maxPhraseCandidates {
			s.big = append(s.big, sv)
		}
	}
}

// Key kinds of a summary.
const (
	keyAuthor  = 'a'
	keyChannel = 'c'
	keyBoth    = 'b' // channel and author
	keyTerm    = 't'
	keyGram2   = '2'
	keyGram3   = '3'
	keyServer  = 's' // a message of the server
	keyMention = 'm' // a user mentioned (mentions:)
	keyLink    = 'l' // a message with a link (has:link)
)

// summaryBitsPerKey and summaryHashes give about 1% false positives.
const (
	summaryBitsPerKey = 10
	summaryHashes     = 7
	// Version 2 added mentions and links: a summary of version 1 is
	// built again at open.
	summaryMagic = "accord-summary-2\n"
)

// keyHash is the 64-bit hash of one pair: the kind, the server and the
// values, each ended by a zero byte.
func keyHash(kind byte, server string, values ...string) uint64 {
	// FNV-1a, 64 bits, inline: no allocation per pair.
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	h = (h ^ uint64(kind)) * prime
	str := func(v string) {
		for i := 0; i < len(v); i++ {
			h = (h ^ uint64(v[i])) * prime
		}
		h *= prime // the zero byte ending it
	}
	str(server)
	for _, v := range values {
		str(v)
	}
	return h
}

func (s *summary) add(h uint64) {
	m := uint64(len(s.bits)) * 64
	h1, h2 := h&math.MaxUint32, h>>32|1
	for i := range uint64(s.k) {
		b := (h1 + i*h2) % m
		s.bits[b/64] |= 1 << (b % 64)
	}
}

func (s *summary) has(h uint64) bool {
	m := uint64(len(s.bits)) * 64
	h1, h2 := h&math.MaxUint32, h>>32|1
	for i := range uint64(s.k) {
		b := (h1 + i*h2) % m
		if s.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// fill makes the filter of a set of keys.
func (s *summary) fill(keys map[uint64]struct{}, servers map[string]int64) {
	n := max(len(keys), 1024)
	s.bits = make([]uint64, (n*summaryBitsPerKey+63)/64)
	s.k = summaryHashes
	for h := range keys {
		s.add(h)
	}
	s.servers = servers
	s.bigServers()
}

// keySet collects a partition's keys.
type keySet struct {
	keys    map[uint64]struct{}
	servers map[string]int64
}

func newKeySet() *keySet {
	return &keySet{keys: map[uint64]struct{}{}, servers: map[string]int64{}}
}

// doc adds the keys of one message.
func (ks *keySet) doc(a *textAnalyzer, d search.Doc) {
	server, content := d.ServerID, d.Content
	add := func(kind byte, values ...string) { ks.keys[keyHash(kind, server, values...)] = struct{}{} }
	ks.servers[server]++
	add(keyServer)
	add(keyAuthor, d.AuthorID)
	add(keyChannel, d.ChannelID)
	add(keyBoth, d.ChannelID, d.AuthorID)
	for _, m := range d.Mentions {
		add(keyMention, m)
	}
	if d.HasLink {
		add(keyLink)
	}
	toks := a.tokenizer.Tokenize([]byte(content))
	folded := make([]string, 0, len(toks))
	for _, tok := range toks {
		w := a.forms(tok)
		for _, f := range w.forms {
			add(keyTerm, f)
		}
		folded = append(folded, w.folded)
	}
	for i := range folded {
		if i+1 < len(folded) {
			add(keyGram2, folded[i], folded[i+1])
		}
		if i+2 < len(folded) {
			add(keyGram3, folded[i], folded[i+1], folded[i+2])
		}
	}
}

// widen adds the keys of messages about to be applied. It reports whether
// the summary is ready and changed, so is to be written again before they
// are applied.
func (s *summary) widen(ks *keySet) bool {
	if len(ks.keys) == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ready:
		for h := range ks.keys {
			s.add(h)
		}
		for sv, n := range ks.servers {
			s.servers[sv] += n
		}
		s.bigServers()
		return true
	case s.building:
		for h := range ks.keys {
			s.pending = append(s.pending, h)
		}
		for sv, n := range ks.servers {
			s.pendingS[sv] += n
		}
	}
	return false
}

// kept reports whether the summary is kept (ready or being built): the
// partition is sealed.
func (s *summary) kept() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready || s.building
}

// startBuild marks the summary as being built: keys widened from now on
// wait for the build. It reports false if it is ready or being built.
func (s *summary) startBuild() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready || s.building {
		return false
	}
	s.building, s.pending, s.pendingS = true, nil, map[string]int64{}
	return true
}

// finish makes the summary of the keys read and those widened meanwhile,
// and writes it.
func (s *summary) finish(ks *keySet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.pending {
		ks.keys[h] = struct{}{}
	}
	for sv, n := range s.pendingS {
		ks.servers[sv] += n
	}
	s.fill(ks.keys, ks.servers)
	s.building, s.pending, s.pendingS = false, nil, nil
	if err := s.writeLocked(); err != nil {
		return err
	}
	s.ready = true
	return nil
}

// abandon ends a build that failed: the partition stays unsummarized
// (always asked).
func (s *summary) abandon() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.building, s.pending, s.pendingS = false, nil, nil
}

// write saves the summary (a new file renamed over the old).
func (s *summary) write() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeLocked()
}

func (s *summary) writeLocked() error {
	if s.path == "" {
		return nil
	}
	var b bytes.Buffer
	b.WriteString(summaryMagic)
	put := func(v uint64) { b.Write(binary.AppendUvarint(nil, v)) }
	put(uint64(s.k))
	put(uint64(len(s.bits)))
	for _, w := range s.bits {
		_ = binary.Write(&b, binary.LittleEndian, w)
	}
	names := make([]string, 0, len(s.servers))
	for sv := range s.servers {
		names = append(names, sv)
	}
	sort.Strings(names)
	put(uint64(len(names)))
	for _, sv := range names {
		put(uint64(len(sv)))
		b.WriteString(sv)
		put(uint64(s.servers[sv]))
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}

// load reads the summary's file; false if it is missing or unreadable
// (then it is built again).
func (s *summary) load() bool {
	data, err := os.ReadFile(s.path)
	if err != nil || !bytes.HasPrefix(data, []byte(summaryMagic)) {
		return false
	}
	r := bytes.NewReader(data[len(summaryMagic):])
	get := func() uint64 {
		v, e := binary.ReadUvarint(r)
		err = errors.Join(err, e)
		return v
	}
	k, n := get(), get()
	if err != nil || k == 0 || k > 32 || n == 0 || n > uint64(r.Len())/8 {
		return false
	}
	bits := make([]uint64, n)
	if binary.Read(r, binary.LittleEndian, bits) != nil {
		return false
	}
	servers := map[string]int64{}
	for range get() {
		l := get()
		if err != nil || l > uint64(r.Len()) {
			return false
		}
		name := make([]byte, l)
		_, _ = io.ReadFull(r, name)
		servers[string(name)] = int64(get())
	}
	if err != nil || r.Len() != 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bits, s.k, s.servers, s.ready = bits, uint32(k), servers, true
	s.bigServers()
	return true
}

// summarizePage is how many messages summarize reads a search: each
// search visits every message of the partition (sorting them by id), so
// pages are large; 10,000 messages' fields are a few MiB.
const summarizePage = 10_000

// summarize reads every message of the partition into ks.
func (x *part) summarize(ctx context.Context, ks *keySet) error {
	var after []string
	for {
		req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), summarizePage, 0, false)
		req.Score = "none"
		req.Fields = []string{fContent, fServer, fChannel, fAuthor}
		req.SortByCustom(bsearch.SortOrder{&bsearch.SortDocID{}})
		req.SearchAfter = after
		res, err := x.idx.SearchInContext(ctx, req)
		if err != nil {
			return fmt.Errorf("summarize partition: %w", err)
		}
		for _, h := range res.Hits {
			str := func(f string) string { s, _ := h.Fields[f].(string); return s }
			// Mentions and links are not stored: found in the text
			// again, as they were when indexed (search.NewDoc).
			ks.doc(x.text, search.NewDoc(search.Doc{ServerID: str(fServer), ChannelID: str(fChannel), AuthorID: str(fAuthor), Content: str(fContent)}))
		}
		if len(res.Hits) < summarizePage {
			return nil
		}
		after = res.Hits[len(res.Hits)-1].Sort
	}
}

// probe is what a query requires of a summary, hashed once per query
// (a query at a million messages checks a hundred summaries): for each
// of its servers, groups of pairs of which one at least must be present,
// the rarest first (consecutive words, from: with in:, then words), so
// that a partition without a match is usually told by the first group.
type probe struct {
	servers []serverProbe
	// grams: the query has a phrase of several words, whose consecutive
	// words are required only where searchPhrases answers (excludes).
	grams bool
}

type serverProbe struct {
	id string
	// withGrams and plain are the groups with and without the phrases'
	// consecutive words.
	withGrams, plain [][]uint64
}

// newProbe hashes q's requirements for every server it names.
func newProbe(q search.IndexQuery, t queryTerms) *probe {
	pr := &probe{grams: q.Order != search.Relevance && t.longPhrase()}
	for _, sv := range q.Servers {
		one := func(kind byte, values ...string) []uint64 { return []uint64{keyHash(kind, sv, values...)} }
		anyOf := func(kind byte, values []string) []uint64 {
			hs := make([]uint64, 0, len(values))
			for _, v := range values {
				hs = append(hs, keyHash(kind, sv, v))
			}
			return hs
		}
		var grams, plain [][]uint64
		for _, p := range t.phrases {
			if len(p) == 2 {
				grams = append(grams, one(keyGram2, p[0], p[1]))
			}
			for i := 0; i+2 < len(p); i++ {
				grams = append(grams, one(keyGram3, p[i], p[i+1], p[i+2]))
			}
		}
		if len(q.Mentions) > 0 {
			plain = append(plain, anyOf(keyMention, q.Mentions))
		}
		if q.HasLink {
			plain = append(plain, one(keyLink))
		}
		switch {
		case len(q.From) > 0 && len(q.In) > 0:
			var both []uint64
			for _, c := range q.In {
				for _, a := range q.From {
					both = append(both, keyHash(keyBoth, sv, c, a))
				}
			}
			plain = append(plain, both)
		case len(q.From) > 0:
			plain = append(plain, anyOf(keyAuthor, q.From))
		case len(q.In) > 0:
			plain = append(plain, anyOf(keyChannel, q.In))
		}
		for _, p := range t.phrases {
			for _, w := range p {
				plain = append(plain, one(keyTerm, w))
			}
		}
		for _, w := range t.words {
			for _, forms := range w {
				plain = append(plain, anyOf(keyTerm, forms))
			}
		}
		if len(plain) == 0 && len(grams) == 0 {
			// Nothing else required: a message of the server.
			plain = append(plain, one(keyServer))
		}
		pr.servers = append(pr.servers, serverProbe{id: sv, withGrams: append(grams, plain...), plain: plain})
	}
	return pr
}

// excludes reports whether the partition cannot hold a match of the
// probe's query: for each of its servers, a pair it requires is absent.
// Phrases are checked by their consecutive words only newest first with
// at most maxPhraseCandidates messages of the query's servers in the
// partition, where searchPhrases (which checks folded words in order)
// answers; bleve's phrase search, past that or by relevance, matches any
// form at each position, so each word is required as a term only.
func (s *summary) excludes(pr *probe) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ready {
		return false
	}
	grams := false
	switch {
	case !pr.grams:
	case len(pr.servers) == 1:
		// A server's search (most): no map read.
		grams = !slices.Contains(s.big, pr.servers[0].id)
	default:
		var n int64
		for _, sp := range pr.servers {
			n += s.servers[sp.id]
		}
		grams = n <= maxPhraseCandidates
	}
	// A server without messages there has none of its pairs present
	// (but for false positives), so no map is read for it either.
	for _, sp := range pr.servers {
		groups := sp.plain
		if grams {
			groups = sp.withGrams
		}
		if s.mayHold(groups) {
			return false
		}
	}
	return true
}

// mayHold reports whether each group has a pair present.
func (s *summary) mayHold(groups [][]uint64) bool {
	for _, g := range groups {
		if !slices.ContainsFunc(g, s.has) {
			return false
		}
	}
	return true
}
