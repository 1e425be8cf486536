package gateway

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/platformtest"
)

// socketGoroutines counts the goroutines of the gateway's sockets by the
// socket function they are in.
func socketGoroutines() map[string]int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		switch {
		case strings.Contains(g, "gateway.(*wsSession).readLoop"):
			count["reader"]++
		case strings.Contains(g, "gateway.(*wsSession).pumpEvents"):
			count["pump"]++
		case strings.Contains(g, "gateway.(*wsHandler).ServeHTTP"),
			strings.Contains(g, "gateway.(*wsSession)"),
			strings.Contains(g, "gateway.(*sharedSession)"),
			strings.Contains(g, "gateway.(*sendQueue)"),
			strings.Contains(g, "gateway.(*clock)"):
			count["other"]++
		}
	}
	return count
}

// An idle socket keeps one goroutine, its reader, plus the event pump on
// the per-socket feed: its clock runs on timers, frames are written by
// the goroutines that queue them, and the HTTP handler returns once the
// hello is served, so the server lets go of the connection's state and
// the handler's stack. The clock still beats: heartbeats reach presence
// and the socket answers.
func TestWSIdleSocketKeepsOnlyItsReader(t *testing.T) {
	for _, shared := range []bool{true, false} {
		name := "per-socket feed"
		if shared {
			name = "shared feed"
		}
		t.Run(name, func(t *testing.T) {
			o := WSOptions{HeartbeatInterval: 50 * time.Millisecond, ClientTimeout: 10 * time.Second}
			var fw *fakeWorld
			if shared {
				fw = newSharedWorld(t, o)
			} else {
				fw = newFakeWorld(t, o)
			}
			const n = 4
			var cs []*wsClient
			for range n {
				c := dialWS(t, fw.srv.URL, fw.env.UserToken(platformtest.NewID()))
				c.hello("")
				cs = append(cs, c)
			}
			want := map[string]int{"reader": n}
			if !shared {
				want["pump"] = n
			}
			var got map[string]int
			platformtest.Eventually(t, 10*time.Second, func() bool {
				got = socketGoroutines()
				return got["reader"] == want["reader"] && got["pump"] == want["pump"] && got["other"] == 0
			}, "idle sockets keep only their readers (and pumps)")
			platformtest.Eventually(t, 5*time.Second, func() bool {
				fw.presence.mu.Lock()
				defer fw.presence.mu.Unlock()
				return fw.presence.heartbeats >= 3*n
			}, "heartbeats from the sockets' clocks")
			for _, c := range cs {
				c.send(map[string]any{"type": "ping", "nonce": "n"})
				c.expect("pong")
			}
		})
	}
}
