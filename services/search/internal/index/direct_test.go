package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/accordchat/accord/services/search/internal/search"
)

// setViaBleve makes every partition of x answer through bleve's search
// requests (on) or straight from the segments (off).
func setViaBleve(x *Index, on bool) {
	for _, p := range x.snapshot() {
		p.x.viaBleve = on
	}
}

// directWords are the corpus's words: forms of one word (deploy,
// deployed, déployer), phrase material, mentions and links.
var directWords = strings.Fields(`deploy deployed deploying déployer release the of a review réunion
	demain équipe meeting cache index @bob @carol https://example.com/x rare`)

// directCorpus indexes n messages of servers s0-s2 (channels c0-c5, two
// a server; authors a0-a3) in batches of 7, then edits some, deletes
// some (and a channel of s1), so that partitions hold several segments,
// deleted documents and replaced ones.
func directCorpus(t *testing.T, x *Index, n int) {
	t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 11))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	doc := func(i int) search.Change {
		var words []string
		for range 3 + r.IntN(8) {
			words = append(words, directWords[r.IntN(len(directWords))])
		}
		ch := r.IntN(6)
		id := fmt.Sprintf("%024x", i)
		return search.Change{ID: id, Doc: search.NewDoc(search.Doc{
			ID: id, ServerID: fmt.Sprintf("s%d", ch/2), ChannelID: fmt.Sprintf("c%d", ch),
			AuthorID: fmt.Sprintf("a%d", r.IntN(4)), AuthorName: "name",
			Content: strings.Join(words, " "), Pinned: r.IntN(5) == 0,
			Created: base.Add(time.Duration(i) * time.Minute),
		})}
	}
	var pos int
	batch := func(cs []search.Change) {
		pos++
		if err := x.Apply(ctx, cs, fmt.Sprintf("%d-0", pos)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= n; i += 7 {
		var cs []search.Change
		for j := i; j < i+7 && j <= n; j++ {
			cs = append(cs, doc(j))
		}
		batch(cs)
	}
	for range 6 {
		var cs []search.Change
		for range 5 {
			i := 1 + r.IntN(n)
			if r.IntN(3) == 0 {
				cs = append(cs, search.Change{Delete: true, ID: fmt.Sprintf("%024x", i)})
			} else {
				cs = append(cs, doc(i)) // an edit: new words
			}
		}
		batch(cs)
	}
	batch([]search.Change{{DeleteChannel: true, ServerID: "s1", ChannelID: "c3"}})
}

// TestDirectSearchAnswersAsBleve: newest first, the searches answered
// straight from the segments find the same hits (fields, matches, page
// positions) and the same totals as bleve's search requests, page after
// page, for words (in their several forms), phrases, filters, scopes of
// channels (one deleted meanwhile, as the service asks until the
// deletion reaches the index), on partitions of several segments with
// edited and deleted messages, compacted or not.
func TestDirectSearchAnswersAsBleve(t *testing.T) {
	x, err := Open(filepath.Join(t.TempDir(), "index"), WithPartitionSize(60))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	directCorpus(t, x, 400)
	if x.Partitions() < 4 {
		t.Fatalf("%d partitions, want several", x.Partitions())
	}
	// Compactions and summaries done: each search below meets the same
	// partitions, as both ways ask them.
	for deadline := time.Now().Add(2 * time.Minute); !x.Settled() || x.Summarizing(); {
		if time.Now().After(deadline) {
			t.Fatal("index not settled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := Summarized(x); n != x.Partitions()-1 {
		t.Fatalf("%d summaries, want %d", n, x.Partitions()-1)
	}
	head := x.snapshot()[x.Partitions()-1].x
	q, _ := search.Parse("deploy")
	if _, _, ok, err := head.runDirect(context.Background(), search.IndexQuery{Query: q, Servers: []string{"s0"}, Size: 5}, head.terms(q), true); !ok || err != nil {
		t.Fatalf("a word newest first on disk: direct %v, %v; want it answered directly", ok, err)
	}
	texts := []string{
		"deploy", "deployed", "déployer", "release", "the", "rare", "nowhere", "...",
		"deploy release", `"deploy release"`, `"the review"`, `"of"`, `"deploy release" the`,
		"from:a1", "from:a1 deploy", "in:c2", "in:c2 in:c0 review", "in:c9",
		"mentions:bob", "mentions:bob mentions:carol", "has:link", "has:link deploy",
		"pinned:true", "pinned:false deploy", "from:a2 in:c1 has:link",
	}
	scopes := map[string][]string{
		"s0": {"c0", "c1"},
		"s1": {"c2", "c3"}, // c3 deleted
		"s2": {"c4"},       // c5 left out
	}
	ctx := context.Background()
	for _, text := range texts {
		q, err := search.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		for _, servers := range [][]string{{"s0"}, {"s1"}, {"s2"}, {"s0", "s2"}} {
			for _, scoped := range []bool{false, true} {
				for _, size := range []int{1, 4, 26} {
					iq := search.IndexQuery{Query: q, Servers: servers, Size: size}
					if scoped {
						for _, s := range servers {
							iq.Channels = append(iq.Channels, scopes[s]...)
						}
					}
					name := fmt.Sprintf("%s %v scoped=%v size=%d", text, servers, scoped, size)
					var pages int
					for {
						setViaBleve(x, true)
						want, wantTotal, err := x.Search(ctx, iq)
						if err != nil {
							t.Fatalf("%s: bleve: %v", name, err)
						}
						setViaBleve(x, false)
						got, gotTotal, err := x.Search(ctx, iq)
						if err != nil {
							t.Fatalf("%s: direct: %v", name, err)
						}
						if !reflect.DeepEqual(got, want) || gotTotal != wantTotal {
							t.Fatalf("%s, page %d:\n got %v %+v\nwant %v %+v", name, pages, ids(got), gotTotal, ids(want), wantTotal)
						}
						if len(got) < size {
							break
						}
						iq.After = got[len(got)-1].Sort
						pages++
					}
				}
			}
		}
	}
}

func ids(hits []search.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = strings.TrimLeft(h.ID, "0")
	}
	return out
}

// TestDirectSearchDuringWrites: searches answered from the segments
// while batches, edits, deletions, new partitions and their compaction
// change them (each search reads one snapshot of each partition) fail
// never, and give each page newest first, below the page before, in the
// server asked.
func TestDirectSearchDuringWrites(t *testing.T) {
	x, err := Open(filepath.Join(t.TempDir(), "index"), WithPartitionSize(50))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for i := 1; i <= 300; i += 10 {
			var cs []search.Change
			for j := i; j < i+10; j++ {
				id := fmt.Sprintf("%024x", j)
				cs = append(cs, search.Change{ID: id, Doc: search.NewDoc(search.Doc{
					ID: id, ServerID: fmt.Sprintf("s%d", j%2), ChannelID: "c1", AuthorID: "a",
					Content: "deploy the release", Created: time.Unix(int64(j), 0),
				})})
				if j > 20 && j%7 == 0 {
					cs = append(cs, search.Change{Delete: true, ID: fmt.Sprintf("%024x", j-20)})
				}
			}
			if err := x.Apply(ctx, cs, fmt.Sprintf("%d-0", i)); err != nil {
				done <- err
				return
			}
		}
	}()
	texts := []string{"deploy", `"deploy the release"`, "from:a in:c1"}
	for n := 0; ; n++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if n < 10 {
				continue // at least a few searches, written or not
			}
			return
		default:
		}
		q, _ := search.Parse(texts[n%len(texts)])
		iq := search.IndexQuery{Query: q, Servers: []string{"s1"}, Size: 7}
		var last string
		for range 3 {
			hits, _, err := x.Search(ctx, iq)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				if h.ServerID != "s1" || (last != "" && h.ID >= last) {
					t.Fatalf("%s: hit %s of %s after %s", texts[n%len(texts)], h.ID, h.ServerID, last)
				}
				last = h.ID
			}
			if len(hits) < iq.Size {
				break
			}
			iq.After = hits[len(hits)-1].Sort
		}
	}
}
