package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"

	"github.com/accordchat/accord/suite/client"
	"go.mongodb.org/mongo-driver/v2/mongo"
	mongoopts "go.mongodb.org/mongo-driver/v2/mongo/options"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/redisx"
)

// receivers is how many users own the sockets (several sockets per user,
// as with several tabs).
const receivers = 20

type account struct{ id, token string }

// frameLen is the size of a message frame as the sockets receive it.
var frameLen atomic.Int64

// world is the users, server and channel every run shares.
type world struct {
	members []account    // own the sockets
	senders [2][]account // two sets, used in turn
	turn    int
	phase   int
	cur     []account // the senders of the phase under way
	server  string
	channel string
}

// subject is one system measured in a phase: the gateway's sockets or a
// baseline.
type subject struct {
	name string
	res  [][]result // per repetition, per phase
}

func measure(ctx context.Context, sys *system, w *world, o options, n int) error {
	fmt.Printf("\n== N = %d sockets, %s, load average %s\n", n, o.phaseNames(), loadAvg())
	subjects := []*subject{{name: "gateway WS"}}
	for _, b := range o.baselines {
		subjects = append(subjects, &subject{name: baselineNames[b]})
	}
	for rep := 1; rep <= o.reps; rep++ {
		// The sockets and the baselines' subscribers are never open
		// together: each phase delivers to its N subscribers only.
		r, err := measureSockets(ctx, sys, w, o, n, rep)
		if err != nil {
			return err
		}
		subjects[0].res = append(subjects[0].res, r)
		for i, b := range o.baselines {
			r, err := measureBaseline(ctx, sys, w, o, n, b, rep)
			if err != nil {
				return err
			}
			subjects[i+1].res = append(subjects[i+1].res, r)
		}
		for i, paced := range o.phases {
			for _, sj := range subjects {
				printResult(fmt.Sprintf("#%d %s", rep, phaseLabel(o, paced)), sj.name, sj.res[rep-1][i])
			}
		}
	}
	printSummary(o, subjects)
	if o.tcpFloor {
		// The kernel's share: the same fan-out over plain TCP, at the paced
		// rate and at the rate of the 100,000 deliveries/s target.
		size := int(frameLen.Load())
		for _, rate := range []int{o.rate, max(100000/n, 1)} {
			f, err := tcpFloor(ctx, n, rate, o.messages, size)
			if err != nil {
				return err
			}
			printFloor(fmt.Sprintf("%d msg/s", rate), f)
		}
	}
	return nil
}

// measureSockets opens n sockets, reports the gateway's memory per idle
// socket, runs the phases on them and closes them.
func measureSockets(ctx context.Context, sys *system, w *world, o options, n, rep int) ([]result, error) {
	before, err := gatewayMem(sys)
	if err != nil {
		return nil, err
	}
	redisBefore := redisMemory(sys)
	t0 := time.Now()
	socks, err := openSockets(ctx, sys, w, n)
	if err != nil {
		return nil, err
	}
	opened := time.Since(t0)
	defer func() {
		for _, s := range socks {
			_ = s.c.Close(websocket.StatusNormalClosure, "")
		}
		time.Sleep(time.Second) // let the gateway end their sessions
	}()
	// Let the sockets settle (presence, feed registrations): the
	// warm-up below waits for every one to be live.
	time.Sleep(2 * time.Second)
	after, err := gatewayMem(sys)
	if err != nil {
		return nil, err
	}
	// RSS is only meaningful on the first repetition: later ones reuse
	// memory the runtime kept from the first.
	fmt.Printf("#%d %d sockets open in %.1f s; %s per idle socket: RSS %.1f KiB, heap+stacks %.1f KiB (stacks %.1f), %.1f goroutines; Redis memory %.1f KiB per socket (shared with other users of that Redis); %s RSS %.0f MiB\n",
		rep, n, opened.Seconds(), sys.role,
		float64(after.rss-before.rss)/1024/float64(n), float64(after.heap-before.heap)/1024/float64(n),
		float64(after.stacks-before.stacks)/1024/float64(n),
		float64(after.goroutines-before.goroutines)/float64(n),
		float64(redisMemory(sys)-redisBefore)/1024/float64(n), sys.role, float64(after.rss)/(1<<20))
	if o.hold > 0 {
		fmt.Printf("holding %d sockets open for %s: %s/debug/pprof/heap\n", n, o.hold, sys.bench)
		time.Sleep(o.hold)
	}
	rs := make([]receiver, len(socks))
	for i, s := range socks {
		rs[i] = s
	}
	res, err := runPhases(ctx, w, sys, o, rs, restSender(sys, w, nil), fmt.Sprintf("n%d-ws-%d", n, rep))
	closed := map[string]int{}
	for _, s := range socks {
		if e := s.ended.Load(); e != nil {
			closed[truncate((*e).Error(), 100)]++
		}
	}
	if err != nil {
		err = fmt.Errorf("%w (sockets closed: %v)", err, closed)
	} else if len(closed) > 0 {
		// A socket closed during the phases explains its lost messages.
		fmt.Printf("#%d sockets closed during the phases: %v\n", rep, closed)
	}
	return res, err
}

// baselineNames are the names of the baselines -baseline accepts.
var baselineNames = map[string]string{"redis": "Redis pub/sub", "grpc": "direct gRPC"}

func measureBaseline(ctx context.Context, sys *system, w *world, o options, n int, kind string, rep int) ([]result, error) {
	name := fmt.Sprintf("n%d-%s-%d", n, kind, rep)
	switch kind {
	case "redis":
		// At most maxclients connections: the rest of the suite needs some.
		m := n
		if limit := redisMaxClients(sys); limit > 0 && m > limit-1000 {
			m = limit - 1000
			fmt.Printf("#%d Redis pub/sub: %d subscribers only (Redis maxclients %d)\n", rep, m, limit)
		}
		r, err := openRedis(ctx, sys, m)
		if err != nil {
			return nil, err
		}
		defer r.close()
		size := int(frameLen.Load())
		if size == 0 {
			size = 400
		}
		return runPhases(ctx, w, sys, o, r.receivers(), r.publisher(size), name)
	case "grpc":
		// The same messages on N gRPC StreamEvents streams opened directly
		// on the server service, bypassing the gateway.
		d, err := openDirect(ctx, sys, w, n)
		if err != nil {
			return nil, err
		}
		defer func() {
			d.close()
			time.Sleep(time.Second)
		}()
		return runPhases(ctx, w, sys, o, d.receivers(), restSender(sys, w, nil), name)
	}
	return nil, fmt.Errorf("unknown baseline %q", kind)
}

func phaseLabel(o options, paced bool) string {
	if paced {
		return fmt.Sprintf("%d msg/s", o.rate)
	}
	return fmt.Sprintf("unpaced x%d", o.senders)
}

func printResult(label, name string, r result) {
	fmt.Printf("%-18s %-13s: %8.0f deliveries/s  p50 %6.1f  p99 %6.1f  p999 %6.1f ms  lost %d  dup %d  sent %.1f msg/s (send call p50 %.1f, p99 %.1f ms)  cores: %s\n",
		label, name, r.rate, ms(r.p50), ms(r.p99), ms(r.p999), r.lost, r.dups, r.sendRate, ms(r.send50), ms(r.send99), r.cpu)
}

// printSummary prints the medians over the repetitions and the ratios of
// the gateway to each baseline (the median of the per-repetition ratios,
// and their range).
func printSummary(o options, subjects []*subject) {
	fmt.Printf("-- medians of %d repetition(s), load average %s\n", o.reps, loadAvg())
	for i, paced := range o.phases {
		label := phaseLabel(o, paced)
		for _, sj := range subjects {
			var rate, p50, p99, p999 []float64
			lost := 0
			for _, r := range sj.res {
				rate = append(rate, r[i].rate)
				p50, p99, p999 = append(p50, ms(r[i].p50)), append(p99, ms(r[i].p99)), append(p999, ms(r[i].p999))
				lost += r[i].lost
			}
			fmt.Printf("%-18s %-13s: %8.0f deliveries/s  p50 %6.1f  p99 %6.1f  p999 %6.1f ms  lost %d (all repetitions)\n",
				label, sj.name, median(rate), median(p50), median(p99), median(p999), lost)
		}
		gw := subjects[0]
		for _, b := range subjects[1:] {
			var rate, p50, p99, p999 []float64
			for k := range gw.res {
				g, r := gw.res[k][i], b.res[k][i]
				rate = append(rate, g.rate/r.rate)
				p50 = append(p50, float64(g.p50)/float64(r.p50))
				p99 = append(p99, float64(g.p99)/float64(r.p99))
				p999 = append(p999, float64(g.p999)/float64(r.p999))
			}
			fmt.Printf("%-18s WS / %-8s: throughput %s  p50 %s  p99 %s  p999 %s\n",
				label, b.name, ratio(rate), ratio(p50), ratio(p99), ratio(p999))
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

// ratio is the median ratio and, over several repetitions, the range.
func ratio(v []float64) string {
	if len(v) == 1 {
		return fmt.Sprintf("%.2fx", v[0])
	}
	return fmt.Sprintf("%.2fx (%.2f-%.2f)", median(v), slices.Min(v), slices.Max(v))
}

// runPhases warms the receivers up, then runs the phases.
func runPhases(ctx context.Context, w *world, sys *system, o options, rs []receiver, send sendFunc, name string) ([]result, error) {
	var out []result
	if err := warmUp(ctx, w, sys, o, rs, send); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, paced := range o.phases {
		phase := name + "-unpaced"
		if paced {
			phase = name + "-paced"
		}
		stop, err := profilePhase(sys, o, phase)
		if err != nil {
			return nil, err
		}
		r, err := runPhase(ctx, w, sys, o, rs, paced, send)
		stop()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func buildWorld(sys *system, senders int) (*world, error) {
	w := &world{}
	reg := func(i int) (account, error) {
		login := fmt.Sprintf("load%d_%d", i, time.Now().UnixNano()%1e6)
		a, err := sys.rest.Register(context.Background(), login, "load test password")
		return account{id: a.ID, token: a.Token}, err
	}
	total := receivers + 2*senders
	accts := make([]account, total)
	errs := make([]error, total)
	var wg sync.WaitGroup
	for i := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			accts[i], errs[i] = reg(i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	w.members = accts[:receivers]
	w.senders[0] = accts[receivers : receivers+senders]
	w.senders[1] = accts[receivers+senders:]
	owner := w.members[0]
	var err error
	if w.server, w.channel, err = sys.rest.CreateServer(context.Background(), owner.token, "load"); err != nil {
		return nil, err
	}
	var inv struct {
		Invite struct {
			Code string `json:"code"`
		} `json:"invite"`
	}
	if err := sys.rest.Do(context.Background(), "POST", "/v1/servers/"+w.server+"/invites", owner.token, map[string]any{}, &inv); err != nil {
		return nil, err
	}
	for _, a := range accts[1:] {
		if err := sys.rest.Do(context.Background(), "POST", "/v1/invites/"+inv.Invite.Code+":accept", a.token, map[string]any{}, nil); err != nil {
			return nil, err
		}
	}
	return w, nil
}

type memSample struct {
	rss, heap, sys, stacks int64
	goroutines             int
}

// gatewayMem reads the child's RSS from /proc and its heap after a GC.
func gatewayMem(sys *system) (memSample, error) {
	var m memSample
	res, err := http.Get(sys.bench + "/bench/mem")
	if err != nil {
		return m, err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if _, err := fmt.Sscan(string(b), &m.heap, &m.goroutines, &m.sys, &m.stacks); err != nil {
		return m, fmt.Errorf("bench/mem %q: %w", b, err)
	}
	m.rss = procRSS(sys.child.Process.Pid)
	return m, nil
}

// receiver is one subscriber of a phase: it reports each message it gets.
type receiver interface {
	// start delivers the sequence numbers of the phase's messages it
	// receives to got, until ctx ends.
	start(ctx context.Context, marker []byte, got func(seq int))
}

// wsSock is a gateway socket.
type wsSock struct {
	c *websocket.Conn
	// ended is the error that ended the socket's reader (its close), nil
	// while it reads.
	ended atomic.Pointer[error]

	mu      sync.Mutex
	handler func([]byte)
}

func wsReceivers(socks []*wsSock) []receiver {
	out := make([]receiver, len(socks))
	for i, s := range socks {
		out[i] = s
	}
	return out
}

func (s *wsSock) start(ctx context.Context, marker []byte, got func(int)) {
	s.mu.Lock()
	s.handler = func(b []byte) {
		if seq, ok := findSeq(b, marker); ok && bytes.Contains(b, []byte("message_created")) {
			frameLen.Store(int64(len(b)))
			got(seq)
		}
	}
	s.mu.Unlock()
}

func (s *wsSock) read() {
	var buf bytes.Buffer // reused: the load generator shares the machine
	for {
		_, r, err := s.c.Reader(context.Background())
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			s.ended.Store(&err)
			return
		}
		s.mu.Lock()
		h := s.handler
		s.mu.Unlock()
		if h != nil {
			h(buf.Bytes())
		}
	}
}

// findSeq finds marker followed by digits in b.
func findSeq(b, marker []byte) (int, bool) {
	i := bytes.Index(b, marker)
	if i < 0 {
		return 0, false
	}
	j := i + len(marker)
	n, k := 0, j
	for k < len(b) && b[k] >= '0' && b[k] <= '9' {
		n = n*10 + int(b[k]-'0')
		k++
	}
	return n, k > j
}

func openSockets(ctx context.Context, sys *system, w *world, n int) ([]*wsSock, error) {
	socks := make([]*wsSock, n)
	cursor := nowCursor()
	// 50 dialling at a time.
	var g errgroup.Group
	g.SetLimit(50)
	for i := range n {
		g.Go(func() error {
			var err error
			socks[i], err = dialSocket(ctx, sys.base, w.members[i%len(w.members)].token, w.server, cursor)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		for _, s := range socks {
			if s != nil {
				_ = s.c.CloseNow()
			}
		}
		return nil, err
	}
	return socks, nil
}

func dialSocket(ctx context.Context, base, token, server, cursor string) (*wsSock, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, _, err := client.Dial(dctx, base, client.DialOptions{Token: token, Client: "bench", Cursors: map[string]string{"server:" + server: cursor}})
	if err != nil {
		return nil, err
	}
	s := &wsSock{c: c.Conn()}
	go s.read()
	return s, nil
}

// directStreams are gRPC StreamEvents streams on the server service.
type directStreams struct {
	cancel context.CancelFunc
	subs   []*directSub
}

type directSub struct {
	mu      sync.Mutex
	handler func(*eventsv1.Event)
}

func (d *directStreams) close() { d.cancel() }

func (d *directStreams) receivers() []receiver {
	out := make([]receiver, len(d.subs))
	for i, s := range d.subs {
		out[i] = s
	}
	return out
}

func (s *directSub) start(ctx context.Context, marker []byte, got func(int)) {
	s.mu.Lock()
	s.handler = func(ev *eventsv1.Event) {
		if m := ev.GetMessageCreated(); m != nil {
			if seq, ok := findSeq([]byte(m.GetContent()), marker); ok {
				got(seq)
			}
		}
	}
	s.mu.Unlock()
}

func openDirect(ctx context.Context, sys *system, w *world, n int) (*directStreams, error) {
	sctx, cancel := context.WithCancel(ctx)
	d := &directStreams{cancel: cancel}
	client := eventsv1.NewEventServiceClient(sys.peers.Server)
	cursors := []*eventsv1.Cursor{{Scope: "server:" + w.server, Position: nowCursor()}}
	for i := range n {
		sub := &directSub{}
		d.subs = append(d.subs, sub)
		stream, err := client.StreamEvents(auth.WithBearer(sctx, w.members[i%len(w.members)].token), &eventsv1.StreamEventsRequest{Cursors: cursors})
		if err != nil {
			cancel()
			return nil, err
		}
		go func() {
			for {
				res, err := stream.Recv()
				if err != nil {
					return
				}
				sub.mu.Lock()
				h := sub.handler
				sub.mu.Unlock()
				if h != nil {
					h(res.GetEvent())
				}
			}
		}()
	}
	return d, nil
}

// nowCursor is a feed position of about now: streams opened with it miss
// nothing sent later, however long their subscription takes to go live.
func nowCursor() string { return fmt.Sprintf("%d-0", time.Now().UnixMilli()) }

// sendFunc sends message k of a phase with content.
type sendFunc func(ctx context.Context, k int, content string) error

// restSender sends through the gateway's REST API, as the phase's current
// senders (world.cur) in turn.
func restSender(sys *system, w *world, _ []account) sendFunc {
	return func(ctx context.Context, k int, content string) error {
		a := w.cur[k%len(w.cur)]
		return sys.rest.Do(ctx, "POST", "/v1/channels/"+w.channel+"/messages", a.token,
			map[string]any{"content": content}, nil)
	}
}

type result struct {
	rate           float64
	p50, p99, p999 time.Duration
	lost, dups     int
	sendRate       float64 // messages sent per second (send calls completed)
	// send50, send99 are the send call's own latency: the part of
	// send-to-receive spent before the message exists.
	send50, send99 time.Duration
	cpu            cpuUse
}

// runPhase sends o.messages messages (paced at o.rate, or as fast as
// o.senders senders go) and waits until every receiver has them all or the
// timeout.
func runPhase(ctx context.Context, w *world, sys *system, o options, rs []receiver, paced bool, send sendFunc) (result, error) {
	w.cur = w.senders[w.turn%2]
	w.turn++
	return sendAndReceive(ctx, w, sys, o, rs, paced, o.senders, send, o.messages)
}

// warmUp sends one message and waits until every receiver has it: then all
// subscriptions are live and the measured phases time only delivery.
func warmUp(ctx context.Context, w *world, sys *system, o options, rs []receiver, send sendFunc) error {
	w.cur = w.members[:1]
	r, err := sendAndReceive(ctx, w, sys, o, rs, false, 1, send, 1)
	if err == nil && r.lost > 0 {
		err = fmt.Errorf("warm-up: %d receivers did not get the message", r.lost)
	}
	return err
}

func sendAndReceive(ctx context.Context, w *world, sys *system, o options, rs []receiver, paced bool, senders int, send sendFunc, m int) (result, error) {
	w.phase++
	marker := []byte(fmt.Sprintf("wsload-%d-", w.phase))
	sent := make([]atomic.Int64, m)

	type recvState struct {
		mu   sync.Mutex
		seen []bool
		n    int
		dups int
		lat  []time.Duration
		last time.Time
	}
	states := make([]*recvState, len(rs))
	var complete atomic.Int64
	allDone := make(chan struct{})
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, r := range rs {
		st := &recvState{seen: make([]bool, m), lat: make([]time.Duration, 0, m)}
		states[i] = st
		r.start(pctx, marker, func(seq int) {
			now := time.Now()
			if seq < 0 || seq >= m {
				return
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			if st.seen[seq] {
				st.dups++
				return
			}
			st.seen[seq] = true
			st.n++
			st.last = now
			if t := sent[seq].Load(); t != 0 {
				st.lat = append(st.lat, now.Sub(time.Unix(0, t)))
			}
			if st.n == m && complete.Add(1) == int64(len(rs)) {
				close(allDone)
			}
		})
	}

	cpu0 := sampleCPU(sys)
	start := time.Now()
	var sendMu sync.Mutex
	sendLats := make([]time.Duration, 0, m)
	var lastSent time.Time
	one := func(k int) error {
		t0 := time.Now()
		sent[k].Store(t0.UnixNano())
		err := send(context.Background(), k, string(marker)+strconv.Itoa(k))
		t1 := time.Now()
		sendMu.Lock()
		sendLats = append(sendLats, t1.Sub(t0))
		if t1.After(lastSent) {
			lastSent = t1
		}
		sendMu.Unlock()
		return err
	}
	var wg sync.WaitGroup
	errc := make(chan error, m)
	if paced {
		tick := time.NewTicker(time.Second / time.Duration(o.rate))
		for k := range m {
			if k > 0 {
				<-tick.C
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := one(k); err != nil {
					errc <- err
				}
			}()
		}
		tick.Stop()
	} else {
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := s; k < m; k += senders {
					if err := one(k); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return result{}, err
	}
	select {
	case <-allDone:
	case <-time.After(o.timeout):
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
	var r result
	r.cpu = sampleCPU(sys).since(cpu0, time.Since(start))
	var lats []time.Duration
	var last time.Time
	total := 0
	for _, st := range states {
		st.mu.Lock()
		total += st.n
		r.lost += m - st.n
		r.dups += st.dups
		lats = append(lats, st.lat...)
		if st.last.After(last) {
			last = st.last
		}
		st.mu.Unlock()
	}
	slices.Sort(lats)
	if len(lats) > 0 {
		r.p50 = lats[len(lats)/2]
		r.p99 = lats[len(lats)*99/100]
		r.p999 = lats[len(lats)*999/1000]
	}
	slices.Sort(sendLats)
	if len(sendLats) > 0 {
		r.send50, r.send99 = sendLats[len(sendLats)/2], sendLats[len(sendLats)*99/100]
	}
	if d := lastSent.Sub(start); d > 0 {
		r.sendRate = float64(m) / d.Seconds()
	}
	if d := last.Sub(start); d > 0 {
		r.rate = float64(total) / d.Seconds()
	}
	return r, nil
}

// dropData removes what the run left in Redis and Mongo.
func dropData(cfg config.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if rdb, err := redisx.Connect(ctx, cfg.RedisURL, logging.Discard()); err == nil {
		iter := rdb.Scan(ctx, 0, cfg.RedisPrefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 {
			k := min(len(keys), 500)
			rdb.Del(ctx, keys[:k]...)
			keys = keys[k:]
		}
		_ = rdb.Close()
	}
	if cfg.MongoURI == "" {
		return // SQLite: the folder is removed with the run's
	}
	if c, err := mongo.Connect(mongoopts.Client().ApplyURI(cfg.MongoURI)); err == nil {
		_ = c.Database(cfg.MongoDB).Drop(ctx)
		_ = c.Disconnect(ctx)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
