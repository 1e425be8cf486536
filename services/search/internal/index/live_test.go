package index_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/search/internal/index"
	"github.com/accordchat/accord/services/search/internal/search"
	"github.com/accordchat/accord/services/search/internal/storetest"
)

// records are the messages of record; each batch waits for a go-ahead.
type records struct {
	docs []search.Doc
	gate chan struct{}
}

func (r records) Messages(ctx context.Context, fn func([]search.Doc) error) error {
	for _, d := range r.docs {
		<-r.gate
		if err := fn([]search.Doc{d}); err != nil {
			return err
		}
	}
	return nil
}

func find(t *testing.T, x search.Index, words string) []string {
	t.Helper()
	q, err := search.Parse(words)
	if err != nil {
		t.Fatal(err)
	}
	hits, _, err := x.Search(context.Background(), search.IndexQuery{Query: q, Servers: []string{"s1"}, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range hits {
		out = append(out, h.ID)
	}
	return out
}

// TestReindexReplacesTheIndexWhileItAnswers rebuilds an index that lost a
// message: the old index answers throughout, the new one has the message,
// carries the old one's log position, survives a restart, and the log
// consumer learns of the replacement once.
func TestReindexReplacesTheIndexWhileItAnswers(t *testing.T) {
	dir := t.TempDir()
	live, err := index.OpenLive(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, b := storetest.Doc(1, "s1", "c1", "u", "alpha one"), storetest.Doc(2, "s1", "c1", "u", "alpha two")
	if err := live.Apply(ctx, []search.Change{a}, "5-0"); err != nil { // b was lost
		t.Fatal(err)
	}
	r := records{docs: []search.Doc{a.Doc, b.Doc}, gate: make(chan struct{})}
	rb := search.NewRebuilder(r, live, live)
	if _, err := rb.Reindex(ctx, false); !errors.Is(err, errs.ErrPermissionDenied) {
		t.Fatalf("a user reindexing: %v", err)
	}
	done := make(chan error, 1)
	var n int64
	go func() {
		var err error
		n, err = rb.Reindex(ctx, true)
		done <- err
	}()
	r.gate <- struct{}{} // received: the rebuild is under way, and waits for the next
	if _, err := rb.Reindex(ctx, true); err == nil {
		t.Fatal("a second reindex ran alongside")
	}
	// Mid-rebuild: the old index answers, as it was.
	if got := find(t, live, "alpha"); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("during the rebuild: %v", got)
	}
	r.gate <- struct{}{}
	if err := <-done; err != nil || n != 2 {
		t.Fatalf("reindex: %d, %v", n, err)
	}
	if got := find(t, live, "alpha"); !slices.Equal(got, []string{b.ID, a.ID}) {
		t.Fatalf("after the rebuild: %v", got)
	}
	if pos, err := live.Position(ctx); err != nil || pos != "5-0" {
		t.Fatalf("position %q, %v; want the old index's", pos, err)
	}
	if err := live.Apply(ctx, nil, "6-0"); !errors.Is(err, search.ErrReplaced) {
		t.Fatalf("first apply after the replacement: %v", err)
	}
	if err := live.Apply(ctx, []search.Change{storetest.Doc(3, "s1", "c1", "u", "alpha three")}, "6-0"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 { // the new index's folder and "current"
		t.Errorf("folder holds %d entries, want the index and its name", len(entries))
	}
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	if live, err = index.OpenLive(dir); err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if got := find(t, live, "alpha"); len(got) != 3 {
		t.Fatalf("reopened: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "index")); !os.IsNotExist(err) {
		t.Errorf("old index left behind: %v", err)
	}
}
