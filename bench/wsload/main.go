// Command wsload measures the gateway's WebSocket fan-out through the public
// API only: N sockets (/v1/events) of members of one server, messages sent
// to one channel through REST, at a fixed rate and unpaced (-senders
// concurrent senders). It reports deliveries per second, send-to-receive
// latency (p50, p99, p999: from just before the send call to the frame's
// arrival), messages lost (must be 0), the CPU cores used by the gateway,
// by this process (the services and the load generator) and by Redis, and
// the gateway's memory per idle socket.
//
// Everything runs on loopback: the services in this process (their SQLite
// stores in a fresh folder, or the MongoDB at ACCORD_MONGO_URI; the Redis at
// ACCORD_REDIS_URL under a fresh key prefix, removed afterwards) and the
// gateway in a child process of its own, so that its memory and CPU can be
// read from /proc. With -product the whole product runs in the child
// instead (the services and the gateway in one process, calling each other
// in process, as the all-in-one `scripts/run` does) and this process is the
// load generator alone: the CPU and memory reported are the product's, and
// the product's goroutines do not share a scheduler with the sockets'
// readers.
//
// Beside the sockets, in the same run and never open together with them,
// run the baselines (-baseline):
//   - redis (the default): Redis pub/sub fan-out, the floor any Redis-based
//     feed pays: N go-redis subscribers (a connection each) on one channel of
//     the same Redis, the same number of messages of the frames' size
//     published at the same rate by the same number of senders, timed the
//     same way (from just before PUBLISH);
//   - grpc: N StreamEvents streams opened directly on the server service,
//     bypassing the gateway.
//
// With -reps the sockets and the baselines run in turn that many times, and
// the summary gives the medians and the ratios gateway/baseline (the median
// of the per-repetition ratios and their range). -tcp-floor adds the
// kernel's share: the same fan-out over plain loopback TCP.
//
// Usage:
//
//	go run ./wsload -n 1000 -rate 50 -messages 300 -reps 3 -product
//	go run ./wsload -n 1000 -rate 50 -messages 300 -reps 3 -shared
//	go run ./wsload -n 5000 -rate 10 -phases paced -shared
//	go run ./wsload -n 10000 -rate 1 -messages 30 -phases paced -shared
//	go run ./wsload -n 1000 -phases none -baseline "" -hold 1m -shared   # memory only; profile the gateway
//	go run ./wsload -n 1000 -profile /tmp/prof   # CPU profiles per phase
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	rpprof "runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/accordchat/accord/gateway"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/peers"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/suite"
	"github.com/accordchat/accord/suite/client"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "gateway-child" || os.Args[1] == "product-child") {
		run := runChild
		if os.Args[1] == "product-child" {
			run = runProduct
		}
		if err := run(); err != nil {
			fmt.Fprintln(os.Stderr, "wsload "+os.Args[1]+":", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.sizes, "n", "100,1000", "socket counts to measure, comma-separated (at most 10000)")
	flag.IntVar(&o.rate, "rate", 50, "messages per second in the fixed-rate phase")
	flag.IntVar(&o.messages, "messages", 500, "messages per phase")
	flag.IntVar(&o.senders, "senders", 8, "concurrent senders in the unpaced phase")
	flag.IntVar(&o.reps, "reps", 1, "repetitions: sockets and baselines in turn, each this many times")
	phases := flag.String("phases", "paced,unpaced", "phases to run: paced (at -rate), unpaced (-senders as fast as they go); none for memory only")
	baselines := flag.String("baseline", "redis", "baselines run beside the sockets, comma-separated: redis (pub/sub), grpc (direct StreamEvents); empty for none")
	flag.DurationVar(&o.hold, "hold", 0, "keep the sockets open this long before the phases (to profile the gateway: /debug/pprof/heap)")
	flag.BoolVar(&o.tcpFloor, "tcp-floor", false, "also measure the same fan-out over plain loopback TCP")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "how long to wait for deliveries per phase")
	pprofAddr := flag.String("pprof", "", "serve this process's profiles (services and load generator) at this address")
	flag.StringVar(&o.profiles, "profile", "", "write CPU profiles of each phase to this folder (<phase>-load.pprof for this process, <phase>-gateway.pprof)")
	shared := flag.Bool("shared", false, "run the gateway on the shared event feed (one upstream stream per gateway)")
	flag.BoolVar(&o.product, "product", false, "run the whole product (the services and the gateway, on the shared feed) in one child process, as the all-in-one does, and only the load generator in this one")
	flag.Parse()
	if err := o.parse(*phases, *baselines); err != nil {
		fmt.Fprintln(os.Stderr, "wsload:", err)
		os.Exit(2)
	}
	if *shared {
		// The child gateway reads it; startSystem hands it the service key.
		_ = os.Setenv("ACCORD_BENCH_SHARED_FEED", "1")
	}
	if *pprofAddr != "" {
		go func() { _ = http.ListenAndServe(*pprofAddr, nil) }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "wsload:", err)
		os.Exit(1)
	}
}

type options struct {
	profiles  string
	sizes     string
	rate      int
	messages  int
	senders   int
	reps      int
	timeout   time.Duration
	phases    []bool // true: paced
	baselines []string
	tcpFloor  bool
	hold      time.Duration
	product   bool // the whole product in the child (-product)
}

func (o *options) parse(phases, baselines string) error {
	for _, p := range strings.Split(phases, ",") {
		switch strings.TrimSpace(p) {
		case "", "none": // memory only
		case "paced":
			o.phases = append(o.phases, true)
		case "unpaced":
			o.phases = append(o.phases, false)
		default:
			return fmt.Errorf("-phases: want paced and/or unpaced, got %q", p)
		}
	}
	for _, b := range strings.Split(baselines, ",") {
		if b = strings.TrimSpace(b); b == "" {
			continue
		}
		if baselineNames[b] == "" {
			return fmt.Errorf("-baseline: want redis and/or grpc, got %q", b)
		}
		o.baselines = append(o.baselines, b)
	}
	if o.reps < 1 || o.rate < 1 {
		return errors.New("-reps and -rate must be positive")
	}
	return nil
}

func (o options) phaseNames() string {
	var s []string
	for _, paced := range o.phases {
		s = append(s, phaseLabel(o, paced))
	}
	return fmt.Sprintf("%d messages per phase: %s", o.messages, strings.Join(s, ", "))
}

func run(ctx context.Context, o options) error {
	var sizes []int
	for _, s := range strings.Split(o.sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 10000 {
			return fmt.Errorf("-n: want counts between 1 and 10000, got %q", s)
		}
		sizes = append(sizes, n)
	}
	if o.senders < 1 || o.messages < 1 || o.messages > 100000 {
		return errors.New("-senders must be positive and -messages between 1 and 100000")
	}
	// Errors only: the services' own noise would drown the figures.
	log := logging.New(os.Stderr, "text", "error")
	start := startSystem
	if o.product {
		start = startProduct
	}
	sys, err := start(ctx, log)
	if err != nil {
		return err
	}
	defer sys.close()
	fmt.Printf("wsload: %d CPUs, %s pid %d at %s\n", runtime.NumCPU(), sys.role, sys.child.Process.Pid, sys.base)

	w, err := buildWorld(sys, o.senders)
	if err != nil {
		return err
	}
	for _, n := range sizes {
		if err := measure(ctx, sys, w, o, n); err != nil {
			return err
		}
	}
	return nil
}

// system is the running services and gateway.
type system struct {
	base    string // gateway http://127.0.0.1:port
	bench   string // the child's /bench and profile endpoints: base, or a port of their own (-product)
	role    string // what the child runs: "gateway", or "product" (-product)
	cfg     config.Config
	peers   *peers.Conns
	rest    *client.REST
	child   *exec.Cmd
	rdb     redis.UniversalClient // INFO: the Redis server's CPU time
	keyFile string                // the service key, for the gateway child
	env     []string              // the product child's settings (-product)
	// serverAddr is the product child's server service (-product).
	serverAddr string
	cleanup    []func()
}

func (s *system) close() {
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
}

// prepare is what both layouts need: the configuration, a fresh folder
// (removed at the end), a fresh Redis key prefix (its keys removed at the
// end), the REST client and the Redis client that reads Redis's CPU time.
func (sys *system) prepare(ctx context.Context) (config.Config, string, error) {
	cfg, err := config.Load(nil)
	if err != nil {
		return cfg, "", err
	}
	dir, err := os.MkdirTemp("", "wsload-")
	if err != nil {
		return cfg, "", err
	}
	sys.cleanup = append(sys.cleanup, func() { _ = os.RemoveAll(dir) })
	if !redisx.Answers(cfg.RedisURL, 2*time.Second) {
		return cfg, "", fmt.Errorf("no Redis answers at %s (run scripts/redis.sh)", cfg.RedisURL)
	}
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg.RedisPrefix = "wsload:" + tag + ":"
	cfg.MongoDB = "wsload_" + tag
	sys.cfg = cfg
	sys.cleanup = append(sys.cleanup, func() { dropData(cfg) })
	// Enough idle connections for the concurrent senders: no reconnect per send.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	sys.rest = &client.REST{HTTP: &http.Client{Transport: tr}}
	if sys.rdb, err = redisx.Connect(ctx, cfg.RedisURL, logging.Discard()); err != nil {
		return cfg, "", err
	}
	sys.cleanup = append(sys.cleanup, func() { _ = sys.rdb.Close() })
	return cfg, dir, nil
}

// startSystem runs the services in this process and the gateway in a
// child process.
func startSystem(ctx context.Context, log *slog.Logger) (sys *system, err error) {
	sys = &system{role: "gateway"}
	started := sys // sys is nil by the time an error return reaches the defer
	defer func() {
		if err != nil {
			started.close()
		}
	}()
	cfg, dir, err := sys.prepare(ctx)
	if err != nil {
		return nil, err
	}
	cfg.DataDir = dir
	cfg.ShutdownTimeout = 2 * time.Second
	// The per-user send limit would make the senders, not the fan-out, the
	// bottleneck: it is off for the load run.
	cfg.MessageRateLimit = 0
	// The gateway runs in a child process of its own (startChild).
	// The service key is in a file so that the gateway child can call the
	// internal APIs (the shared feed) too.
	serviceKey := auth.GenerateKey()
	keyFile := filepath.Join(dir, "service.key")
	if err := os.WriteFile(keyFile, auth.MarshalKey(serviceKey), 0o600); err != nil {
		return nil, err
	}
	sys.keyFile = keyFile
	st, err := suite.Start(ctx, suite.Options{
		Config: cfg, Log: log, Ephemeral: true, Gateways: -1,
		Shared: app.Shared{Signer: auth.NewSigner(auth.GenerateKey()), ServiceSigner: auth.NewSigner(serviceKey)},
	})
	if err != nil {
		return nil, err
	}
	sys.cleanup = append(sys.cleanup, func() { _ = st.Close() })
	sys.cfg, sys.peers = st.Config, st.Peers
	if err := sys.startChild("gateway-child"); err != nil {
		return nil, err
	}
	sys.rest.Base = sys.base
	return sys, nil
}

// startProduct runs the whole product in a child process (runProduct): the
// services and the gateway in one process, calling each other in process,
// as the all-in-one does. This process is the load generator alone, so the
// product's CPU and memory are the child's, and the product's goroutines
// do not share a scheduler with the thousands of sockets' readers.
func startProduct(ctx context.Context, _ *slog.Logger) (sys *system, err error) {
	sys = &system{role: "product"}
	started := sys
	defer func() {
		if err != nil {
			started.close()
		}
	}()
	cfg, dir, err := sys.prepare(ctx)
	if err != nil {
		return nil, err
	}
	sys.env = []string{
		"ACCORD_DATA_DIR=" + filepath.Join(dir, "data"),
		"ACCORD_REDIS_PREFIX=" + cfg.RedisPrefix,
		"ACCORD_MONGO_DB=" + cfg.MongoDB,
		"ACCORD_WS_SHARED_FEED=1",
		"ACCORD_LOG_LEVEL=error",
	}
	if err := sys.startChild("product-child"); err != nil {
		return nil, err
	}
	// The gRPC baseline opens its streams on the child's server service.
	conn, err := grpc.NewClient(sys.serverAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	sys.cleanup = append(sys.cleanup, func() { _ = conn.Close() })
	sys.peers = &peers.Conns{Server: conn}
	sys.rest.Base = sys.base
	return sys, nil
}

// startChild runs the child process (this binary, re-executed as mode:
// gateway-child or product-child).
func (s *system) startChild(mode string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, mode)
	if mode == "product-child" {
		cmd.Env = append(os.Environ(), s.env...)
	} else {
		s.role = "gateway"
		cmd.Env = append(os.Environ(),
			"ACCORD_USER_ADDR="+s.cfg.UserAddr, "ACCORD_SERVER_ADDR="+s.cfg.ServerAddr,
			"ACCORD_PRESENCE_ADDR="+s.cfg.PresenceAddr, "ACCORD_STATS_ADDR="+s.cfg.StatsAddr,
			"ACCORD_SEARCH_ADDR="+s.cfg.SearchAddr,
			"ACCORD_SERVICE_KEY_FILE="+s.keyFile,
			"ACCORD_LOG_LEVEL=error")
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.child = cmd
	waited := make(chan struct{})
	stopping := make(chan struct{})
	go func() {
		err := cmd.Wait()
		select {
		case <-stopping:
		default:
			fmt.Fprintln(os.Stderr, "wsload: the child exited:", err, cmd.ProcessState)
		}
		close(waited)
	}()
	s.cleanup = append(s.cleanup, func() {
		close(stopping)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-waited
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("%s: %w", mode, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	// "gateway [bench [server]]": the addresses the child listens on.
	f := strings.Fields(line)
	if len(f) == 0 {
		return fmt.Errorf("%s printed %q, not its address", mode, line)
	}
	s.base = "http://" + f[0]
	s.bench = s.base
	if len(f) == 3 {
		s.bench, s.serverAddr = "http://"+f[1], f[2]
	}
	return suite.WaitHealthy(context.Background(), s.base, 30*time.Second)
}

// runChild is the gateway process: it serves on a loopback port, prints the
// address, and adds /bench/mem (heap and stacks in use after a GC).
func runChild() error {
	if os.Getenv("WSLOAD_MEMPROFILE_ALL") == "1" {
		runtime.MemProfileRate = 1 // every allocation in /debug/pprof/heap
	}
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	peers, err := peers.Dial(cfg)
	if err != nil {
		return err
	}
	defer peers.Close()
	gopts := gateway.Options{Log: log, Peers: peers, WebDir: os.TempDir()}
	gopts.WS.WriteDelay = cfg.WSWriteDelay
	if os.Getenv("ACCORD_BENCH_SHARED_FEED") == "1" {
		signer, err := app.LoadServiceSigner(cfg, log)
		if err != nil {
			return err
		}
		gopts.WS.SharedFeed = true
		gopts.ServiceCreds = auth.NewServiceCredentials(signer, "gateway")
	}
	h, err := gateway.New(ctx, gopts)
	if err != nil {
		return err
	}
	mux := benchMux()
	mux.Handle("/", h)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(lis.Addr().String())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runProduct is the whole product's process (-product): the services and
// one gateway, as the all-in-one runs them (in-process calls, the shared
// feed), on SQLite under ACCORD_DATA_DIR unless ACCORD_MONGO_URI is set. It
// prints "gateway bench server", the addresses of the gateway, of its own
// /bench and profile endpoints, and of the server service.
func runProduct() error {
	if os.Getenv("WSLOAD_MEMPROFILE_ALL") == "1" {
		runtime.MemProfileRate = 1
	}
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	// The per-user send limit would make the senders, not the fan-out, the
	// bottleneck: it is off for the load run.
	cfg.MessageRateLimit = 0
	cfg.ShutdownTimeout = 2 * time.Second
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := suite.Start(ctx, suite.Options{Config: cfg, Log: log, Ephemeral: true, WebDir: os.TempDir()})
	if err != nil {
		return err
	}
	defer st.Close()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: benchMux(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Close()
	fmt.Println(strings.TrimPrefix(st.Gateways[0], "http://"), lis.Addr().String(), st.Config.ServerAddr)
	<-ctx.Done()
	return nil
}

// benchMux serves the child's profiles and memory figures.
func benchMux() *http.ServeMux {
	mux := http.NewServeMux()
	// Profiles of the gateway under load: go tool pprof <base>/debug/pprof/profile
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.Handle("GET /debug/pprof/heap", pprof.Handler("heap"))
	mux.Handle("GET /debug/pprof/goroutine", pprof.Handler("goroutine"))
	mux.HandleFunc("POST /bench/profile/start", func(w http.ResponseWriter, r *http.Request) {
		if err := startProfile(r.FormValue("path")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /bench/profile/stop", func(w http.ResponseWriter, r *http.Request) { stopProfile() })
	mux.HandleFunc("GET /bench/mem", func(w http.ResponseWriter, r *http.Request) {
		// Garbage collected and freed memory returned to the OS, as the
		// runtime's scavenger does in the background within minutes: the
		// RSS read next is the steady state, not the high-water mark.
		// Stacks shrink by half at most per collection: a few let idle
		// sockets' stacks reach the size a long-running gateway sees (it
		// collects at least every two minutes).
		for range 4 {
			runtime.GC()
		}
		debug.FreeOSMemory()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(w, "%d %d %d %d\n", m.HeapInuse+m.StackInuse, runtime.NumGoroutine(), m.Sys, m.StackInuse)
	})
	return mux
}

var profileFile *os.File

// startProfile starts writing this process's CPU profile to path.
func startProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rpprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	profileFile = f
	return nil
}

func stopProfile() {
	if profileFile != nil {
		rpprof.StopCPUProfile()
		profileFile.Close()
		profileFile = nil
	}
}

// profilePhase profiles this process and the gateway during one phase when
// -profile is set; the returned function ends both profiles.
func profilePhase(sys *system, o options, name string) (func(), error) {
	if o.profiles == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(o.profiles, 0o755); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.profiles)
	if err != nil {
		return nil, err
	}
	if err := startProfile(filepath.Join(dir, name+"-load.pprof")); err != nil {
		return nil, err
	}
	res, err := http.PostForm(sys.bench+"/bench/profile/start", map[string][]string{"path": {filepath.Join(dir, name+"-"+sys.role+".pprof")}})
	if err != nil {
		stopProfile()
		return nil, err
	}
	res.Body.Close()
	return func() {
		stopProfile()
		if res, err := http.Post(sys.bench+"/bench/profile/stop", "", nil); err == nil {
			res.Body.Close()
		}
	}, nil
}
