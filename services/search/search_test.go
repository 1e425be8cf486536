package search

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/platformtest"
)

func TestReplicaIDIsKeptBesideTheIndex(t *testing.T) {
	dir := t.TempDir()
	a, err := replicaID(dir)
	if err != nil || a == "" {
		t.Fatalf("%q %v", a, err)
	}
	b, err := replicaID(dir)
	if err != nil || b != a {
		t.Fatalf("second start: %q (%v), want %q", b, err, a)
	}
	if err := os.Remove(filepath.Join(dir, "replica")); err != nil {
		t.Fatal(err)
	}
	if c, err := replicaID(dir); err != nil || c == a {
		t.Fatalf("a new replica got %q (%v)", c, err)
	}
}

func TestNewNeedsRedisAndPeers(t *testing.T) {
	env := platformtest.New(t)
	d := env.Deps("search")
	if _, err := New(context.Background(), app.Deps{Config: d.Config, Log: d.Log}); err == nil {
		t.Error("built without Redis")
	}
	if _, err := New(context.Background(), d); err == nil {
		t.Error("built without the server and user services")
	}
}
