// Package proc runs Accord's binaries as separate processes for tests that
// need real process boundaries: build them once, start, stop (drain), kill
// (crash) and restart them, wait for their health, and keep their output.
// Every process is bounded by the test: it is killed when the test ends, and
// its output is logged when the test failed. It imports no Accord module, so
// any test module can use it.
package proc

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Packages are the binaries of the suite by name.
var Packages = map[string]string{
	"user":     "github.com/accordchat/accord/services/user/cmd/user",
	"server":   "github.com/accordchat/accord/services/server/cmd/server",
	"presence": "github.com/accordchat/accord/services/presence/cmd/presence",
	"stats":    "github.com/accordchat/accord/services/stats/cmd/stats",
	"search":   "github.com/accordchat/accord/services/search/cmd/search",
	"gateway":  "github.com/accordchat/accord/gateway/cmd/gateway",
	"accord":   "github.com/accordchat/accord/cmd/accord",
}

// BuildOptions say how to build.
type BuildOptions struct {
	// Dir is where go build runs (the current folder when empty).
	Dir string
	// Flags are extra go build flags ("-trimpath").
	Flags []string
	// Env is added to the environment of go build ("CGO_ENABLED=0").
	Env []string
	// Static fails the test when a binary is dynamically linked.
	Static bool
}

// Release builds as the Dockerfile does: static, with trimmed paths. Every
// test that runs the suite's binaries builds them this way, so one compile
// of each package serves them all (and, paths being trimmed, every clone of
// the repository on the machine).
var Release = BuildOptions{Flags: []string{"-trimpath"}, Env: []string{"CGO_ENABLED=0"}, Static: true}

// Build compiles the packages (import paths, or names in Packages) into a
// temporary folder in one go build and returns the binaries by name (the
// last element of the import path).
func Build(t testing.TB, o BuildOptions, pkgs ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"build"}, o.Flags...)
	args = append(args, "-o", dir+"/")
	out := map[string]string{}
	for _, p := range pkgs {
		if full, ok := Packages[p]; ok {
			p = full
		}
		args = append(args, p)
		out[path.Base(p)] = filepath.Join(dir, path.Base(p))
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), o.Env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", pkgs, err, b)
	}
	if o.Static {
		for name, bin := range out {
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, prog := range f.Progs {
				if prog.Type == elf.PT_INTERP {
					t.Errorf("%s: dynamically linked; a static image cannot run it", name)
				}
			}
			_ = f.Close()
		}
	}
	return out
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

// Proc is one binary, running or stopped.
type Proc struct {
	Name string
	t    testing.TB
	bin  string
	args []string
	env  []string
	home string
	log  *logBuffer

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current run has exited
	err     error         // its exit status, once done
	stopped bool          // killed or stopped by the test, not restarted since
}

// Start runs bin with args and exactly env (plus PATH, a HOME of the test's
// own and TMPDIR). The process is killed when the test ends, and the tail
// of its output is logged if the test failed.
func Start(t testing.TB, name, bin string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Name: name, t: t, bin: bin, args: args, env: env, home: t.TempDir(), log: &logBuffer{}}
	p.start()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			out := p.log.String()
			if len(out) > 8000 {
				out = "...\n" + out[len(out)-8000:]
			}
			t.Logf("---- %s output (tail) ----\n%s", name, out)
		}
	})
	return p
}

func (p *Proc) start() {
	p.t.Helper()
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.home, "TMPDIR=" + os.TempDir()}, p.env...)
	slices.Sort(cmd.Env)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	// A group of its own, so that Kill takes any children with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.Name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.err, p.stopped = cmd, done, nil, false
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
}

func (p *Proc) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.done
}

// Kill ends the process at once (SIGKILL to its group), as a crash would.
func (p *Proc) Kill() {
	cmd, done := p.current()
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Stop asks the process to drain (SIGTERM, as docker stop does) and kills it
// if it has not exited within grace. It reports whether the process exited
// by itself with status 0.
func (p *Proc) Stop(grace time.Duration) (clean bool) {
	cmd, done := p.current()
	if p.Exited() {
		return p.Err() == nil
	}
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return p.Err() == nil
	case <-time.After(grace):
		p.Kill()
		return false
	}
}

// Restart starts the same binary again after it was killed or stopped.
func (p *Proc) Restart() {
	p.t.Helper()
	p.start()
}

// Running reports whether the process has not exited.
func (p *Proc) Running() bool { return !p.Exited() }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	_, done := p.current()
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// Err is the process's exit status once it has exited (nil for status 0).
func (p *Proc) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Output returns the tail of the process's output.
func (p *Proc) Output() string { return p.log.String() }

// StopAll drains the processes the test has not stopped or killed itself,
// in reverse order of the list and all at once, and returns those that did
// not exit 0 within grace.
func StopAll(grace time.Duration, procs ...*Proc) (unclean []string) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, p := range slices.Backward(procs) {
		p.mu.Lock()
		skip := p.stopped
		p.mu.Unlock()
		if skip {
			continue
		}
		wg.Go(func() {
			if !p.Stop(grace) {
				mu.Lock()
				unclean = append(unclean, fmt.Sprintf("%s (%v)", p.Name, p.Err()))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return unclean
}

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
