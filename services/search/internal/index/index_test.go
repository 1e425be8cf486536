package index_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/accordchat/accord/services/search/internal/index"
	"github.com/accordchat/accord/services/search/internal/search"
	"github.com/accordchat/accord/services/search/internal/storetest"
)

func TestContractOnDisk(t *testing.T) {
	storetest.Run(t, func(t *testing.T) search.Index {
		x, err := index.Open(filepath.Join(t.TempDir(), "index"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = x.Close() })
		return x
	})
}

func TestContractInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) search.Index {
		x, err := index.NewMemory()
		if err != nil {
			t.Fatal(err)
		}
		return x
	})
}

// TestReopenKeepsEverything closes and reopens an index on disk.
func TestReopenKeepsEverything(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	x, err := index.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := x.Apply(ctx, []search.Change{storetest.Doc(1, "s1", "c1", "a", "kept"), storetest.Doc(2, "s1", "c1", "a", "dropped")}, "1-0"); err != nil {
		t.Fatal(err)
	}
	if err := x.Apply(ctx, []search.Change{{Delete: true, ID: fmt.Sprintf("%024x", 2)}}, "2-0"); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if x, err = index.Open(dir); err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if pos, err := x.Position(ctx); err != nil || pos != "2-0" {
		t.Fatalf("position %q (%v)", pos, err)
	}
	if n, err := x.Count(); err != nil || n != 1 {
		t.Fatalf("%d messages (%v), want 1", n, err)
	}
}

func TestOpenRefusesAnIndexInUse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	x, err := index.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	done := make(chan error, 1)
	go func() {
		y, err := index.Open(dir)
		if err == nil {
			_ = y.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("opened an index another holder has open")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Open waits forever for an index in use")
	}
}
