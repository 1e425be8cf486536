package deploy

import (
	"bytes"
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

	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/platformtest"
)

// logBuffer collects a process's output for the test log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is one running binary of the suite.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{} // closed when it has exited
	err  error         // its exit status, once done
	// crashed marks a process the test killed on purpose.
	crashed bool
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to drain (SIGTERM, as docker stop does) and kills it
// if it has not exited within grace.
func (p *proc) stop(grace time.Duration) (clean bool) {
	if p.exited() {
		return p.err == nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err == nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return false
	}
}

// suite is the set of processes of one test.
type suite struct {
	t     *testing.T
	mu    sync.Mutex
	procs []*proc
}

// start runs bin with exactly env (nothing inherited but PATH) until the
// test ends.
func (s *suite) start(name, bin string, env map[string]string, args ...string) *proc {
	s.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.t.TempDir(), "TMPDIR=" + os.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	slices.Sort(cmd.Env)
	p := &proc{name: name, cmd: cmd, log: &logBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p
}

// stopAll drains every process, last started first, and reports those that
// did not exit cleanly.
func (s *suite) stopAll(grace time.Duration) (unclean []string) {
	s.mu.Lock()
	procs := slices.Clone(s.procs) // kept, so their logs can still be shown
	s.mu.Unlock()
	slices.Reverse(procs)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, p := range procs {
		if p.crashed {
			continue
		}
		wg.Go(func() {
			if !p.stop(grace) {
				mu.Lock()
				unclean = append(unclean, fmt.Sprintf("%s (%v)", p.name, p.err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return unclean
}

// dumpLogs writes each process's output to the test log.
func (s *suite) dumpLogs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		out := p.log.String()
		if len(out) > 8000 {
			out = "...\n" + out[len(out)-8000:]
		}
		s.t.Logf("---- %s output ----\n%s", p.name, out)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// buildBinaries builds what the Dockerfile's build stage builds, the way it
// builds it (static, trimmed paths), into a temporary folder, and returns
// the binaries by name.
func buildBinaries(t *testing.T) map[string]string {
	t.Helper()
	d := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	var pkgs []string
	for _, b := range goBuilds(t, d.stage("build")) {
		pkgs = append(pkgs, b.pkgs...)
	}
	out := t.TempDir()
	root, _ := filepath.Abs(repoRoot)
	cmd := exec.Command("go", append([]string{"build", "-trimpath", "-o", out + "/"}, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", pkgs, err, b)
	}
	bins := map[string]string{}
	for _, pkg := range pkgs {
		bin := filepath.Join(out, path.Base(pkg))
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatalf("%s: %v", pkg, err)
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("%s: dynamically linked; the distroless static image cannot run it", pkg)
			}
		}
		_ = f.Close()
		bins[path.Base(pkg)] = bin
	}
	return bins
}

// TestMultiProcess runs the suite as docker compose does, one process per
// container, on loopback: the binaries the Dockerfile builds, each with the
// environment its compose service gets (container names and ports mapped to
// loopback ports, the Mongo replica set to an `accord devdb` process, Redis
// to the test Redis with a prefix of its own, the secret to a key file). The
// database starts last, once the services have found it missing. Then it
// waits for every health check, the same commands the containers run, plays
// a sign-up-and-chat scenario through the gateway, restarts the database and
// crashes a service to see the suite recover, and checks that every process
// drains and exits 0 on SIGTERM.
func TestMultiProcess(t *testing.T) {
	project := loadCompose(t)
	bins := buildBinaries(t)
	_, redisPrefix := platformtest.Redis(t)
	tmp := t.TempDir()

	keyFile := filepath.Join(tmp, "signing_key.pem")
	if err := os.WriteFile(keyFile, auth.MarshalKey(auth.GenerateKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	devdbAddr := freePort(t)
	grpcAddr := map[string]string{}
	metricsAddr := map[string]string{}
	for _, name := range appServices {
		grpcAddr[name] = freePort(t)
		metricsAddr[name] = freePort(t)
	}
	httpAddr := freePort(t)

	// Container addresses in the compose file -> loopback addresses here.
	remap := map[string]string{}
	for _, name := range appServices {
		remap[envOf(project.Services[name])[peerEnv[name]]] = grpcAddr[name]
	}
	secretFiles := map[string]string{}
	for name := range project.Secrets {
		secretFiles["/run/secrets/"+name] = keyFile
	}
	composeHosts := []string{"redis:6379", "mongo-init"}
	composeHosts = append(composeHosts, mongoNodes...)
	for from := range remap {
		composeHosts = append(composeHosts, from)
	}
	// One database for the whole suite, as in compose.
	dbName := "deploy_" + platformtest.RandomHex(4)
	envFor := func(name string, extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range envOf(project.Services[name]) {
			switch {
			case k == "ACCORD_MONGO_URI":
				v = "mongodb://" + devdbAddr + "/"
			case k == "ACCORD_REDIS_URL":
				v = platformtest.RedisURL()
			case secretFiles[v] != "":
				v = secretFiles[v]
			case remap[v] != "":
				v = remap[v]
			case k == "ACCORD_WEB_DIR":
				v = filepath.Join(tmp, "web") // absent: the gateway serves its placeholder
			}
			env[k] = v
		}
		env["ACCORD_MONGO_DB"] = dbName
		env["ACCORD_REDIS_PREFIX"] = redisPrefix
		env["ACCORD_DATA_DIR"] = filepath.Join(tmp, "data-"+name) // must stay unused: the key comes from the secret
		env["ACCORD_SHUTDOWN_TIMEOUT"] = "5s"
		for k, v := range extra {
			env[k] = v
		}
		for k, v := range env {
			for _, h := range composeHosts {
				if strings.Contains(v, h) {
					t.Fatalf("%s: %s=%q still names the container address %s", name, k, v, h)
				}
			}
		}
		return env
	}
	s := &suite{t: t}
	t.Cleanup(func() {
		if t.Failed() {
			s.dumpLogs()
		}
		s.stopAll(10 * time.Second)
	})

	// Gateway first and the database last: start order must not matter.
	procs := map[string]*proc{
		"gateway": s.start("gateway", bins["gateway"], envFor("gateway", map[string]string{"ACCORD_HTTP_ADDR": httpAddr})),
	}
	envs := map[string]map[string]string{}
	for _, name := range slices.Backward(appServices) {
		env := envFor(name, map[string]string{
			"ACCORD_LISTEN_ADDR":  grpcAddr[name],
			"ACCORD_METRICS_ADDR": metricsAddr[name],
		})
		envs[name] = env
		procs[name] = s.start(name, bins[name], env)
	}
	// Only once the services that use MongoDB have found it missing does the
	// database start: they must recover on their own.
	for _, name := range appServices {
		if !usesMongo[name] {
			continue
		}
		p := procs[name]
		platformtest.Eventually(t, 60*time.Second, func() bool {
			if p.exited() {
				t.Fatalf("%s exited while the database was missing: %v\n%s", name, p.err, p.log)
			}
			return strings.Contains(p.log.String(), "mongo not ready")
		}, name, "to retry the missing database")
	}
	devdbEnv := map[string]string{
		"ACCORD_DEVDB_ADDR": devdbAddr,
		"ACCORD_DATA_DIR":   filepath.Join(tmp, "devdb"),
		"ACCORD_LOG_FORMAT": "json",
	}
	devdb := s.start("devdb", bins["accord"], devdbEnv, "devdb")

	// The health checks the containers run: "<binary> health".
	health := func(name string) error {
		env := []string{"PATH=" + os.Getenv("PATH")}
		bin := bins[name]
		if name == "gateway" {
			env = append(env, "ACCORD_HTTP_ADDR="+httpAddr)
		} else {
			env = append(env, "ACCORD_HEALTH_ADDR="+grpcAddr[name])
		}
		cmd := exec.Command(bin, "health")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	waitHealthy := func(t *testing.T, name string) {
		t.Helper()
		var last error
		var tried time.Time
		defer func() {
			if t.Failed() && last != nil {
				t.Logf("%s health: last answer: %v", name, last)
			}
		}()
		platformtest.Eventually(t, 90*time.Second, func() bool {
			for n, p := range procs {
				if p.exited() {
					t.Fatalf("%s exited: %v", n, p.err)
				}
			}
			// Each try runs a process; a few a second are enough.
			if time.Since(tried) < 200*time.Millisecond {
				return false
			}
			tried = time.Now()
			last = health(name)
			return last == nil
		}, name, "health check")
	}
	for _, name := range append(slices.Clone(appServices), "gateway") {
		waitHealthy(t, name)
	}
	for _, name := range appServices {
		res, err := http.Get("http://" + metricsAddr[name] + "/healthz")
		if err != nil {
			t.Fatalf("%s /healthz: %v", name, err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s /healthz: %s", name, res.Status)
		}
	}

	var chat *chatSession
	t.Run("sign-up and chat through the gateway", func(t *testing.T) {
		chat = chatScenario(t, "http://"+httpAddr)
	})
	if chat == nil {
		t.FailNow()
	}

	// The database goes away and comes back (as during a failover): the
	// services reconnect by themselves and writes succeed again.
	t.Run("rides out a database restart", func(t *testing.T) {
		if !devdb.stop(10 * time.Second) {
			t.Fatalf("devdb did not stop cleanly: %v", devdb.err)
		}
		devdb = s.start("devdb", bins["accord"], devdbEnv, "devdb")
		chat.sendEventually(t, "after the database restart", 60*time.Second)
	})

	// A service crashes and its replacement takes the same address (as a
	// restarted container does): the gateway reconnects to it.
	t.Run("rides out a service crash", func(t *testing.T) {
		old := procs["server"]
		old.crashed = true
		_ = old.cmd.Process.Kill()
		<-old.done
		// The container health checks must notice: the gateway's reports
		// the missing service, the service's own fails.
		if err := health("server"); err == nil {
			t.Error("server health passes with the server killed")
		}
		var tried time.Time
		platformtest.Eventually(t, 30*time.Second, func() bool {
			if time.Since(tried) < 200*time.Millisecond {
				return false
			}
			tried = time.Now()
			return health("gateway") != nil
		}, "the gateway health check to fail without the server")
		procs["server"] = s.start("server", bins["server"], envs["server"])
		waitHealthy(t, "server")
		chat.sendEventually(t, "after the server crash", 60*time.Second)
		chat.expectHistory(t, "after the server crash", "after the database restart", "hi bob, carol here", "hello from bob")
	})

	// Drain as docker stop does; every process must exit 0 in time.
	if unclean := s.stopAll(10 * time.Second); len(unclean) > 0 {
		t.Errorf("did not drain and exit 0 on SIGTERM: %v", unclean)
	}
	for _, name := range appServices {
		if _, err := os.Stat(filepath.Join(tmp, "data-"+name)); err == nil {
			t.Errorf("%s wrote to its data folder; with a signing key secret it must write nothing", name)
		}
	}
}
