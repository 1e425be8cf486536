package index

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	segment "github.com/blevesearch/scorch_segment_api/v2"

	"github.com/accordchat/accord/services/search/internal/search"
)

// A search newest first whose conditions are all terms (the servers,
// each word in any of its forms, a phrase's words when checked on the
// text, from:, in:, the channels, mentions:, has:link, pinned:) is
// answered straight from the partition's segments: each term's postings
// (bitmaps of document numbers, with the deleted ones taken out), a
// union per condition and an intersection of the conditions, then the
// newest of the matches by id, all from one snapshot. Bleve's search
// request did the same bitmap work (its "unadorned" conjunction of term
// searchers), around it a search context, a searcher per term and per
// condition, a collector with its heap and pools and a sort: about 30 µs
// a partition, more than half of a one-word query at a million messages,
// whose page takes about 11 partitions. Dated searches, phrases checked
// by bleve, relevance and indexes that are not bleve's scorch (in
// memory) are asked of bleve as before.

// clause is one condition: a document holds one of the terms in field.
type clause struct {
	field string
	terms []string
}

// clauses are q's conditions as terms, as build asks them of bleve (with
// looseWords, a phrase's words each): ok is false when a condition is not
// a term (a phrase by positions, a range of dates), none true when one
// matches nothing (a word of no letters).
func clauses(q search.IndexQuery, t queryTerms, looseWords bool) (cs []clause, none, ok bool) {
	if !q.Since.IsZero() || !q.Until.IsZero() {
		return nil, false, false
	}
	cs = append(cs, clause{fServer, q.Servers})
	for _, w := range t.words {
		if len(w) == 0 {
			none = true
		}
		for _, forms := range w {
			cs = append(cs, clause{fText, forms})
		}
	}
	for _, p := range t.phrases {
		switch {
		case len(p) == 0:
			none = true
		case len(p) == 1:
			cs = append(cs, clause{fText, p})
		case !looseWords:
			return nil, false, false
		default:
			for _, w := range p {
				cs = append(cs, clause{fText, []string{w}})
			}
		}
	}
	if len(q.From) > 0 {
		cs = append(cs, clause{fAuthor, q.From})
	}
	if len(q.In) > 0 {
		cs = append(cs, clause{fChannel, q.In})
	}
	if q.Channels != nil {
		cs = append(cs, clause{fChannel, q.Channels})
	}
	if len(q.Mentions) > 0 {
		cs = append(cs, clause{fMentions, q.Mentions})
	}
	if q.HasLink {
		cs = append(cs, clause{fLink, []string{"T"}}) // bleve's boolean terms
	}
	if q.Pinned != nil {
		v := "F"
		if *q.Pinned {
			v = "T"
		}
		cs = append(cs, clause{fPinned, []string{v}})
	}
	for _, c := range cs {
		if len(c.terms) == 0 {
			none = true // bleve's disjunction of no terms matches nothing
		}
	}
	return cs, none, true
}

// snapshot is a scorch snapshot of the partition, to be closed; ok is
// false for an index that is not scorch.
func (x *part) snapshot() (*scorch.IndexSnapshot, bool, error) {
	adv, err := x.idx.Advanced()
	if err != nil {
		return nil, false, err
	}
	if _, ok := adv.(*scorch.Scorch); !ok {
		return nil, false, nil
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, false, err
	}
	s, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		_ = r.Close()
		return nil, false, nil
	}
	return s, true, nil
}

// matchSet is a query's matches in one snapshot: for each segment, the
// numbers of its live documents that match (nil: none).
type matchSet struct {
	s    *scorch.IndexSnapshot
	segs []*roaring.Bitmap
	n    int64
}

// matchAll finds the documents of s holding every clause.
func matchAll(ctx context.Context, s *scorch.IndexSnapshot, cs []clause) (matchSet, error) {
	segs := s.Segments()
	m := matchSet{s: s, segs: make([]*roaring.Bitmap, len(segs))}
	for i, ss := range segs {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		acc, err := matchSegment(ss, cs)
		if err != nil {
			return m, err
		}
		if acc != nil && !acc.IsEmpty() {
			m.segs[i] = acc
			m.n += int64(acc.GetCardinality())
		}
	}
	return m, nil
}

// matchSegment is the numbers of ss's live documents holding every
// clause (nil if none). The first clause (the servers, a few percent of
// the messages) is copied, and each next one narrows it in place: its
// terms' postings are read, never changed (they may be the segment's
// own, mapped from its file). Deleted documents are taken out once, at
// the end.
func matchSegment(ss *scorch.SegmentSnapshot, cs []clause) (*roaring.Bitmap, error) {
	var acc *roaring.Bitmap
	var bms []*roaring.Bitmap
	for _, c := range cs {
		d, err := ss.Segment().Dictionary(c.field)
		if err != nil {
			return nil, fmt.Errorf("search: dictionary %s: %w", c.field, err)
		}
		if d == nil {
			return nil, nil // a field no document of the segment has
		}
		bms = bms[:0]
		for _, t := range c.terms {
			bm, err := postings(d, []byte(t))
			if err != nil {
				return nil, fmt.Errorf("search: term %s: %w", c.field, err)
			}
			if bm != nil {
				bms = append(bms, bm)
			}
		}
		switch {
		case len(bms) == 0:
			return nil, nil
		case acc == nil:
			acc = roaring.FastOr(bms...) // a new bitmap, even of one
		case len(bms) == 1:
			acc.And(bms[0])
		default:
			acc.AndAny(bms...)
		}
		if acc.IsEmpty() {
			return nil, nil
		}
	}
	if del := ss.Deleted(); acc != nil && del != nil {
		acc.AndNot(del)
	}
	return acc, nil
}

// postings is the numbers of the documents holding term, deleted ones
// included (nil if none). The bitmap may be the segment's own: it is
// never changed.
func postings(d segment.TermDictionary, term []byte) (*roaring.Bitmap, error) {
	pl, err := d.PostingsList(term, nil, nil)
	if err != nil {
		return nil, err
	}
	it := pl.Iterator(false, false, false, nil)
	if o, ok := it.(segment.OptimizablePostingsIterator); ok {
		if n, ok := o.DocNum1Hit(); ok {
			return roaring.BitmapOf(uint32(n)), nil
		}
		if bm := o.ActualBitmap(); bm != nil {
			return bm, nil
		}
		// Neither: an empty list; read the iterator all the same.
	}
	var out *roaring.Bitmap
	for {
		p, err := it.Next()
		if err != nil || p == nil {
			return out, err
		}
		if out == nil {
			out = roaring.New()
		}
		out.Add(uint32(p.Number()))
	}
}

// found is a match: its segment, its number there and its id.
type found struct {
	seg   int
	local uint64
	id    string
}

// newest is the k matches of highest id below after ("" for any),
// highest first.
func (m matchSet) newest(k int, after string) ([]found, error) {
	if k <= 0 || m.n == 0 {
		return nil, nil
	}
	out := make([]found, 0, min(int64(k), m.n))
	segs := m.s.Segments()
	for i, bm := range m.segs {
		if bm == nil {
			continue
		}
		it := bm.Iterator()
		for it.HasNext() {
			local := uint64(it.Next())
			b, err := segs[i].DocID(local)
			if err != nil {
				return nil, fmt.Errorf("search: document id: %w", err)
			}
			if after != "" && string(b) >= after {
				continue
			}
			if len(out) == k && string(b) <= out[k-1].id {
				continue
			}
			f := found{seg: i, local: local, id: string(b)}
			at, _ := slices.BinarySearchFunc(out, f.id, func(e found, id string) int { return strings.Compare(id, e.id) })
			if len(out) == k {
				out = out[:k-1]
			}
			out = slices.Insert(out, at, f)
		}
	}
	return out, nil
}

// load reads the stored fields of fs, matches of m's snapshot.
func (m matchSet) load(fs []found) ([]search.Doc, error) {
	docs := make([]search.Doc, len(fs))
	segs := m.s.Segments()
	for i, f := range fs {
		ok, err := readStored(segs[f.seg], f.local, f.id, &docs[i])
		if err != nil {
			return nil, fmt.Errorf("load message %s: %w", f.id, err)
		}
		if !ok {
			return nil, fmt.Errorf("load message %s: not found in its segment", f.id)
		}
	}
	return docs, nil
}

// runDirect is run answered from the segments (see above); ok is false
// when the query is not one of terms newest first, or the index is not
// scorch: the caller asks bleve.
func (x *part) runDirect(ctx context.Context, q search.IndexQuery, terms queryTerms, load bool) (hits []search.Hit, total int64, ok bool, err error) {
	if q.Order == search.Relevance {
		return nil, 0, false, nil
	}
	cs, none, ok := clauses(q, terms, false)
	if !ok {
		return nil, 0, false, nil
	}
	var after string
	if len(q.After) > 0 && load {
		if len(q.After) != 1 {
			return nil, 0, true, nil // a token of another order: fingerprinted away before
		}
		after = q.After[0]
	}
	if none {
		return []search.Hit{}, 0, true, nil
	}
	s, ok, err := x.snapshot()
	if !ok || err != nil {
		return nil, 0, false, err
	}
	defer s.Close()
	m, err := matchAll(ctx, s, cs)
	if err != nil {
		return nil, 0, true, err
	}
	if !load {
		return nil, m.n, true, nil
	}
	fs, err := m.newest(q.Size, after)
	if err != nil {
		return nil, 0, true, err
	}
	docs, err := m.load(fs)
	if err != nil {
		return nil, 0, true, err
	}
	hits = make([]search.Hit, 0, len(fs))
	for i, f := range fs {
		out := search.Hit{Doc: docs[i], Sort: []string{f.id}}
		out.Matches = terms.m.matches(out.Content, terms)
		hits = append(hits, out)
	}
	return hits, m.n, true, nil
}

// searchPhrasesDirect is searchPhrases with its candidates found straight
// from the segments (ok false: the caller asks bleve). Their number is
// known before any is read, so they are read once, all of them.
func (x *part) searchPhrasesDirect(ctx context.Context, q search.IndexQuery, t queryTerms, scope []string) (hits []search.Hit, total int64, ok bool, err error) {
	cs, none, ok := clauses(q, t, true)
	if !ok {
		return nil, 0, false, nil
	}
	after, ok := phraseAfter(q)
	if !ok {
		return nil, 0, true, nil // a token of another order: fingerprinted away before
	}
	if none {
		return []search.Hit{}, 0, true, nil
	}
	s, ok, err := x.snapshot()
	if !ok || err != nil {
		return nil, 0, false, err
	}
	defer s.Close()
	m, err := matchAll(ctx, s, cs)
	if err != nil || m.n > maxPhraseCandidates {
		return nil, 0, false, err
	}
	fs, err := m.newest(int(m.n), "")
	if err != nil {
		return nil, 0, true, err
	}
	docs, err := m.load(fs)
	if err != nil {
		return nil, 0, true, err
	}
	hits = []search.Hit{}
	for i, f := range fs {
		if h, ok := checkPhrases(q, t, scope, after, len(hits), search.Hit{Doc: docs[i], Sort: []string{f.id}}); ok {
			total++
			if h != nil {
				hits = append(hits, *h)
			}
		}
	}
	return hits, total, true, nil
}
