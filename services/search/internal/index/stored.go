package index

import (
	"fmt"
	"sort"
	"time"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/numeric"
	bsearch "github.com/blevesearch/bleve/v2/search"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/accordchat/accord/services/search/internal/search"
)

// load reads the stored fields of hits (a page, or phrase candidates),
// from one snapshot: docs[i] is hits[i]'s message, with no ID if it was
// deleted between the search and the snapshot (run and searchPhrases
// leave it out).
//
// A hit is read by its internal document number, which the search found
// it by (the number of a segment's document, after the documents of the
// segments before it): its stored fields are decoded straight into the
// message. Bleve's Document(id) looked the id up as a term first (in
// every segment of the partition) and built a document field by field,
// copying each value, for this to read it again: together half of the
// loading, which was a fifth of a one-word query at 100,000 messages.
//
// The number belongs to the search's snapshot, and this one may be
// newer (a batch applied in between, a merge of segments): a number is
// taken only if, here, it is a live document of the hit's id (its first
// stored field); otherwise, and for an index that is not bleve's scorch
// (in memory), the hit is looked up by its id, as before.
func (x *part) load(hits []*bsearch.DocumentMatch) ([]search.Doc, error) {
	if len(hits) == 0 {
		return nil, nil
	}
	adv, err := x.idx.Advanced()
	if err != nil {
		return nil, err
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	docs := make([]search.Doc, len(hits))
	var byNum *numbered
	if s, ok := r.(*scorch.IndexSnapshot); ok {
		byNum = newNumbered(s)
	}
	for i, h := range hits {
		if byNum != nil && len(h.IndexInternalID) == 8 { // scorch's numbers
			ok, err := byNum.read(h.IndexInternalID.Value(), h.ID, &docs[i])
			if err != nil {
				return nil, fmt.Errorf("load message %s: %w", h.ID, err)
			}
			if ok {
				continue
			}
		}
		if err := readByID(r, h.ID, &docs[i]); err != nil {
			return nil, fmt.Errorf("load message %s: %w", h.ID, err)
		}
	}
	return docs, nil
}

// numbered reads a scorch snapshot's documents by number.
type numbered struct {
	segs []*scorch.SegmentSnapshot
	// first is the number of each segment's first document: the
	// documents of the segments before it, deleted ones included, as
	// scorch numbers them.
	first []uint64
}

func newNumbered(s *scorch.IndexSnapshot) *numbered {
	n := &numbered{segs: s.Segments(), first: make([]uint64, len(s.Segments()))}
	var sum uint64
	for i, seg := range n.segs {
		n.first[i] = sum
		sum += seg.Segment().Count()
	}
	return n
}

// read reads document num into d if it is a live document of the id
// want; ok is false otherwise.
func (n *numbered) read(num uint64, want string, d *search.Doc) (ok bool, err error) {
	i := sort.Search(len(n.first), func(i int) bool { return n.first[i] > num }) - 1
	if i < 0 {
		return false, nil
	}
	seg, local := n.segs[i], num-n.first[i]
	if local >= seg.Segment().Count() || local > uint64(^uint32(0)) {
		return false, nil
	}
	return readStored(seg, local, want, d)
}

// readStored reads the document local of seg into d if it is a live
// document of the id want; ok is false otherwise.
func readStored(seg *scorch.SegmentSnapshot, local uint64, want string, d *search.Doc) (ok bool, err error) {
	if del := seg.Deleted(); del != nil && del.Contains(uint32(local)) {
		return false, nil
	}
	var f fields
	ok = true
	err = seg.VisitDocument(local, func(name string, typ byte, val []byte, _ []uint64) bool {
		if name == "_id" {
			// The first field: the document's id. A document of another
			// id is read to its end all the same (stopping early here
			// leaves zap's visitor reused twice).
			ok = ok && string(val) == want
			return true
		}
		if ok {
			f.stored(name, typ, val)
		}
		return true
	})
	if err != nil || !ok {
		return false, err
	}
	*d = f.doc(want)
	return true, nil
}

// readByID reads the live document of the id into d, leaving d empty if
// there is none (deleted).
func readByID(r bindex.IndexReader, id string, d *search.Doc) error {
	doc, err := r.Document(id)
	if err != nil || doc == nil {
		return err
	}
	var f fields
	doc.VisitFields(func(field bindex.Field) {
		switch v := field.(type) {
		case bindex.TextField:
			f.text(field.Name(), v.Text())
		case bindex.NumericField:
			if n, err := v.Number(); err == nil {
				f.number(field.Name(), n)
			}
		case bindex.BooleanField:
			if b, err := v.Boolean(); err == nil {
				f.boolean(field.Name(), b)
			}
		}
	})
	*d = f.doc(id)
	return nil
}

// fields are a message's stored fields (record's, but the text, which is
// not stored, and mentions, not stored either).
type fields struct {
	content, server, channel, author, name string
	link, pinned                           bool
	time, edited                           float64
}

// stored sets the field name from its stored value as bleve encodes it by
// type: 't' text as is, 'n' a number prefix-coded, 'b' a boolean as 'T'
// or 'F' (document.NewTextField and its kin, from bytes). A value that
// does not decode is left out, as Document's fields leave it.
func (f *fields) stored(name string, typ byte, val []byte) {
	switch typ {
	case 't':
		f.text(name, string(val))
	case 'n':
		if i, err := numeric.PrefixCoded(val).Int64(); err == nil {
			f.number(name, numeric.Int64ToFloat64(i))
		}
	case 'b':
		if len(val) == 1 {
			f.boolean(name, val[0] == 'T')
		}
	}
}

func (f *fields) text(name, v string) {
	switch name {
	case fContent:
		f.content = v
	case fServer:
		f.server = v
	case fChannel:
		f.channel = v
	case fAuthor:
		f.author = v
	case fName:
		f.name = v
	}
}

func (f *fields) number(name string, v float64) {
	switch name {
	case fTime:
		f.time = v
	case fEdited:
		f.edited = v
	}
}

func (f *fields) boolean(name string, v bool) {
	switch name {
	case fLink:
		f.link = v
	case fPinned:
		f.pinned = v
	}
}

// doc is the message of the id with these fields.
func (f *fields) doc(id string) search.Doc {
	d := search.Doc{
		ID: id, Content: f.content, ServerID: f.server, ChannelID: f.channel,
		AuthorID: f.author, AuthorName: f.name, Pinned: f.pinned, HasLink: f.link,
		Created: time.UnixMilli(int64(f.time)).UTC(),
	}
	if f.edited > 0 {
		d.Edited = time.UnixMilli(int64(f.edited)).UTC()
	}
	return d
}
