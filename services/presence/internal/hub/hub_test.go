package hub

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/platformtest"
)

func startHub(t *testing.T, queue int) (*Hub, func(payload string)) {
	t.Helper()
	env := platformtest.New(t)
	ch := env.Prefix + "presence:changes"
	h := New(env.Redis, ch, queue, env.Log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-h.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("hub not ready")
	}
	return h, func(p string) {
		if err := env.Redis.Publish(context.Background(), ch, p).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSlowWatcherIsDroppedOthersGoOn(t *testing.T) {
	platformtest.EachRedis(t, testSlowWatcherIsDroppedOthersGoOn)
}

func testSlowWatcherIsDroppedOthersGoOn(t *testing.T) {
	h, publish := startHub(t, 2)
	slow := h.Watch([]string{"u1"})
	fast := h.Watch([]string{"u1", "u2"})
	other := h.Watch([]string{"u3"})
	got := 0
	for i := 1; i <= 10; i++ {
		publish(fmt.Sprintf("u1|1|2|%d|%d|%d|0", i, i, i))
		select {
		case st := <-fast.Changes():
			if st.UserID != "u1" || st.Version != int64(i) {
				t.Fatalf("change %d: got %+v", i, st)
			}
			got++
		case <-time.After(5 * time.Second):
			t.Fatalf("change %d not delivered", i)
		}
	}
	select {
	case <-slow.Dropped():
	case <-time.After(5 * time.Second):
		t.Fatal("slow watcher not dropped")
	}
	select {
	case <-fast.Dropped():
		t.Fatal("a watcher that keeps up was dropped")
	case <-other.Changes():
		t.Fatal("a change of u1 reached a watcher of u3")
	default:
	}
	if n := h.Watchers(); n != 2 {
		t.Fatalf("watchers: got %d, want 2", n)
	}
	fast.Stop()
	other.Stop()
	if n := h.Watchers(); n != 0 {
		t.Fatalf("watchers after Stop: got %d, want 0", n)
	}
}

func TestBadMessagesAreIgnored(t *testing.T) { platformtest.EachRedis(t, testBadMessagesAreIgnored) }

func testBadMessagesAreIgnored(t *testing.T) {
	h, publish := startHub(t, 4)
	w := h.Watch([]string{"u1"})
	publish("garbage")
	publish("u1|1|2|5|5|7|0")
	select {
	case st := <-w.Changes():
		if st.Version != 7 || !st.Online {
			t.Fatalf("got %+v", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("change not delivered")
	}
}
