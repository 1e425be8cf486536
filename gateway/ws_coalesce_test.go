package gateway

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/accordchat/accord/platform/platformtest"
)

// Write coalescing on the shared feed (WSOptions.WriteDelay): a socket
// that did not write within the delay gets its event at once; one that
// did is held, and the events that come meanwhile go out, in order, in
// one write when it is released. The delay is an hour and the fan-out's
// clock is the test's: nothing here depends on how long anything takes.
func TestWSSharedWriteCoalescing(t *testing.T) {
	reg := prometheus.NewRegistry()
	fw := newSharedWorld(t, WSOptions{WriteDelay: time.Hour}, func(o *Options) { o.Registry = reg })
	pool := fw.gw.ws.hub.pool
	var skew atomic.Int64 // added to the wall clock
	pool.setClock(func() int64 { return time.Now().UnixNano() + skew.Load() })

	userID := platformtest.NewID()
	scope := "user:" + userID
	c := dialWS(t, fw.srv.URL, fw.env.UserToken(userID))
	c.hello("")
	fw.follow.mu.Lock()
	event := fw.follow.event
	fw.follow.mu.Unlock()
	send := func(i int) {
		t.Helper()
		ev := msgEvent(scope, fmt.Sprint(i), fmt.Sprint("m", i))
		ev.Cursor = fmt.Sprintf("%d-0", i+2)
		if err := event(ev); err != nil {
			t.Fatal(err)
		}
	}
	writes := newMetrics(reg).socketWrites

	// Idle: the socket's last write (ready) is two hours old by the
	// fan-out's clock, so its event is not held. Were it held, it would
	// wait for the hour-long timer, far past expect's few seconds.
	skew.Store(int64(2 * time.Hour))
	send(0)
	if got := eventContent(c.expect("event")); got != "m0" {
		t.Fatalf("idle socket got %q, want m0", got)
	}
	if n := pool.heldCount(); n != 0 {
		t.Fatalf("%d sockets held after an idle socket's event", n)
	}

	// Busy: the socket wrote just now. Its next event holds it, and the
	// burst collects in its hub queue until it is released. (Once the
	// drain of m0 is over: events it finds as it ends are held as well,
	// but ones it finds before then are its own.)
	platformtest.Eventually(t, 10*time.Second, func() bool { return sharedDrains() == 0 }, "drain of m0 over")
	skew.Store(0)
	const burst = 20
	for i := 1; i <= burst; i++ {
		send(i)
	}
	sub := fw.hubSub(t, scope)
	platformtest.Eventually(t, 10*time.Second, func() bool {
		return pool.heldCount() == 1 && len(sub.c) == burst
	}, "socket held with the burst queued")
	before := testutil.ToFloat64(writes)
	pool.release(true) // as the timer would, an hour from now
	for i := 1; i <= burst; i++ {
		if got := eventContent(c.expect("event")); got != fmt.Sprint("m", i) {
			t.Fatalf("event %d: got %q", i, got)
		}
	}
	if n := testutil.ToFloat64(writes) - before; n != 1 {
		t.Fatalf("%d events in %v writes, want one write", burst, n)
	}
}

// hubSub returns the one hub subscription of scope.
func (fw *fakeWorld) hubSub(t *testing.T, scope string) *hubSub {
	t.Helper()
	h := fw.gw.ws.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	sc, ok := h.scopes[scope]
	if !ok || len(sc.subs) != 1 {
		t.Fatalf("scope %s not followed by one socket", scope)
	}
	for s := range sc.subs {
		return s
	}
	return nil
}

// sharedDrains counts the goroutines in a shared session's code (a drain
// on a fan-out worker or a goroutine of its own).
func sharedDrains() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "gateway.(*sharedSession)")
		}
		buf = make([]byte, 2*len(buf))
	}
}
