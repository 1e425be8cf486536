package index

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bsearch "github.com/blevesearch/bleve/v2/search"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/accordchat/accord/services/search/internal/search"
)

// storedDoc is message i as TestLoadByNumber indexes it: every stored
// field set, some differently from message to message.
func storedDoc(i int, content string) search.Doc {
	d := search.Doc{
		ID: fmt.Sprintf("%024x", i), ServerID: "s1", ChannelID: fmt.Sprintf("c%d", i%3),
		AuthorID: fmt.Sprintf("u%d", i%4), AuthorName: fmt.Sprintf("user %d", i%4),
		Content: content, Created: time.UnixMilli(1_700_000_000_000 + int64(i)*1000).UTC(),
		Pinned: i%5 == 0,
	}
	if i%2 == 0 {
		d.Edited = d.Created.Add(time.Minute)
	}
	if i%3 == 0 {
		d.Content += " https://example.com/" + fmt.Sprint(i)
	}
	return search.NewDoc(d)
}

// TestLoadByNumber: a page's messages are read by their document
// numbers on disk, and read right whatever happened since the search
// that numbered them: numbers of other messages, numbers past the end,
// an edit (the number's document deleted, the message elsewhere) and a
// deletion.
func TestLoadByNumber(t *testing.T) {
	ctx := context.Background()
	x, err := openPart(filepath.Join(t.TempDir(), "p"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	want := map[string]search.Doc{}
	// Batches of 7: several segments, so numbers span segments.
	for b := range 4 {
		var cs []search.Change
		for i := b * 7; i < (b+1)*7; i++ {
			d := storedDoc(i, fmt.Sprintf("message %d says word", i))
			want[d.ID] = d
			cs = append(cs, search.Change{ID: d.ID, Doc: d})
		}
		if err := x.Apply(ctx, cs, fmt.Sprint(b)); err != nil {
			t.Fatal(err)
		}
	}
	page := func() []*bsearch.DocumentMatch {
		t.Helper()
		req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), 100, 0, false)
		req.SortByCustom(bsearch.SortOrder{&bsearch.SortDocID{Desc: true}})
		res, err := x.idx.SearchInContext(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != len(want) {
			t.Fatalf("%d hits, want %d", len(res.Hits), len(want))
		}
		return res.Hits
	}
	check := func(what string, hits []*bsearch.DocumentMatch, deleted string) {
		t.Helper()
		docs, err := x.load(hits)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range hits {
			w := want[h.ID]
			if h.ID == deleted {
				w = search.Doc{}
			}
			w.Mentions = nil // not stored
			if got := docs[i]; !got.Created.Equal(w.Created) || !got.Edited.Equal(w.Edited) || fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("%s: message %s loaded as\n%+v, want\n%+v", what, h.ID, got, w)
			}
		}
	}
	hits := page()

	// Read by number, every one of them: the numbers are the snapshot's.
	adv, err := x.idx.Advanced()
	if err != nil {
		t.Fatal(err)
	}
	r, err := adv.Reader()
	if err != nil {
		t.Fatal(err)
	}
	s, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		t.Fatalf("reader %T, not scorch's", r)
	}
	if n := len(s.Segments()); n < 2 {
		t.Logf("%d segment(s) only", n)
	}
	byNum := newNumbered(s)
	for _, h := range hits {
		var d search.Doc
		if ok, err := byNum.read(h.IndexInternalID.Value(), h.ID, &d); err != nil || !ok {
			t.Errorf("message %s not read by its number %d (%v)", h.ID, h.IndexInternalID.Value(), err)
		}
	}
	_ = r.Close()
	check("numbers of the search", hits, "")

	// Numbers of other messages, and past the end: read by id.
	wrong := make([]*bsearch.DocumentMatch, len(hits))
	for i, h := range hits {
		c := *h
		c.IndexInternalID = hits[(i+1)%len(hits)].IndexInternalID
		if i%5 == 0 {
			c.IndexInternalID = bindex.NewIndexInternalID(nil, uint64(1000+i))
		}
		wrong[i] = &c
	}
	check("numbers of other messages", wrong, "")

	// An edit and a deletion after the search.
	edited := storedDoc(3, "message 3 edited")
	edited.Edited = edited.Created.Add(time.Hour)
	want[edited.ID] = edited
	deleted := fmt.Sprintf("%024x", 4)
	if err := x.Apply(ctx, []search.Change{{ID: edited.ID, Doc: edited}, {ID: deleted, Delete: true}}, "5"); err != nil {
		t.Fatal(err)
	}
	check("after an edit and a deletion", hits, deleted)
}
