package presence_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	"github.com/accordchat/accord/platform/platformtest"
)

// ownRedis is a redis-server of the test's own, without persistence, so
// that a restart loses every key.
type ownRedis struct {
	t    testing.TB
	port int
	cmd  *exec.Cmd
}

func startOwnRedis(t testing.TB) *ownRedis {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	_ = lis.Close()
	r := &ownRedis{t: t, port: port}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *ownRedis) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *ownRedis) start() {
	r.t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		r.t.Fatalf("this test runs its own redis-server: %v", err)
	}
	r.cmd = exec.Command(path, "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr(), MaxRetries: -1})
	defer c.Close()
	platformtest.Eventually(r.t, 10*time.Second, func() bool {
		return c.Ping(context.Background()).Err() == nil
	}, "own redis-server to answer")
}

// stop kills the server as a crash would.
func (r *ownRedis) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func TestRedisRestart(t *testing.T) {
	f := newFixture(t)
	own := startOwnRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: own.addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	d := f.env.Deps("presence")
	d.Redis = rdb
	in := f.start(d, withHeartbeat(testOptions(f.vis), time.Second))

	a, b, c := platformtest.NewID(), platformtest.NewID(), platformtest.NewID()
	actx, bctx, cctx := f.as(a), f.as(b), f.as(c)
	w := in.watch(t, bctx, a, c)
	sid := in.open(t, actx)
	platformtest.Eventually(t, 2*time.Second, func() bool { return w.now(a) == online }, "a online")

	own.stop()
	own.start()

	// The service reconnects on its own; Redis forgot a's session.
	platformtest.Eventually(t, 10*time.Second, func() bool {
		r, err := in.client.BatchGetPresence(bctx, &presencev1.BatchGetPresenceRequest{UserIds: []string{a}})
		return err == nil && r.GetPresences()[0].GetStatus() == offline
	}, "service answering from the new Redis")

	// The next heartbeat of the live session registers it again and
	// announces a online.
	sub := rdb.Subscribe(context.Background(), f.env.Prefix+"presence:{stats}:changes")
	t.Cleanup(func() { _ = sub.Close() })
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := in.client.Heartbeat(actx, &presencev1.HeartbeatRequest{SessionId: sid}); err != nil {
		t.Fatalf("heartbeat after restart: %v", err)
	}
	msg, err := sub.ReceiveMessage(f.env.Ctx(""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.Payload, a+"|1|") {
		t.Fatalf("announcement: got %q, want a online", msg.Payload)
	}
	if got := in.status(t, bctx, a); got != online {
		t.Fatalf("after heartbeat: got %v, want online", got)
	}
	// The watch that was open through the restart still works: its
	// subscription came back.
	in.open(t, cctx)
	platformtest.Eventually(t, 10*time.Second, func() bool { return w.now(c) == online && w.now(a) == online }, "watch after restart")
	select {
	case <-w.done:
		t.Fatalf("watch ended: %v", w.err)
	default:
	}
	// The sweeper works again too: without heartbeats, a goes offline.
	platformtest.Eventually(t, 10*time.Second, func() bool { return w.now(a) == offline }, "expiry after restart")

}
