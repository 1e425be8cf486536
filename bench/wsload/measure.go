package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

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
	server  string
	channel string
}

func measure(ctx context.Context, sys *system, w *world, o options, n int) error {
	fmt.Printf("\n== N = %d sockets\n", n)

	before, err := gatewayMem(sys)
	if err != nil {
		return err
	}
	socks, err := openSockets(ctx, sys, w, n)
	if err != nil {
		return err
	}
	closeSockets := func() {
		for _, s := range socks {
			_ = s.c.Close(websocket.StatusNormalClosure, "")
		}
		socks = nil
	}
	defer func() { closeSockets() }()
	time.Sleep(2 * time.Second) // let the sockets settle (presence, streams)
	after, err := gatewayMem(sys)
	if err != nil {
		return err
	}
	fmt.Printf("gateway memory per idle socket: RSS %.1f KiB, heap+stacks %.1f KiB (%d goroutines for %d sockets, %.1f per socket)\n",
		float64(after.rss-before.rss)/1024/float64(n), float64(after.heap-before.heap)/1024/float64(n),
		after.goroutines, n, float64(after.goroutines-before.goroutines)/float64(n))

	// The sockets and the baseline's streams are never open together: each
	// phase delivers to its N subscribers only.
	gw, err := runPhases(ctx, w, sys, o, wsReceivers(socks), fmt.Sprintf("n%d-ws", n))
	if err != nil {
		return err
	}
	closeSockets()
	time.Sleep(time.Second) // let the gateway end their upstream streams
	direct, err := openDirect(ctx, sys, w, n)
	if err != nil {
		return err
	}
	defer direct.close()
	base, err := runPhases(ctx, w, sys, o, direct.receivers(), fmt.Sprintf("n%d-grpc", n))
	if err != nil {
		return err
	}
	// The kernel's share: the same fan-out over plain TCP, at the paced rate
	// and at the rate of the 100,000 deliveries/s target.
	direct.close()
	size := int(frameLen.Load())
	floorPaced, err := tcpFloor(ctx, n, o.rate, o.messages, size)
	if err != nil {
		return err
	}
	floorTarget, err := tcpFloor(ctx, n, max(100000/n, 1), o.messages, size)
	if err != nil {
		return err
	}
	for i, label := range []string{fmt.Sprintf("%d msg/s", o.rate), "unpaced"} {
		rg, rd := gw[i], base[i]
		fmt.Printf("%-9s gateway WS : %9.0f deliveries/s  p50 %6.1f ms  p99 %6.1f ms  lost %d  dup %d  (send call p50 %.1f ms, p99 %.1f ms)\n", label, rg.rate, ms(rg.p50), ms(rg.p99), rg.lost, rg.dups, ms(rg.send50), ms(rg.send99))
		fmt.Printf("%-9s direct gRPC: %9.0f deliveries/s  p50 %6.1f ms  p99 %6.1f ms  lost %d  dup %d  (send call p50 %.1f ms, p99 %.1f ms)\n", label, rd.rate, ms(rd.p50), ms(rd.p99), rd.lost, rd.dups, ms(rd.send50), ms(rd.send99))
		fmt.Printf("%-9s ratio WS/gRPC: throughput %.2fx, p50 %.2fx, p99 %.2fx\n", label, rg.rate/rd.rate, float64(rg.p50)/float64(rd.p50), float64(rg.p99)/float64(rd.p99))
		if i == 0 {
			printFloor(label, floorPaced)
		}
	}
	printFloor(fmt.Sprintf("%d msg/s", max(100000/n, 1)), floorTarget)
	return nil
}

// runPhases warms the receivers up, then runs the paced phase and the
// unpaced one.
func runPhases(ctx context.Context, w *world, sys *system, o options, rs []receiver, name string) ([2]result, error) {
	var out [2]result
	if err := warmUp(ctx, w, sys, o, rs); err != nil {
		return out, err
	}
	for i, paced := range []bool{true, false} {
		phase := name + "-unpaced"
		if paced {
			phase = name + "-paced"
		}
		stop, err := profilePhase(sys, o, phase)
		if err != nil {
			return out, err
		}
		r, err := runPhase(ctx, w, sys, o, rs, paced)
		stop()
		if err != nil {
			return out, err
		}
		out[i] = r
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
	rss, heap, sys int64
	goroutines     int
}

// gatewayMem reads the child's RSS from /proc and its heap after a GC.
func gatewayMem(sys *system) (memSample, error) {
	var m memSample
	res, err := http.Get(sys.base + "/bench/mem")
	if err != nil {
		return m, err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if _, err := fmt.Sscan(string(b), &m.heap, &m.goroutines, &m.sys); err != nil {
		return m, fmt.Errorf("bench/mem %q: %w", b, err)
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", sys.child.Process.Pid))
	if err != nil {
		return m, err
	}
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			m.rss = kb * 1024
		}
	}
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
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
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
	errs := make([]error, n)
	cursor := nowCursor()
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			socks[i], errs[i] = dialSocket(ctx, sys.base, w.members[i%len(w.members)].token, w.server, cursor)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
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

type result struct {
	rate       float64
	p50, p99   time.Duration
	lost, dups int
	// send50, send99 are the REST send call's own latency: the part of
	// send-to-receive spent before the message exists.
	send50, send99 time.Duration
}

// runPhase sends o.messages messages (paced at o.rate, or as fast as the
// senders go) and waits until every receiver has them all or the timeout.
func runPhase(ctx context.Context, w *world, sys *system, o options, rs []receiver, paced bool) (result, error) {
	set := w.turn % 2
	w.turn++
	return sendAndReceive(ctx, w, sys, o, rs, paced, w.senders[set], o.messages)
}

// warmUp sends one message and waits until every receiver has it: then all
// subscriptions are live and the measured phases time only delivery.
func warmUp(ctx context.Context, w *world, sys *system, o options, rs []receiver) error {
	r, err := sendAndReceive(ctx, w, sys, o, rs, false, w.members[:1], 1)
	if err == nil && r.lost > 0 {
		err = fmt.Errorf("warm-up: %d receivers did not get the message", r.lost)
	}
	return err
}

func sendAndReceive(ctx context.Context, w *world, sys *system, o options, rs []receiver, paced bool, senders []account, m int) (result, error) {
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

	start := time.Now()
	var sendMu sync.Mutex
	sendLats := make([]time.Duration, 0, m)
	send := func(k int) error {
		a := senders[k%len(senders)]
		t0 := time.Now()
		sent[k].Store(t0.UnixNano())
		err := sys.rest.Do(context.Background(), "POST", "/v1/channels/"+w.channel+"/messages", a.token,
			map[string]any{"content": string(marker) + strconv.Itoa(k)}, nil)
		sendMu.Lock()
		sendLats = append(sendLats, time.Since(t0))
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
				if err := send(k); err != nil {
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
				for k := s; k < m; k += len(senders) {
					if err := send(k); err != nil {
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
	}
	slices.Sort(sendLats)
	if len(sendLats) > 0 {
		r.send50, r.send99 = sendLats[len(sendLats)/2], sendLats[len(sendLats)*99/100]
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
	if c, err := mongo.Connect(mongoopts.Client().ApplyURI(cfg.MongoURI)); err == nil {
		_ = c.Database(cfg.MongoDB).Drop(ctx)
		_ = c.Disconnect(ctx)
	}
}
