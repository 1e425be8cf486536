// Command community measures Accord at community scale from the outside:
// a real all-in-one process (cmd/accord, embedded SQLite stores) on a
// loopback port, timed through the public REST API only, as the web app
// calls it.
//
// The instance holds U users, S servers, M memberships and C channels (one
// server has B members) and, in turn, each of the message counts asked
// for, spread over the channels with one hot channel holding 10% of them.
// Seeding writes the server service's database directly (package
// services/server/loader: large transactions through the stores' own
// statements) while the process is stopped; only the user who is timed
// is registered through the API. At each size the tool starts the process
// (start-up time: exec to a healthy gateway), reports p50/p99 of
//
//   - first screen: the user's servers, the channels of each of them and
//     their read states (a user in 20 servers x 10 channels)
//   - open a channel: the newest 50 messages of the hot channel
//   - scroll back: 10 pages of 50 further back, one page per sample
//   - send: one message, one sender at a time
//   - member list: the first page (1000) of the B-member server
//   - stats: the global top users, top servers and activity reports (the
//     timed user is an operator)
//   - floor: GET /v1/me, the cheapest authenticated call (gateway, one gRPC
//     call, one read of the user by id), timed in the same rounds: the machine's own
//     noise, the baseline the others compare with
//
// the send rate of 8 concurrent senders (one channel each, then all on one
// channel, then 8 callers of the floor call as many times) against the raw
// insert rate of 8 writers into the same database (same run, process
// stopped: one insert per message through the store, what a send writes),
// and the process's RSS. Beside the rates it reports CPU time per message:
// the all-in-one process's (user+system, from /proc) per send of the
// 8-sender run, counting what the sends leave to do after them (search
// indexing and stats counters run behind the log: the process's CPU until
// it is idle again), and the tool's own per raw insert, a cost that a busy
// machine does not distort as it does rates.
//
// The instance runs on its SQLite stores (ACCORD_STORE=sqlite) unless
// ACCORD_MONGO_URI is set: then it runs on the MongoDB there
// (ACCORD_STORE=mongo, a new database bench_community_<time>, dropped at
// the end unless -keep), seeded with batched inserts of the documents the
// Mongo stores write (loader.OpenMongo), and the raw rate is that of 8
// writers inserting into the same MongoDB through the store.
//
// Usage (in bench/):
//
//	go run ./community                    # 1k, 100k and 1M messages, 10,000 users
//	go run ./community -quick             # a small instance, for a quick check
//	go run ./community -messages 1000,50000 -samples 30
//	go run ./community -quick -sends 800 -profile send.pprof
//
// -profile starts the process with ACCORD_PPROF_ADDR on a loopback port
// and writes a 5-second CPU profile taken during the 8-sender run (which
// then goes on until the profile is taken); read it with
// `go tool pprof -top -cum <accord binary> send.pprof`.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/accordchat/accord/services/server/loader"
)

// target is where the server service's data lives: a SQLite data folder,
// or a MongoDB database when mongoURI is set.
type target struct {
	data, mongoURI, mongoDB string
}

func (t target) open(ctx context.Context) (*loader.DB, error) {
	if t.mongoURI != "" {
		return loader.OpenMongo(ctx, t.mongoURI, t.mongoDB)
	}
	return loader.Open(ctx, t.data)
}

func (t target) name() string {
	if t.mongoURI != "" {
		return "MongoDB database " + t.mongoDB
	}
	return "SQLite under " + t.data
}

type options struct {
	messages    []int
	users       int
	servers     int
	memberships int
	bigServer   int
	channels    int
	viewerIn    int
	samples     int
	accord      string
	dir         string
	keep        bool
	sends       int
	profile     string
}

func main() {
	var o options
	var sizes string
	var quick bool
	flag.StringVar(&sizes, "messages", "1000,100000,1000000", "message counts to measure at, in increasing order")
	flag.IntVar(&o.users, "users", 10000, "users")
	flag.IntVar(&o.servers, "servers", 1000, "servers")
	flag.IntVar(&o.memberships, "memberships", 100000, "memberships")
	flag.IntVar(&o.bigServer, "big", 5000, "members of the largest server")
	flag.IntVar(&o.channels, "channels", 1000, "channels holding the messages (10 per server of the first servers)")
	flag.IntVar(&o.viewerIn, "viewer-servers", 20, "servers of the timed user")
	flag.IntVar(&o.samples, "samples", 100, "samples per measurement")
	flag.StringVar(&o.accord, "accord", "", "accord binary (default: built from ../cmd/accord)")
	flag.StringVar(&o.dir, "dir", "", "data folder (default: a new temporary one)")
	flag.BoolVar(&o.keep, "keep", false, "keep the data folder")
	flag.IntVar(&o.sends, "sends", 400, "messages of the 8-sender run")
	flag.StringVar(&o.profile, "profile", "", "write a CPU profile of the process during the 8-sender run to this file (it then lasts at least 5 s)")
	flag.BoolVar(&quick, "quick", false, "a small instance: 1k and 10k messages, 1,000 users, 10,000 memberships")
	flag.Parse()
	if quick {
		sizes, o.users, o.servers, o.memberships, o.bigServer, o.channels, o.samples = "1000,10000", 1000, 100, 10000, 500, 200, 30
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "community: -messages: bad count %q\n", s)
			os.Exit(2)
		}
		o.messages = append(o.messages, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "community:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.viewerIn*10 > o.channels || o.channels%10 != 0 || o.bigServer > o.users || o.channels/10 > o.servers {
		return errors.New("want 10 channels per server in the first channels/10 servers, the viewer's servers among them, and big <= users")
	}
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "accord-community-")
		if err != nil {
			return err
		}
		dir = d
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	}
	bin := o.accord
	if bin == "" {
		bin = filepath.Join(dir, "accord-bin")
		fmt.Println("building ../cmd/accord ...")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
		build.Dir = filepath.Join("..", "cmd", "accord")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build accord: %w", err)
		}
	}
	t := target{data: filepath.Join(dir, "data")}
	if uri := os.Getenv("ACCORD_MONGO_URI"); uri != "" {
		t.mongoURI, t.mongoDB = uri, fmt.Sprintf("bench_community_%d", time.Now().Unix())
		if !o.keep {
			defer func() {
				if err := loader.DropMongo(context.WithoutCancel(ctx), t.mongoURI, t.mongoDB); err != nil {
					fmt.Fprintln(os.Stderr, "community: drop the benchmark's database:", err)
				}
			}()
		}
	}
	fmt.Println("store:", t.name())
	p, err := newProc(bin, t, o.profile != "")
	if err != nil {
		return err
	}

	// The timed user is a real account; everyone else exists as members.
	if _, err := p.start(ctx); err != nil {
		return err
	}
	var reg struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	err = p.call("POST", "/v1/auth:register", "", map[string]any{"login": "viewer", "password": "community bench"}, &reg)
	p.stop()
	if err != nil {
		return err
	}
	w, err := seedWorld(ctx, t, o, reg.User.ID)
	if err != nil {
		return err
	}

	var rows []row
	for _, n := range o.messages {
		fmt.Printf("seeding to %d messages ...\n", n)
		raw, rawCPU, err := w.seedMessages(ctx, t, n)
		if err != nil {
			return err
		}
		r, err := measure(ctx, p, w, o, n)
		if err != nil {
			return err
		}
		r.raw, r.rawCPU = raw, rawCPU
		rows = append(rows, r)
		report(rows)
	}
	return nil
}

// world is what seeding made.
type world struct {
	viewer   string
	users    []string
	servers  []string
	channels [][2]string // {server, channel}; channels[0] is the hot one
	lastID   string
	total    int
	rng      *rand.Rand
}

func seedWorld(ctx context.Context, t target, o options, viewer string) (*world, error) {
	fmt.Printf("seeding %d users, %d servers, %d memberships, %d channels ...\n", o.users, o.servers, o.memberships, o.channels)
	db, err := t.open(ctx)
	if err != nil {
		return nil, err
	}
	w := &world{viewer: viewer, rng: rand.New(rand.NewPCG(1, 2))}
	w.users = append(w.users, viewer)
	last := ""
	for len(w.users) < o.users {
		last = loader.NewID(last)
		w.users = append(w.users, last)
	}
	at := time.Now().Add(-time.Hour)
	// Members per server: the big one first, the rest spread evenly; the
	// viewer is in the first viewerIn servers.
	rest := (o.memberships - o.bigServer) / max(1, o.servers-1)
	for i := range o.servers {
		last = loader.NewID(last)
		sid := last
		w.servers = append(w.servers, sid)
		size := rest
		if i == 0 {
			size = o.bigServer
		}
		owner := w.users[1+i%(len(w.users)-1)]
		members := []string{owner}
		if i < o.viewerIn {
			members = append(members, viewer)
		}
		for _, k := range w.rng.Perm(len(w.users) - 1) {
			if len(members) >= size {
				break
			}
			if u := w.users[1+k]; u != owner {
				members = append(members, u)
			}
		}
		if err := db.Guild(sid, fmt.Sprint("server ", i), owner, int64(len(members)), at); err != nil {
			return nil, err
		}
		for j, u := range members {
			if err := db.Member(sid, u, j == 0, at); err != nil {
				return nil, err
			}
		}
		if i < o.channels/10 {
			for c := range 10 {
				last = loader.NewID(last)
				if err := db.Channel(last, sid, fmt.Sprint("channel-", c), int32(c), at); err != nil {
					return nil, err
				}
				w.channels = append(w.channels, [2]string{sid, last})
			}
		}
	}
	w.lastID = last
	return w, db.Close()
}

const content = "a message of ordinary length, as people write them in a chat channel"

// seedMessages loads messages up to n in all, 10% into the hot channel,
// and measures the raw insert rate on the same database and the CPU time
// of this process per insert.
func (w *world) seedMessages(ctx context.Context, t target, n int) (float64, time.Duration, error) {
	db, err := t.open(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	at := time.Now()
	for ; w.total < n; w.total++ {
		c := w.channels[0]
		if w.total%10 != 0 {
			c = w.channels[1+w.rng.IntN(len(w.channels)-1)]
		}
		w.lastID = loader.NewID(w.lastID)
		author := w.users[1+w.rng.IntN(len(w.users)-1)]
		if err := db.Message(w.lastID, c[0], c[1], author, content, at); err != nil {
			return 0, 0, err
		}
	}
	if err := db.Flush(); err != nil {
		return 0, 0, err
	}
	const inserts = 2000
	cpu0 := selfCPU()
	rate, err := db.InsertRate(ctx, inserts, 8, content)
	return rate, (selfCPU() - cpu0) / inserts, err
}

// selfCPU is this process's user+system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// row is the result at one size.
type row struct {
	messages int
	start    time.Duration
	rss      int64
	raw      float64
	rawCPU   time.Duration // CPU per raw insert
	sendRate float64
	sendCPU  time.Duration // the process's CPU per send
	oneRate  float64       // the 8 senders on one channel
	oneCPU   time.Duration
	// 8 callers of GET /v1/me: what the path costs before a send does
	// anything of its own
	floorRate float64
	floorCPU  time.Duration
	lat       map[string][]time.Duration
}

var metrics = []string{"first screen", "open channel", "scroll back", "send", "member list", "stats", "floor"}

func measure(ctx context.Context, p *proc, w *world, o options, n int) (row, error) {
	r := row{messages: n, lat: map[string][]time.Duration{}}
	start, err := p.start(ctx)
	if err != nil {
		return r, err
	}
	defer p.stop()
	r.start = start
	var login struct {
		Tokens struct {
			AccessToken string `json:"access_token"`
		} `json:"tokens"`
	}
	if err := p.call("POST", "/v1/auth:login", "", map[string]any{"login": "viewer", "password": "community bench"}, &login); err != nil {
		return r, err
	}
	tok := login.Tokens.AccessToken
	get := func(path string, out any) error { return p.call("GET", path, tok, nil, out) }
	timed := func(name string, fn func() error) error {
		t0 := time.Now()
		if err := fn(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		r.lat[name] = append(r.lat[name], time.Since(t0))
		return nil
	}
	hot, big := w.channels[0][1], w.servers[0]
	sendTo := w.channels[1][1] // a quiet channel of the viewer's first server
	// Round 0 warms the caches up and is not counted.
	for i := range o.samples + 1 {
		if err := timed("first screen", func() error { return firstScreen(get, o.viewerIn) }); err != nil {
			return r, err
		}
		if err := timed("open channel", func() error {
			return get("/v1/channels/"+hot+"/messages?page_size=50", nil)
		}); err != nil {
			return r, err
		}
		if i%10 == 0 {
			// Scroll: each page is the 50 before the oldest one shown.
			before := ""
			for k := range 11 {
				var page struct {
					Messages []struct {
						ID string `json:"id"`
					} `json:"messages"`
				}
				path := "/v1/channels/" + hot + "/messages?page_size=50&before=" + before
				if k == 0 {
					if err := get(path, &page); err != nil {
						return r, err
					}
				} else if err := timed("scroll back", func() error { return get(path, &page) }); err != nil {
					return r, err
				}
				if len(page.Messages) == 0 {
					break
				}
				before = page.Messages[0].ID
				for _, m := range page.Messages {
					before = min(before, m.ID)
				}
			}
		}
		if err := timed("send", func() error {
			return p.call("POST", "/v1/channels/"+sendTo+"/messages", tok, map[string]any{"content": content}, nil)
		}); err != nil {
			return r, err
		}
		if err := timed("member list", func() error {
			return get("/v1/servers/"+big+"/members?page_size=1000", nil)
		}); err != nil {
			return r, err
		}
		if err := timed("floor", func() error { return get("/v1/me", nil) }); err != nil {
			return r, err
		}
		if err := timed("stats", func() error {
			return errors.Join(get("/v1/stats/topUsers?metric=METRIC_MESSAGES", nil), get("/v1/stats/topServers", nil),
				get("/v1/stats/activity?metric=METRIC_MESSAGES", nil))
		}); err != nil {
			return r, err
		}
		if i == 0 {
			clear(r.lat)
		}
	}
	// The senders write to channels of their own, as a community does
	// (one channel's sends take its lock in turn).
	var spread []string
	for _, c := range w.channels[1 : 1+8] {
		spread = append(spread, c[1])
	}
	// With -profile the senders go on until the profile (5 s) is taken.
	var profiled chan error
	if o.profile != "" {
		profiled = make(chan error, 1)
		go func() { profiled <- p.profile(o.profile, 5) }()
	}
	// Each run starts on an idle process, and its CPU per call counts
	// what it left to do after its calls (search indexing, stats counters:
	// the read models run behind the log), up to when the process is idle
	// again.
	p.settle()
	cpu0 := p.cpu()
	rate, sent, err := sendRate(p, tok, spread, o.sends, profiled)
	if err != nil {
		return r, err
	}
	r.sendRate, r.sendCPU = rate, (p.cpu()-cpu0+p.settle())/time.Duration(sent)
	// Then the 8 senders write to one busy channel: its sends share the
	// channel's lock (in batches, see docs/architecture.md).
	one := slices.Repeat([]string{spread[0]}, len(spread))
	cpu0 = p.cpu()
	rate, sent, err = sendRate(p, tok, one, o.sends, nil)
	if err != nil {
		return r, err
	}
	r.oneRate, r.oneCPU = rate, (p.cpu()-cpu0+p.settle())/time.Duration(sent)
	// The floor of any send's rate: 8 callers of the cheapest authenticated
	// call (GET /v1/me: HTTP, the gateway's auth, one gRPC call, one read
	// of the user by id), as many calls as sends.
	cpu0 = p.cpu()
	rate, sent, err = callRate(len(spread), o.sends, nil, func(int) error { return p.call("GET", "/v1/me", tok, nil, nil) })
	if err != nil {
		return r, err
	}
	r.floorRate, r.floorCPU = rate, (p.cpu()-cpu0+p.settle())/time.Duration(sent)
	r.rss = p.rss()
	return r, nil
}

// firstScreen asks what the web app asks at sign-in: the user's servers,
// each one's channels, and the read states of all of them.
func firstScreen(get func(string, any) error, want int) error {
	var servers struct {
		Servers []struct {
			ID string `json:"id"`
		} `json:"servers"`
	}
	if err := get("/v1/servers?page_size=100", &servers); err != nil {
		return err
	}
	if len(servers.Servers) < want {
		return fmt.Errorf("the user is in %d servers, want %d", len(servers.Servers), want)
	}
	errc := make(chan error, len(servers.Servers)+1)
	for _, s := range servers.Servers {
		go func() { errc <- get("/v1/servers/"+s.ID+"/channels", nil) }()
	}
	go func() { errc <- get("/v1/readStates", nil) }()
	var all []error
	for range len(servers.Servers) + 1 {
		all = append(all, <-errc)
	}
	return errors.Join(all...)
}

// sendRate sends total messages from one concurrent sender per channel
// (and on until profiled reports, if it is not nil) and returns messages
// per second and the number sent.
func sendRate(p *proc, tok string, channels []string, total int, profiled <-chan error) (float64, int, error) {
	return callRate(len(channels), total, profiled, func(w int) error {
		return p.call("POST", "/v1/channels/"+channels[w]+"/messages", tok, map[string]any{"content": content}, nil)
	})
}

// callRate makes total calls of call from workers concurrent callers (and
// goes on until profiled reports, if it is not nil) and returns calls per
// second and the number made.
func callRate(workers, total int, profiled <-chan error, call func(w int) error) (float64, int, error) {
	var wg sync.WaitGroup
	errs := make([]error, workers+1)
	sent := make([]int, workers)
	done := make(chan struct{})
	if profiled == nil {
		close(done)
	} else {
		go func() { errs[workers] = <-profiled; close(done) }()
	}
	t0 := time.Now()
	for w := range workers {
		wg.Go(func() {
			for {
				if sent[w] >= total/workers {
					select {
					case <-done:
						return
					default:
					}
				}
				if err := call(w); err != nil {
					errs[w] = err
					return
				}
				sent[w]++
			}
		})
	}
	wg.Wait()
	el := time.Since(t0)
	<-done
	n := 0
	for _, k := range sent {
		n += k
	}
	return float64(n) / el.Seconds(), n, errors.Join(errs...)
}

// profile writes a CPU profile of secs seconds of the process to file.
func (p *proc) profile(file string, secs int) error {
	res, err := p.client.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.pprof, secs))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", res.Status)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

func pct(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, int(q*float64(len(s))))
	return float64(s[i]) / float64(time.Millisecond)
}

func report(rows []row) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-28s", "messages in the instance")
	for _, r := range rows {
		fmt.Fprintf(&b, " | %17d", r.messages)
	}
	b.WriteString("\n")
	for _, m := range metrics {
		fmt.Fprintf(&b, "%-28s", m+" p50/p99 ms")
		for _, r := range rows {
			fmt.Fprintf(&b, " | %8.1f/%8.1f", pct(r.lat[m], 0.5), pct(r.lat[m], 0.99))
		}
		b.WriteString("\n")
	}
	line := func(name string, f func(row) string) {
		fmt.Fprintf(&b, "%-28s", name)
		for _, r := range rows {
			fmt.Fprintf(&b, " | %17s", f(r))
		}
		b.WriteString("\n")
	}
	line("send rate, 8 senders /s", func(r row) string { return fmt.Sprintf("%.0f", r.sendRate) })
	line("raw insert rate, 8 /s", func(r row) string { return fmt.Sprintf("%.0f", r.raw) })
	line("send / raw", func(r row) string { return fmt.Sprintf("%.2fx", r.sendRate/r.raw) })
	line("CPU per send (process) µs", func(r row) string { return fmt.Sprintf("%.0f", float64(r.sendCPU)/float64(time.Microsecond)) })
	line("send, 8 on 1 channel /s", func(r row) string { return fmt.Sprintf("%.0f", r.oneRate) })
	line("1 channel / raw", func(r row) string { return fmt.Sprintf("%.2fx", r.oneRate/r.raw) })
	line("CPU per send, 1 channel µs", func(r row) string { return fmt.Sprintf("%.0f", float64(r.oneCPU)/float64(time.Microsecond)) })
	line("floor GET /v1/me, 8 /s", func(r row) string { return fmt.Sprintf("%.0f", r.floorRate) })
	line("floor / raw", func(r row) string { return fmt.Sprintf("%.2fx", r.floorRate/r.raw) })
	line("CPU per floor call µs", func(r row) string { return fmt.Sprintf("%.0f", float64(r.floorCPU)/float64(time.Microsecond)) })
	line("CPU per raw insert µs", func(r row) string { return fmt.Sprintf("%.0f", float64(r.rawCPU)/float64(time.Microsecond)) })
	line("start-up", func(r row) string { return r.start.Round(time.Millisecond).String() })
	line("RSS MiB", func(r row) string { return fmt.Sprintf("%.0f", float64(r.rss)/(1<<20)) })
	fmt.Print(b.String())
}

// proc is the all-in-one process.
type proc struct {
	bin, base string
	pprof     string // ACCORD_PPROF_ADDR, if profiling
	env       []string
	cmd       *exec.Cmd
	done      chan error
	client    *http.Client
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func newProc(bin string, t target, profile bool) (*proc, error) {
	addrs := map[string]string{}
	for _, k := range []string{"ACCORD_HTTP_ADDR", "ACCORD_USER_ADDR", "ACCORD_SERVER_ADDR", "ACCORD_PRESENCE_ADDR", "ACCORD_STATS_ADDR", "ACCORD_SEARCH_ADDR"} {
		a, err := freePort()
		if err != nil {
			return nil, err
		}
		addrs[k] = a
	}
	store := "ACCORD_STORE=sqlite"
	if t.mongoURI != "" {
		store = "ACCORD_STORE=mongo"
	}
	env := append(os.Environ(),
		"ACCORD_DATA_DIR="+t.data, store, "ACCORD_MONGO_DB="+t.mongoDB, "ACCORD_METRICS_ADDR=off", "ACCORD_LOG_LEVEL=warn",
		"ACCORD_MESSAGE_RATE_LIMIT=0", "ACCORD_OPERATORS=viewer", fmt.Sprintf("ACCORD_REDIS_PREFIX=bench-community-%d:", time.Now().UnixNano()))
	pprof := ""
	if profile {
		a, err := freePort()
		if err != nil {
			return nil, err
		}
		pprof = a
		env = append(env, "ACCORD_PPROF_ADDR="+a)
	}
	for k, v := range addrs {
		env = append(env, k+"="+v)
	}
	return &proc{bin: bin, base: "http://" + addrs["ACCORD_HTTP_ADDR"], pprof: pprof, env: env,
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}, nil
}

// start runs the process and returns the time until its gateway is
// healthy.
func (p *proc) start(ctx context.Context) (time.Duration, error) {
	cmd := exec.Command(p.bin)
	cmd.Env = p.env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	p.cmd, p.done = cmd, make(chan error, 1)
	var logs bytes.Buffer
	var mu sync.Mutex
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			mu.Lock()
			logs.WriteString(s.Text() + "\n")
			mu.Unlock()
		}
		p.done <- cmd.Wait()
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if res, err := p.client.Get(p.base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return time.Since(t0), nil
			}
		}
		select {
		case err := <-p.done:
			mu.Lock()
			defer mu.Unlock()
			return 0, fmt.Errorf("accord exited (%v):\n%s", err, logs.String())
		case <-ctx.Done():
			p.stop()
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.stop()
	return 0, errors.New("accord did not become healthy within 2 minutes")
}

// stop ends the process gracefully and waits for it.
func (p *proc) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
}

// rss is the process's resident memory in bytes.
func (p *proc) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpu is the process's user+system CPU time so far (/proc/<pid>/stat,
// in clock ticks of 1/100 s, the Linux USER_HZ).
// settle waits until the process is idle (at most one clock tick of CPU,
// 10 ms, in half a second; 30 s at most) and returns the CPU it used
// meanwhile beyond that idle rate: the work left behind by what came
// before.
func (p *proc) settle() time.Duration {
	start, t0 := p.cpu(), time.Now()
	for {
		c0 := p.cpu()
		time.Sleep(500 * time.Millisecond)
		used := p.cpu() - c0
		if used <= 10*time.Millisecond || time.Since(t0) > 30*time.Second {
			idle := time.Duration(float64(used) * time.Since(t0).Seconds() / 0.5)
			return max(p.cpu()-start-idle, 0)
		}
	}
}

func (p *proc) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th of them.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// call is one REST call with a JSON body.
func (p *proc) call(method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
