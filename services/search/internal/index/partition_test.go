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

// The contract again with partitions of three messages, so that every
// query, filter, page and deletion crosses partitions.
func TestContractSmallPartitionsOnDisk(t *testing.T) {
	storetest.Run(t, func(t *testing.T) search.Index {
		x, err := index.Open(filepath.Join(t.TempDir(), "index"), index.WithPartitionSize(3))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = x.Close() })
		return x
	})
}

func TestContractSmallPartitionsInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) search.Index {
		x, err := index.NewMemory(index.WithPartitionSize(3))
		if err != nil {
			t.Fatal(err)
		}
		return x
	})
}

func id(i int) string { return fmt.Sprintf("%024x", i) }

// apply writes messages from..to (inclusive) of server s1 in batches of
// five, the even ones saying "even" and every one saying "word".
func apply(t *testing.T, x *index.Index, from, to int) {
	t.Helper()
	for i := from; i <= to; i += 5 {
		var cs []search.Change
		for j := i; j <= min(to, i+4); j++ {
			text := "word odd"
			if j%2 == 0 {
				text = "word even"
			}
			cs = append(cs, storetest.Doc(j, "s1", "c1", "a", text))
		}
		if err := x.Apply(context.Background(), cs, fmt.Sprintf("%d-0", min(to, i+4))); err != nil {
			t.Fatal(err)
		}
	}
}

func ask(t *testing.T, x *index.Index, text string, size int, after []string) ([]int, search.Total, []string) {
	t.Helper()
	q, err := search.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	hits, total, err := x.Search(context.Background(), search.IndexQuery{Query: q, Servers: []string{"s1"}, Size: size, After: after})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, h := range hits {
		var n int
		fmt.Sscanf(h.ID, "%x", &n)
		got = append(got, n)
	}
	if len(hits) > 0 {
		after = hits[len(hits)-1].Sort
	}
	return got, total, after
}

// TestNewestFirstStopsOncePageIsFull: a page filled by the newest
// partitions leaves the older ones unasked and estimates the total; pages
// still give every match once, in order; a query asking every partition
// counts exactly.
func TestNewestFirstStopsOncePageIsFull(t *testing.T) {
	x, err := index.Open(filepath.Join(t.TempDir(), "index"), index.WithPartitionSize(10))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	apply(t, x, 1, 100)
	if n := x.Partitions(); n != 10 {
		t.Fatalf("%d partitions, want 10", n)
	}
	got, total, after := ask(t, x, "word", 5, nil)
	if want := []int{100, 99, 98, 97, 96}; !slices.Equal(got, want) {
		t.Fatalf("first page %v, want %v", got, want)
	}
	// One partition of ten asked: its 10 matches scaled to 100 messages.
	if !total.Estimate || total.N != 100 {
		t.Errorf("total %+v, want an estimate of 100", total)
	}
	all := got
	for range 30 {
		if got, _, after = ask(t, x, "word", 5, after); len(got) == 0 {
			break
		}
		all = append(all, got...)
	}
	want := make([]int, 0, 100)
	for i := 100; i >= 1; i-- {
		want = append(want, i)
	}
	if !slices.Equal(all, want) {
		t.Errorf("pages gave %v", all)
	}
	// Fewer matches than a page: every partition asked, exact.
	// Messages i are i hours after 12:00 on 2026-03-10.
	if got, total, _ := ask(t, x, "even from:a before:2026-03-11", 26, nil); total.Estimate || total.N != 5 || !slices.Equal(got, []int{10, 8, 6, 4, 2}) {
		t.Errorf("rare: %v, total %+v", got, total)
	}
}

// TestEditsAndDeletionsFindTheirPartition: an old message edited or
// deleted after newer partitions began is replaced or removed where it
// is, never indexed twice.
func TestEditsAndDeletionsFindTheirPartition(t *testing.T) {
	x, err := index.NewMemory(index.WithPartitionSize(4))
	if err != nil {
		t.Fatal(err)
	}
	apply(t, x, 1, 20)
	ctx := context.Background()
	edited := storetest.Doc(2, "s1", "c1", "a", "rewritten")
	if err := x.Apply(ctx, []search.Change{edited, {Delete: true, ID: id(3)}}, "21-0"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := ask(t, x, "rewritten", 10, nil); !slices.Equal(got, []int{2}) {
		t.Errorf("edited: %v, want [2]", got)
	}
	if got, total, _ := ask(t, x, "word", 100, nil); len(got) != 18 || total.N != 18 || total.Estimate || slices.Contains(got, 2) || slices.Contains(got, 3) {
		t.Errorf("word: %v (total %+v), want 18 without 2 and 3", got, total)
	}
	if n, err := x.Count(); err != nil || n != 19 {
		t.Errorf("count %d (%v), want 19", n, err)
	}
}

// TestReopenKeepsPartitions: partitions and the position survive a
// restart, and new messages keep going to the newest.
func TestReopenKeepsPartitions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	x, err := index.Open(dir, index.WithPartitionSize(5))
	if err != nil {
		t.Fatal(err)
	}
	apply(t, x, 1, 30)
	parts := x.Partitions()
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if x, err = index.Open(dir, index.WithPartitionSize(5)); err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if x.Partitions() != parts {
		t.Errorf("%d partitions after reopening, want %d", x.Partitions(), parts)
	}
	if pos, err := x.Position(context.Background()); err != nil || pos != "30-0" {
		t.Errorf("position %q (%v), want 30-0", pos, err)
	}
	apply(t, x, 31, 35)
	if got, _, _ := ask(t, x, "word", 3, nil); !slices.Equal(got, []int{35, 34, 33}) {
		t.Errorf("newest %v", got)
	}
	if n, err := x.Count(); err != nil || n != 35 {
		t.Errorf("count %d (%v), want 35", n, err)
	}
}

// TestOpenDiscardsAnOlderLayout: a folder of the unpartitioned index (or
// any other schema) is removed and opened empty, to be read again from
// the log.
func TestOpenDiscardsAnOlderLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"index_meta.json": `{"storage":"scorch"}`, "partitions.json": `{"version":"3","parts":[{"lo":"","name":"p00000"}]}`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	x, err := index.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if n, err := x.Count(); err != nil || n != 0 {
		t.Errorf("count %d (%v), want an empty index", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "index_meta.json")); !os.IsNotExist(err) {
		t.Errorf("the old layout's files remain (%v)", err)
	}
}

// TestOlderPartitionsAreCompacted: a partition no longer the newest is
// merged into one segment, so a search pays one term lookup there.
func TestOlderPartitionsAreCompacted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	x, err := index.Open(dir, index.WithPartitionSize(10))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	// One message a batch: a segment each.
	for i := 1; i <= 15; i++ {
		apply(t, x, i, i)
	}
	// The segments a search goes through (bleve removes a merged
	// segment's files later, on its next persist).
	segments := func() int { return index.RootSegments(x, 0) }
	deadline := time.Now().Add(3 * time.Minute)
	for !x.Settled() || segments() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d segments in the older partition (settled %v), want 1", segments(), x.Settled())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, _, _ := ask(t, x, "word", 20, nil); len(got) != 15 {
		t.Errorf("%d hits after compacting, want 15", len(got))
	}
}

// TestPhraseWithManyCandidates: more messages holding a phrase's words
// than asked for at first are all checked, and the total is exact.
func TestPhraseWithManyCandidates(t *testing.T) {
	x, err := index.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	var cs []search.Change
	for i := 1; i <= 300; i++ {
		text := "release the deploy"
		if i%2 == 0 {
			text = "deploy the release"
		}
		cs = append(cs, storetest.Doc(i, "s1", "c1", "a", text))
	}
	if err := x.Apply(context.Background(), cs, "1-0"); err != nil {
		t.Fatal(err)
	}
	got, total, _ := ask(t, x, `"deploy the release"`, 3, nil)
	if !slices.Equal(got, []int{300, 298, 296}) || total.N != 150 || total.Estimate {
		t.Errorf("got %v, total %+v; want [300 298 296] of exactly 150", got, total)
	}
}

// TestDatedSearchSkipsPartitions: before:, after: and during: ask only the
// partitions whose messages' times they include, on disk as in memory
// and after reopening (the times read again from the index), and count
// exactly.
func TestDatedSearchSkipsPartitions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	x, err := index.Open(dir, index.WithPartitionSize(10))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = x.Close() }()
	apply(t, x, 1, 100)
	// Messages i are i hours after 12:00 on 2026-03-10, ten a partition.
	desc := func(from, to int) []int {
		var out []int
		for i := from; i >= to; i-- {
			out = append(out, i)
		}
		return out
	}
	for _, tt := range []struct {
		text  string
		want  []int
		asked int64
	}{
		{"word during:2026-03-12", desc(59, 36), 3}, // 00:00 the 12th is message 36
		{"word before:2026-03-11", desc(11, 1), 2},  // messages 1-10, 11-20
		{"word after:2026-03-13", desc(100, 84), 2}, // from 00:00 the 14th: 84-90, 91-100
		{"word after:2026-03-20", nil, 0},           // after every message
		{"even during:2026-03-12", []int{58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36}, 3},
	} {
		for _, reopened := range []bool{false, true} {
			if reopened {
				if err := x.Close(); err != nil {
					t.Fatal(err)
				}
				if x, err = index.Open(dir, index.WithPartitionSize(10)); err != nil {
					t.Fatal(err)
				}
			}
			before := index.PartitionsAsked(x)
			got, total, _ := ask(t, x, tt.text, 100, nil)
			if !slices.Equal(got, tt.want) || total.N != int64(len(tt.want)) || total.Estimate {
				t.Errorf("%s (reopened %v): got %v, total %+v; want %v", tt.text, reopened, got, total, tt.want)
			}
			if asked := index.PartitionsAsked(x) - before; asked != tt.asked {
				t.Errorf("%s (reopened %v): %d partitions asked, want %d", tt.text, reopened, asked, tt.asked)
			}
		}
	}
}
