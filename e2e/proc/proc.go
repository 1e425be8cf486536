// Package proc runs Accord's binaries as separate processes for tests that
// need real process boundaries: kill one, restart it, restart Redis. Every
// process is bounded by the test: it is killed when the test ends.
package proc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"google.golang.org/grpc"
)

// Packages are the binaries of the suite by name.
var Packages = map[string]string{
	"user":     "github.com/accordchat/accord/services/user/cmd/user",
	"server":   "github.com/accordchat/accord/services/server/cmd/server",
	"presence": "github.com/accordchat/accord/services/presence/cmd/presence",
	"stats":    "github.com/accordchat/accord/services/stats/cmd/stats",
	"gateway":  "github.com/accordchat/accord/gateway/cmd/gateway",
}

// Build compiles the named binaries into a temporary folder and returns
// their paths by name.
func Build(t testing.TB, names ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{}
	args := []string{"build", "-o", dir + "/"}
	for _, n := range names {
		pkg, ok := Packages[n]
		if !ok {
			t.Fatalf("unknown binary %q", n)
		}
		args = append(args, pkg)
		out[n] = filepath.Join(dir, n)
	}
	cmd := exec.Command("go", args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// FreeAddr returns a loopback address with a port nobody listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// logBuffer keeps the tail of a process's output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		b.buf.Next(b.buf.Len() - 1<<19)
	}
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Proc is one running binary.
type Proc struct {
	Name string
	t    testing.TB
	bin  string
	args []string
	env  []string
	log  *logBuffer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs bin with args and env (added to a minimal environment). The
// process is killed when the test ends, and its output is logged if the test
// failed.
func Start(t testing.TB, name, bin string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Name: name, t: t, bin: bin, args: args, env: env, log: &logBuffer{}}
	p.start()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			out := p.log.String()
			if len(out) > 4000 {
				out = out[len(out)-4000:]
			}
			t.Logf("--- %s output (tail) ---\n%s", name, out)
		}
	})
	return p
}

func (p *Proc) start() {
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, p.env...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
}

// Kill ends the process at once (SIGKILL), as a crash would.
func (p *Proc) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Stop asks the process to drain (SIGTERM) and waits up to grace.
func (p *Proc) Stop(grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		p.Kill()
	}
}

// Restart starts the same binary again after it was killed or stopped.
func (p *Proc) Restart() { p.start() }

// Running reports whether the process has not exited.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Output returns the tail of the process's output.
func (p *Proc) Output() string { return p.log.String() }

// WaitGRPC waits until the gRPC health service at addr reports SERVING.
func WaitGRPC(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy after %s: %v", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitHTTP waits until GET url answers 200.
func WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	c := http.Client{Timeout: time.Second}
	for {
		res, err := c.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %s", res.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %s: %v", url, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Redis is a redis-server of the test's own, on a spare port, with an
// append-only file so that a restart keeps its data.
type Redis struct {
	*Proc
	Addr string
}

// StartRedis starts redis-server on a free loopback port.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed (scripts/redis.sh installs it): %v", err)
	}
	addr := FreeAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	dir := t.TempDir()
	p := Start(t, "redis", bin, nil, "--bind", "127.0.0.1", "--port", port, "--dir", dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always")
	r := &Redis{Proc: p, Addr: addr}
	r.wait(t)
	return r
}

func (r *Redis) wait(t testing.TB) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.Addr, 200*time.Millisecond)
		if err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 16)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if strings.HasPrefix(string(buf[:n]), "+PONG") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis on %s did not start: %v\n%s", r.Addr, err, r.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RestartGracefully stops Redis (it flushes its append-only file), starts
// it again on the same port and waits until it answers.
func (r *Redis) RestartGracefully(t testing.TB) {
	r.Stop(10 * time.Second)
	r.Restart()
	r.wait(t)
}

// URL is the redis:// URL of the server.
func (r *Redis) URL() string { return "redis://" + r.Addr + "/0" }
