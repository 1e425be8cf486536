package index_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/accordchat/accord/services/search/internal/index"
	"github.com/accordchat/accord/services/search/internal/search"
	"github.com/accordchat/accord/services/search/internal/storetest"
)

// summaryCorpus writes messages 1..50 of server s1 in partitions of ten
// (p00000 holds 1-10, ... p00004, the newest, 41-50): each says "word"
// and its partition's tag ("tag0" ... "tag4"); in every partition author
// "a7" writes in channel "c1" and others in "c2"; only message 35 is by
// a7 in c2; only message 25 says "alpha beta gamma" (every other says
// "gamma beta alpha"); only message 12 says "meetings tomorrow"; only
// message 17 mentions @bob and holds a link. A
// message of server s2 in each partition says "only2".
func summaryCorpus(t *testing.T, x *index.Index) {
	t.Helper()
	for i := 1; i <= 50; i += 5 {
		var cs []search.Change
		for j := i; j < i+5; j++ {
			text := fmt.Sprintf("word tag%d gamma beta alpha", (j-1)/10)
			switch j {
			case 25:
				text = "word tag2 alpha beta gamma"
			case 12:
				text = "word tag1 meetings tomorrow"
			case 17:
				text = "word tag1 gamma beta alpha @bob https://example.com"
			}
			author, channel := "a1", "c2"
			if j%10 == 3 {
				author, channel = "a7", "c1"
			}
			if j == 35 {
				author, channel = "a7", "c2"
			}
			server := "s1"
			if j%10 == 9 {
				server, text = "s2", "only2"
			}
			cs = append(cs, storetest.Doc(j, server, channel, author, text))
		}
		if err := x.Apply(context.Background(), cs, fmt.Sprintf("%d-0", i+4)); err != nil {
			t.Fatal(err)
		}
	}
}

// waitSummaries waits until every partition but the newest has its
// summary.
func waitSummaries(t *testing.T, x *index.Index) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for index.Summarized(x) != x.Partitions()-1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d partitions summarized", index.Summarized(x), x.Partitions()-1)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type skipCase struct {
	text  string
	order search.Order
	want  []int
	asked int64 // partitions searched (the newest always is)
}

// skipCases are asked of summaryCorpus's index.
var skipCases = []skipCase{
	{text: "tag1", want: desc(20, 11), asked: 2},
	{text: "tag4", want: desc(50, 41), asked: 1},
	{text: "tag1", order: search.Relevance, want: desc(20, 11), asked: 2},
	{text: "nowhere", want: nil, asked: 1},
	{text: `"alpha beta gamma"`, want: []int{25}, asked: 2},
	{text: `"gamma beta alpha" tag3`, want: desc(40, 31), asked: 2},
	// By relevance, bleve's phrase search (any form at each position)
	// answers: only each word is required, and every partition holds
	// them.
	{text: `"alpha beta gamma"`, order: search.Relevance, want: []int{25}, asked: 5},
	{text: `"meet tomorrow"`, order: search.Relevance, want: []int{12}, asked: 2},
	{text: "from:a7 in:c2", want: []int{35}, asked: 2},
	{text: "from:a7", want: []int{43, 35, 33, 23, 13, 3}, asked: 5},
	{text: "from:a7 in:c1 tag2", want: []int{23}, asked: 2},
	{text: "in:c1 tag0", want: []int{3}, asked: 1 + 1},
	{text: "from:nobody", want: nil, asked: 1},
	{text: "mentions:bob", want: []int{17}, asked: 2},
	{text: "mentions:carol", want: nil, asked: 1},
	{text: "has:link", want: []int{17}, asked: 2},
	{text: "has:link tag3", want: nil, asked: 1},
}

func desc(from, to int) []int {
	var out []int
	for i := from; i >= to; i-- {
		if i%10 != 9 { // s2's
			out = append(out, i)
		}
	}
	return out
}

// checkSkips asks every case, checking hits, exact totals and (with
// skips) the partitions searched; without, every partition must be.
func checkSkips(t *testing.T, x *index.Index, label string, skips bool) {
	t.Helper()
	for _, tt := range skipCases {
		q, err := search.Parse(tt.text)
		if err != nil {
			t.Fatal(err)
		}
		before := index.PartitionsAsked(x)
		hits, total, err := x.Search(context.Background(), search.IndexQuery{Query: q, Servers: []string{"s1"}, Order: tt.order, Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, h := range hits {
			var n int
			fmt.Sscanf(h.ID, "%x", &n)
			got = append(got, n)
		}
		if tt.order == search.Relevance {
			slices.Sort(got)
			slices.Reverse(got)
		}
		if !slices.Equal(got, tt.want) || total.N != int64(len(tt.want)) || total.Estimate {
			t.Errorf("%s: %s (order %v): got %v, total %+v; want %v", label, tt.text, tt.order, got, total, tt.want)
		}
		want := int64(x.Partitions())
		if skips {
			want = tt.asked
		}
		if asked := index.PartitionsAsked(x) - before; asked != want {
			t.Errorf("%s: %s (order %v): %d partitions asked, want %d", label, tt.text, tt.order, asked, want)
		}
	}
}

// TestSummariesSkipPartitions: a sealed partition whose summary lacks a
// word, a phrase's consecutive words, an author, a channel, an author
// in a channel, a mention or a link that a query requires is not asked, on disk and in
// memory; hits and totals stay exact.
func TestSummariesSkipPartitions(t *testing.T) {
	for _, disk := range []bool{true, false} {
		var x *index.Index
		var err error
		if disk {
			x, err = index.Open(filepath.Join(t.TempDir(), "index"), index.WithPartitionSize(10))
		} else {
			x, err = index.NewMemory(index.WithPartitionSize(10))
		}
		if err != nil {
			t.Fatal(err)
		}
		summaryCorpus(t, x)
		waitSummaries(t, x)
		checkSkips(t, x, fmt.Sprintf("disk %v", disk), true)
		// Another server's search asks the partitions holding it only.
		q, _ := search.Parse("only2")
		before := index.PartitionsAsked(x)
		if hits, total, err := x.Search(context.Background(), search.IndexQuery{Query: q, Servers: []string{"s2"}, Size: 100}); err != nil || len(hits) != 5 || total.N != 5 {
			t.Errorf("only2 in s2: %d hits, total %+v (%v), want 5", len(hits), total, err)
		}
		if asked := index.PartitionsAsked(x) - before; asked != 5 {
			t.Errorf("only2 in s2: %d asked, want 5", asked)
		}
		_ = x.Close()
	}
}

// TestSummaryFalsePositivesMissNothing: a summary where every pair seems
// present (a Bloom filter's false positives, at their worst) makes every
// partition asked and changes no hit or total.
func TestSummaryFalsePositivesMissNothing(t *testing.T) {
	x, err := index.Open(filepath.Join(t.TempDir(), "index"), index.WithPartitionSize(10))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	summaryCorpus(t, x)
	waitSummaries(t, x)
	index.SaturateSummaries(x)
	checkSkips(t, x, "saturated", false)
}

// TestSummariesFollowEditsAndDeletions: an edit of a message of a sealed
// partition (new words, author and channel unchanged) widens its summary
// before it is applied, also right after the partition is sealed (while
// its summary is being built) and across a restart; a deletion leaves the
// summary wider than the partition, and the search exact.
func TestSummariesFollowEditsAndDeletions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	x, err := index.Open(dir, index.WithPartitionSize(10))
	if err != nil {
		t.Fatal(err)
	}
	summaryCorpus(t, x)
	// Messages 51-55 begin a new partition (p00004 is sealed now, its
	// summary being built): edit 44, there, at once.
	ctx := context.Background()
	cs := []search.Change{storetest.Doc(51, "s1", "c2", "a1", "word tag5"), storetest.Doc(44, "s1", "c2", "a1", "freshly edited")}
	if err := x.Apply(ctx, cs, "51-0"); err != nil {
		t.Fatal(err)
	}
	waitSummaries(t, x)
	edits := []search.Change{
		storetest.Doc(4, "s1", "c2", "a1", "word edited later"), // p00000, summarized
		{ID: id(25), Delete: true},                              // the only "alpha beta gamma"
	}
	if err := x.Apply(ctx, edits, "52-0"); err != nil {
		t.Fatal(err)
	}
	for _, reopened := range []bool{false, true} {
		if reopened {
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
			if x, err = index.Open(dir, index.WithPartitionSize(10)); err != nil {
				t.Fatal(err)
			}
			if index.Summarized(x) != x.Partitions()-1 {
				t.Fatalf("%d of %d summaries loaded at open", index.Summarized(x), x.Partitions()-1)
			}
		}
		for _, c := range []struct {
			text string
			want []int
		}{
			{"freshly", []int{44}},
			{"later", []int{4}},
			{`"word edited later"`, []int{4}},
			{`"alpha beta gamma"`, nil},
			{"tag4", []int{50, 48, 47, 46, 45, 43, 42, 41}},
		} {
			got, total, _ := ask(t, x, c.text, 100, nil)
			if !slices.Equal(got, c.want) || total.N != int64(len(c.want)) {
				t.Errorf("reopened %v: %s: got %v, total %+v; want %v", reopened, c.text, got, total, c.want)
			}
		}
	}
	_ = x.Close()
}

// TestSummariesRebuiltWhenMissing: an index written before summaries
// (none beside its partitions), or with one unreadable, builds them at
// open, answering exactly meanwhile; a restart then loads them.
func TestSummariesRebuiltWhenMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	x, err := index.Open(dir, index.WithPartitionSize(10))
	if err != nil {
		t.Fatal(err)
	}
	summaryCorpus(t, x)
	waitSummaries(t, x)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.summary"))
	if len(files) != 4 {
		t.Fatalf("summary files %v, want 4", files)
	}
	for i, f := range files {
		if i == 0 {
			if err := os.WriteFile(f, []byte("accord-summary-1\n\xff"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if x, err = index.Open(dir, index.WithPartitionSize(10)); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = x.Close() }()
	// Exact whether or not the summaries are built yet.
	if got, total, _ := ask(t, x, "tag1", 100, nil); !slices.Equal(got, desc(20, 11)) || total.N != 9 {
		t.Errorf("while rebuilding: got %v, total %+v", got, total)
	}
	waitSummaries(t, x)
	checkSkips(t, x, "rebuilt", true)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if x, err = index.Open(dir, index.WithPartitionSize(10)); err != nil {
		t.Fatal(err)
	}
	if index.Summarized(x) != 4 {
		t.Errorf("%d summaries loaded after the rebuild, want 4", index.Summarized(x))
	}
	checkSkips(t, x, "reloaded", true)
}
