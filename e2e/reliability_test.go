package e2e

import (
	"context"
	"crypto/ed25519"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/suite/client"
	"github.com/accordchat/accord/suite/proc"
)

var long = flag.Bool("long", false, "run the reliability suite at full size: 100 clients in 10 servers sending 100 messages each")

// suite is the multi-process deployment under test: two server instances,
// two gateways, one of each other service, a Redis of its own.
type suite struct {
	redis            *proc.Redis
	procs            map[string]*proc.Proc
	grpcAddr         map[string]string
	gateways         []string // base URLs
	gatewayAlive     []atomic.Bool
	rest             *client.REST
	bins             map[string]string
	env              []string
	t                *testing.T
	faultsMu         sync.Mutex
	recovery         []string
	deliveryDeadline time.Duration

	// When each message (by request id) was first sent, and how long each
	// live delivery took from then, for the latency report.
	latMu   sync.Mutex
	sentAt  map[string]time.Time
	samples []latencySample
}

// latencySample is one live delivery: when the message was sent and how
// long it took to reach a socket.
type latencySample struct {
	sent time.Time
	d    time.Duration
}

// suiteOptions vary the deployment.
type suiteOptions struct {
	// serverList gives every client of the server service (the gateways,
	// the user, presence, stats and search services) both instances, as a
	// headless Kubernetes Service does; otherwise each talks to one.
	serverList bool
	// cluster runs the suite on the test Redis Cluster (each run under a
	// key prefix of its own) instead of a Redis of its own; a Redis
	// restart is then not among the faults.
	cluster bool
	// perSocket runs the gateways with one StreamEvents stream per socket
	// (ACCORD_WS_SHARED_FEED=0) instead of the shared event feed, the
	// default; ACCORD_TEST_SHARED_FEED=0 does so for every test here (and
	// =1 never).
	perSocket bool
}

func startSuite(t *testing.T, o suiteOptions) *suite {
	bins := proc.Build(t, proc.Release, "user", "server", "presence", "stats", "search", "gateway")
	s := &suite{t: t, bins: bins, procs: map[string]*proc.Proc{}, rest: newREST(""), deliveryDeadline: 90 * time.Second, sentAt: map[string]time.Time{}}
	redisURL, redisPrefix := "", ""
	if o.cluster {
		redisURL, redisPrefix = platformtest.RedisClusterURL(t), "rel"+platformtest.RandomHex(4)+":"
	} else {
		s.redis = proc.StartRedis(t)
		redisURL = s.redis.URL()
	}
	dir := t.TempDir()
	// The user service alone gets the signing key; every service gets its
	// public half and the service key, as in docker-compose.yml.
	userKey := auth.GenerateKey()
	keyFile := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	signingFile := keyFile("signing.key", auth.MarshalKey(userKey))
	verifyFile := keyFile("verify.pem", auth.MarshalPublicKey(userKey.Public().(ed25519.PublicKey)))
	serviceFile := keyFile("service.key", auth.MarshalKey(auth.GenerateKey()))
	s.grpcAddr = map[string]string{}
	for _, n := range []string{"user", "server1", "server2", "presence", "stats", "search"} {
		s.grpcAddr[n] = proc.FreeAddr(t)
	}
	gw := []string{proc.FreeAddr(t), proc.FreeAddr(t)}
	s.env = []string{
		"ACCORD_MONGO_URI=" + platformtest.MongoURI(t),
		"ACCORD_MONGO_DB=rel_" + platformtest.RandomHex(4),
		"ACCORD_REDIS_URL=" + redisURL,
		"ACCORD_REDIS_PREFIX=" + redisPrefix,
		"ACCORD_VERIFY_KEY_FILE=" + verifyFile,
		"ACCORD_SERVICE_KEY_FILE=" + serviceFile,
		"ACCORD_USER_ADDR=" + s.grpcAddr["user"],
		"ACCORD_PRESENCE_ADDR=" + s.grpcAddr["presence"],
		"ACCORD_STATS_ADDR=" + s.grpcAddr["stats"],
		"ACCORD_SEARCH_ADDR=" + s.grpcAddr["search"],
		"ACCORD_METRICS_ADDR=off",
		"ACCORD_MESSAGE_RATE_LIMIT=0",
		"ACCORD_ACCESS_TOKEN_TTL=2h",
		"ACCORD_LOG_LEVEL=warn",
		"ACCORD_SHUTDOWN_TIMEOUT=2s",
		"ACCORD_DATA_DIR=" + dir,
	}
	start := func(name, bin string, extra ...string) {
		s.procs[name] = proc.Start(t, name, bins[bin], append(append([]string{}, s.env...), extra...))
	}
	server1, server2 := s.grpcAddr["server1"], s.grpcAddr["server2"]
	if o.serverList {
		server1 = s.grpcAddr["server1"] + "," + s.grpcAddr["server2"]
		server2 = s.grpcAddr["server2"] + "," + s.grpcAddr["server1"]
	}
	// Each gateway and each peer of the server service talks to one server
	// instance: gateway 1 and the user and presence services to the first,
	// gateway 2 and stats to the second.
	start("user", "user", "ACCORD_LISTEN_ADDR="+s.grpcAddr["user"], "ACCORD_SERVER_ADDR="+server1, "ACCORD_SIGNING_KEY_FILE="+signingFile)
	start("server1", "server", "ACCORD_LISTEN_ADDR="+s.grpcAddr["server1"], "ACCORD_SERVER_ADDR="+s.grpcAddr["server1"])
	start("server2", "server", "ACCORD_LISTEN_ADDR="+s.grpcAddr["server2"], "ACCORD_SERVER_ADDR="+s.grpcAddr["server2"])
	start("presence", "presence", "ACCORD_LISTEN_ADDR="+s.grpcAddr["presence"], "ACCORD_SERVER_ADDR="+server1)
	start("stats", "stats", "ACCORD_LISTEN_ADDR="+s.grpcAddr["stats"], "ACCORD_SERVER_ADDR="+server2)
	start("search", "search", "ACCORD_LISTEN_ADDR="+s.grpcAddr["search"], "ACCORD_SERVER_ADDR="+server2)
	for _, n := range []string{"user", "server1", "server2", "presence", "stats", "search"} {
		proc.WaitGRPC(t, s.grpcAddr[n], 60*time.Second)
	}
	s.gatewayAlive = make([]atomic.Bool, 2)
	for i, addr := range gw {
		server := []string{server1, server2}[i]
		env := []string{"ACCORD_HTTP_ADDR=" + addr, "ACCORD_SERVER_ADDR=" + server}
		switch shared := os.Getenv("ACCORD_TEST_SHARED_FEED"); {
		case shared == "0", o.perSocket && shared != "1":
			env = append(env, "ACCORD_WS_SHARED_FEED=0")
		default:
			env = append(env, "ACCORD_WS_SHARED_FEED=1")
		}
		start("gateway"+strconv.Itoa(i+1), "gateway", env...)
		s.gateways = append(s.gateways, "http://"+addr)
		proc.WaitHTTP(t, "http://"+addr+"/healthz", 60*time.Second)
		s.gatewayAlive[i].Store(true)
	}
	return s
}

func (s *suite) note(format string, args ...any) {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	s.recovery = append(s.recovery, fmt.Sprintf(format, args...))
}

// member is one simulated user with one socket.
type member struct {
	idx                int
	id, login, token   string
	serverID, channel  string
	gw                 atomic.Int32 // index of the gateway it uses
	mu                 sync.Mutex
	delivered          map[string]int    // message id -> times delivered live or replayed
	fromHistory        map[string]bool   // message ids learnt from history after a resync
	lastCursor         map[string]string // per scope
	reorders           int
	reconnects         int
	acked              []string
	needHistory        bool
	trace              []string // what happened to the socket, for failure reports
	connected          atomic.Bool
	lastConnectedSince time.Time
}

func cursorLess(a, b string) bool {
	pa, pb := strings.SplitN(a, "-", 2), strings.SplitN(b, "-", 2)
	if len(pa) != 2 || len(pb) != 2 {
		return a < b
	}
	ma, _ := strconv.ParseUint(pa[0], 10, 64)
	mb, _ := strconv.ParseUint(pb[0], 10, 64)
	if ma != mb {
		return ma < mb
	}
	sa, _ := strconv.ParseUint(pa[1], 10, 64)
	sb, _ := strconv.ParseUint(pb[1], 10, 64)
	return sa < sb
}

// listen keeps the member's socket open until ctx ends, reconnecting to a
// live gateway with its cursors whenever the socket drops.
func (s *suite) listen(ctx context.Context, m *member) {
	var cursors map[string]string
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		g := int(m.gw.Load())
		if !s.gatewayAlive[g].Load() {
			g = 1 - g
			m.gw.Store(int32(g))
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, _, err := client.Dial(dctx, s.gateways[g], client.DialOptions{Token: m.token, Cursors: cursors, Client: "e2e", HTTPClient: &http.Client{Timeout: 10 * time.Second}})
		cancel()
		if err != nil {
			m.gw.Store(int32(1 - g))
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		m.connected.Store(true)
		m.mu.Lock()
		m.trace = append(m.trace, fmt.Sprintf("%s connected to gateway %d with cursors %v", time.Now().Format("15:04:05.000"), g+1, cursors))
		if cursors != nil {
			m.reconnects++
		}
		if cursors != nil && cursors["server:"+m.serverID] == "" {
			// Nothing seen of the server yet: what was sent while away
			// comes from history, as a real client does.
			m.needHistory = true
		}
		m.mu.Unlock()
		s.read(ctx, m, conn)
		m.connected.Store(false)
		cursors = conn.Cursors()
		_ = conn.CloseNow()
	}
}

func (s *suite) read(ctx context.Context, m *member, conn *client.WS) {
	for {
		f, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if f.Type != "event" {
			continue
		}
		ev, err := client.DecodeEvent(f)
		if err != nil {
			continue
		}
		m.mu.Lock()
		if ev.Cursor != "" {
			if last := m.lastCursor[ev.Scope]; last != "" && !cursorLess(last, ev.Cursor) {
				m.reorders++
			}
			m.lastCursor[ev.Scope] = ev.Cursor
		}
		if mc := ev.MessageCreated; mc != nil && mc.ChannelID == m.channel {
			if m.delivered[mc.ID] == 0 {
				s.delivered(mc.RequestID, time.Now())
			}
			m.delivered[mc.ID]++
			m.trace = append(m.trace, fmt.Sprintf("%s %s %s %s", time.Now().Format("15:04:05.000"), ev.Cursor, mc.ID, mc.RequestID))
		}
		if ev.Resync != nil {
			m.needHistory = true
		}
		m.mu.Unlock()
	}
}

// history returns the ids of every message of a channel, oldest first.
func (s *suite) history(ctx context.Context, token, channel string) ([]string, error) {
	var ids []string
	before := ""
	for {
		var page struct {
			Messages []struct {
				ID string `json:"id"`
			} `json:"messages"`
			HasMore bool `json:"has_more"`
		}
		path := "/v1/channels/" + channel + "/messages?page_size=100"
		if before != "" {
			path += "&before=" + before
		}
		var err error
		for _, g := range []int{1, 0} {
			if !s.gatewayAlive[g].Load() {
				continue
			}
			if err = s.rest.At(s.gateways[g]).Do(ctx, "GET", path, token, nil, &page); err == nil {
				break
			}
		}
		if err != nil {
			return nil, err
		}
		for _, m := range page.Messages {
			ids = append(ids, m.ID)
		}
		if !page.HasMore || len(page.Messages) == 0 {
			break
		}
		before = page.Messages[len(page.Messages)-1].ID
	}
	for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	return ids, nil
}

// delivered records a live delivery of the message sent with requestID.
func (s *suite) delivered(requestID string, at time.Time) {
	s.latMu.Lock()
	defer s.latMu.Unlock()
	if t, ok := s.sentAt[requestID]; ok {
		s.samples = append(s.samples, latencySample{sent: t, d: at.Sub(t)})
	}
}

// latencies returns the delivery latencies of the messages sent within
// [from, to), sorted.
func (s *suite) latencies(from, to time.Time) []time.Duration {
	s.latMu.Lock()
	defer s.latMu.Unlock()
	var out []time.Duration
	for _, l := range s.samples {
		if !l.sent.Before(from) && l.sent.Before(to) {
			out = append(out, l.d)
		}
	}
	slices.Sort(out)
	return out
}

// quantile returns the q quantile of sorted durations (0 when empty).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// send posts one message with retries until it is acknowledged.
func (s *suite) send(ctx context.Context, m *member, requestID string) (string, int, error) {
	s.latMu.Lock()
	s.sentAt[requestID] = time.Now()
	s.latMu.Unlock()
	attempts := 0
	backoff := 20 * time.Millisecond
	for {
		attempts++
		g := int(m.gw.Load())
		if !s.gatewayAlive[g].Load() {
			g = 1 - g
		}
		var res struct {
			Message struct {
				ID string `json:"id"`
			} `json:"message"`
		}
		body := map[string]string{"content": "message " + requestID, "request_id": requestID}
		err := s.rest.At(s.gateways[g]).Do(ctx, "POST", "/v1/channels/"+m.channel+"/messages", m.token, body, &res)
		if err == nil {
			return res.Message.ID, attempts, nil
		}
		if ctx.Err() != nil {
			return "", attempts, err
		}
		if he, ok := err.(*client.HTTPError); ok && he.Status/100 == 4 && he.Status != 429 && he.Status != 408 {
			return "", attempts, err
		}
		if attempts%2 == 0 {
			m.gw.Store(int32(1 - g)) // try the other gateway too
		}
		time.Sleep(backoff)
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// fault is something done to the deployment once at least at messages
// have been acknowledged.
type fault struct {
	at   int64
	name string
	do   func()
}

// load is one run of the reliability suite: clients in servers, each
// sending perClient messages or, when more is set, for as long as it
// returns true.
type load struct {
	clients, servers, perClient int
	faults                      []fault
	more                        func() bool
	// pace is the pause between a client's sends (default: up to 10 ms).
	pace time.Duration
}

func TestReliabilityUnderFaults(t *testing.T) {
	clients, servers, perClient := 20, 4, 15
	if *long {
		clients, servers, perClient = 100, 10, 100
	}
	s := startSuite(t, suiteOptions{})
	total := clients * perClient
	s.run(t, load{clients: clients, servers: servers, perClient: perClient, faults: []fault{
		{int64(total / 4), "redis restart", func() { s.redis.RestartGracefully(t) }},
		{int64(total / 2), "server instance 1 killed and restarted", func() {
			s.procs["server1"].Kill()
			time.Sleep(300 * time.Millisecond)
			s.procs["server1"].Restart()
			proc.WaitGRPC(t, s.grpcAddr["server1"], 30*time.Second)
		}},
		{int64(3 * total / 4), "gateway 1 killed", func() {
			s.gatewayAlive[0].Store(false)
			s.procs["gateway1"].Kill()
		}},
	}})
}

// TestReliabilityRollingRestart restarts every server instance and then
// every gateway, one at a time and each drained (SIGTERM), while clients
// send and listen: nothing may be lost, duplicated or reordered, and the
// delivery latency of the messages sent during the roll is reported next
// to that of the messages sent before it.
func TestReliabilityRollingRestart(t *testing.T) {
	rollingRestart(t, suiteOptions{serverList: true}, 20, 4, 10)
}

// TestReliabilityRollingRestartPerSocket is the rolling restart with the
// gateways on one StreamEvents stream per socket (ACCORD_WS_SHARED_FEED=0),
// the feed the other tests here no longer use by default.
func TestReliabilityRollingRestartPerSocket(t *testing.T) {
	rollingRestart(t, suiteOptions{serverList: true, perSocket: true}, 20, 4, 10)
}

// TestReliabilityRollingRestartOnCluster is the rolling restart with every
// process on a 3-master Redis Cluster: the event log, the feed's reads per
// slot, the channel locks, the outbox, presence and the stats streams all
// keep their promises there too.
func TestReliabilityRollingRestartOnCluster(t *testing.T) {
	rollingRestart(t, suiteOptions{serverList: true, cluster: true}, 12, 3, 8)
}

func rollingRestart(t *testing.T, o suiteOptions, clients, servers, perClient int) {
	if *long {
		clients, servers, perClient = 100, 10, 50
	}
	s := startSuite(t, o)
	var rollStart, rollEnd time.Time
	var rolled atomic.Bool
	restart := func(name string, wait func()) {
		start := time.Now()
		if !s.procs[name].Stop(30 * time.Second) {
			t.Errorf("%s did not drain and exit cleanly: %v", name, s.procs[name].Err())
		}
		stopped := time.Since(start)
		s.procs[name].Restart()
		wait()
		s.note("roll: %s drained in %v, back %v after the stop began", name, stopped.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
	roll := func() {
		rollStart = time.Now()
		for _, n := range []string{"server1", "server2"} {
			restart(n, func() { proc.WaitGRPC(t, s.grpcAddr[n], 60*time.Second) })
		}
		for i := range s.gateways {
			// Clients that reconnect go to the other gateway, as a load
			// balancer sends them once this one's health check fails.
			s.gatewayAlive[i].Store(false)
			restart("gateway"+strconv.Itoa(i+1), func() { proc.WaitHTTP(t, s.gateways[i]+"/healthz", 60*time.Second) })
			s.gatewayAlive[i].Store(true)
		}
		rollEnd = time.Now()
		rolled.Store(true)
	}
	s.run(t, load{clients: clients, servers: servers, perClient: perClient,
		faults: []fault{{int64(clients * perClient / 4), "rolling restart of every server instance and gateway", roll}},
		more:   func() bool { return !rolled.Load() },
		// A steady, modest rate: the roll takes several seconds.
		pace: 100 * time.Millisecond,
	})
	if rollEnd.IsZero() {
		return
	}
	before := s.latencies(time.Time{}, rollStart)
	during := s.latencies(rollStart, rollEnd)
	t.Logf("roll: %v; deliveries of messages sent before it %d, during it %d", rollEnd.Sub(rollStart).Round(time.Millisecond), len(before), len(during))
	t.Logf("roll: delivery latency before: p50 %v p99 %v max %v", quantile(before, .5), quantile(before, .99), quantile(before, 1))
	t.Logf("roll: delivery latency during: p50 %v p99 %v max %v", quantile(during, .5), quantile(during, .99), quantile(during, 1))
	if b := quantile(before, .99); b > 0 {
		t.Logf("roll: p99 during / p99 before = %.1f", float64(quantile(during, .99))/float64(b))
	}
}

// run plays a load on the deployment with faults and checks the
// promises: every acknowledged message stored once, delivered to every
// member once and in order (or, after a resync, found in history), and
// every connected member shown online.
func (s *suite) run(t *testing.T, l load) {
	clients, servers, perClient := l.clients, l.servers, l.perClient
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	base := s.gateways[0]

	// Sign up everyone, then one owner per server adds its members.
	members := make([]*member, clients)
	for i := range members {
		login := fmt.Sprintf("rel%03d", i)
		a, err := s.rest.At(base).Register(ctx, login, "password-"+login)
		if err != nil {
			t.Fatalf("register %s: %v", login, err)
		}
		members[i] = &member{idx: i, id: a.ID, login: login, token: a.Token,
			delivered: map[string]int{}, fromHistory: map[string]bool{}, lastCursor: map[string]string{}}
		members[i].gw.Store(int32(i % 2))
	}
	for sv := 0; sv < servers; sv++ {
		owner := members[sv]
		serverID, channelID, err := s.rest.At(base).CreateServer(ctx, owner.token, fmt.Sprintf("server %d", sv))
		if err != nil {
			t.Fatalf("create server: %v", err)
		}
		for i := sv; i < clients; i += servers {
			m := members[i]
			m.serverID, m.channel = serverID, channelID
			if i != sv {
				if err := s.rest.At(base).Do(ctx, "POST", "/v1/servers/"+serverID+"/members", owner.token, map[string]string{"login": m.login}, nil); err != nil {
					t.Fatalf("add member: %v", err)
				}
			}
		}
	}

	lctx, stopListening := context.WithCancel(ctx)
	var lwg sync.WaitGroup
	for _, m := range members {
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			s.listen(lctx, m)
		}()
	}
	platformtest.Eventually(t, 30*time.Second, func() bool {
		for _, m := range members {
			if !m.connected.Load() {
				return false
			}
		}
		return true
	}, "every socket to connect")

	// Send, with faults injected as the count of acknowledged messages grows.
	var acked, attempts, sending atomic.Int64
	faultDone := make(chan struct{})
	var faultsOver atomic.Bool
	go func() {
		defer close(faultDone)
		defer faultsOver.Store(true)
		for _, f := range l.faults {
			for acked.Load() < f.at {
				if ctx.Err() != nil {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
			start := time.Now()
			before := acked.Load()
			f.do()
			for acked.Load() == before && ctx.Err() == nil && !faultsOver.Load() && sending.Load() > 0 {
				time.Sleep(2 * time.Millisecond)
			}
			s.note("%s: sends flowing again %v after the fault began", f.name, time.Since(start).Round(time.Millisecond))
		}
	}()
	var swg sync.WaitGroup
	sendErrs := make(chan error, clients)
	sending.Store(int64(len(members)))
	for _, m := range members {
		swg.Add(1)
		go func() {
			defer swg.Done()
			defer sending.Add(-1)
			for j := 0; j < perClient || l.more != nil && l.more() && ctx.Err() == nil; j++ {
				id, n, err := s.send(ctx, m, fmt.Sprintf("r%03d-%03d", m.idx, j))
				attempts.Add(int64(n))
				if err != nil {
					sendErrs <- fmt.Errorf("%s message %d: %w", m.login, j, err)
					return
				}
				m.mu.Lock()
				m.acked = append(m.acked, id)
				m.mu.Unlock()
				acked.Add(1)
				if l.pace > 0 {
					time.Sleep(l.pace)
				} else {
					time.Sleep(time.Duration(rand.IntN(10)) * time.Millisecond)
				}
			}
		}()
	}
	swg.Wait()
	close(sendErrs)
	total := int(acked.Load())
	for err := range sendErrs {
		t.Error(err)
	}
	<-faultDone
	if t.Failed() {
		stopListening()
		lwg.Wait()
		return
	}

	// What each channel should hold, from the acknowledgements.
	wantByChannel := map[string]map[string]bool{}
	for _, m := range members {
		if wantByChannel[m.channel] == nil {
			wantByChannel[m.channel] = map[string]bool{}
		}
		for _, id := range m.acked {
			wantByChannel[m.channel][id] = true
		}
	}
	// Clients that saw a resync, or reconnected before seeing anything of
	// their server, reload history as a real client does.
	fill := func(m *member) {
		m.mu.Lock()
		need := m.needHistory
		m.mu.Unlock()
		if !need {
			return
		}
		ids, err := s.history(ctx, m.token, m.channel)
		if err != nil {
			return
		}
		m.mu.Lock()
		for _, id := range ids {
			if m.delivered[id] == 0 {
				m.fromHistory[id] = true
			}
		}
		m.needHistory = false
		m.mu.Unlock()
	}
	complete := func(m *member) bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		for id := range wantByChannel[m.channel] {
			if m.delivered[id] == 0 && !m.fromHistory[id] {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(s.deliveryDeadline)
	for {
		done := true
		for _, m := range members {
			fill(m)
			done = done && complete(m)
		}
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Stored: every acknowledged message exactly once in history.
	stored, storedDup, storedMissing, storedExtra := 0, 0, 0, 0
	for ch, want := range wantByChannel {
		var token string
		for _, m := range members {
			if m.channel == ch {
				token = m.token
				break
			}
		}
		ids, err := s.history(ctx, token, ch)
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		seen := map[string]int{}
		for _, id := range ids {
			seen[id]++
		}
		for id, n := range seen {
			stored++
			if n > 1 {
				storedDup += n - 1
			}
			if !want[id] {
				storedExtra++
			}
		}
		for id := range want {
			if seen[id] == 0 {
				storedMissing++
			}
		}
	}

	// Delivered: every member got every message of its server exactly once.
	delivered, dups, gaps, reorders, viaHistory, reconnects := 0, 0, 0, 0, 0, 0
	for _, m := range members {
		m.mu.Lock()
		for id, n := range m.delivered {
			if wantByChannel[m.channel][id] {
				delivered++
			}
			if n > 1 {
				dups += n - 1
			}
		}
		for id := range wantByChannel[m.channel] {
			if m.delivered[id] == 0 {
				if m.fromHistory[id] {
					viaHistory++
				} else {
					gaps++
				}
			}
		}
		reorders += m.reorders
		reconnects += m.reconnects
		bad := false
		for id := range wantByChannel[m.channel] {
			if m.delivered[id] != 1 && !m.fromHistory[id] {
				bad = true
				t.Logf("%s: message %s delivered %d times", m.login, id, m.delivered[id])
			}
		}
		if bad {
			t.Logf("%s trace:\n%s", m.login, strings.Join(m.trace, "\n"))
		}
		m.mu.Unlock()
	}
	// Presence: with every socket held (those of the killed gateway moved
	// to the other one), every member is online as its server's owner sees it.
	platformtest.Eventually(t, 30*time.Second, func() bool {
		for _, m := range members {
			if !m.connected.Load() {
				return false
			}
		}
		return true
	}, "every socket to be connected again")
	offline := 0
	for sv := 0; sv < servers; sv++ {
		var ids []string
		for i := sv; i < clients; i += servers {
			ids = append(ids, members[i].id)
		}
		var res struct {
			Presences []struct {
				UserID string `json:"user_id"`
				Status string `json:"status"`
			} `json:"presences"`
		}
		if err := s.rest.At(s.gateways[1]).Do(ctx, "POST", "/v1/presence:batchGet", members[sv].token, map[string]any{"user_ids": ids}, &res); err != nil {
			t.Fatalf("presence: %v", err)
		}
		for _, p := range res.Presences {
			if p.Status != "STATUS_ONLINE" {
				offline++
			}
		}
		if len(res.Presences) != len(ids) {
			t.Errorf("presence answered %d of %d users", len(res.Presences), len(ids))
		}
	}
	stopListening()
	lwg.Wait()

	t.Logf("reliability: clients=%d servers=%d messages/client=%d", clients, servers, perClient)
	t.Logf("reliability: sent=%d attempts=%d acked=%d stored=%d stored-duplicates=%d stored-missing=%d stored-unacked=%d",
		total, attempts.Load(), acked.Load(), stored, storedDup, storedMissing, storedExtra)
	t.Logf("reliability: delivered=%d (expected %d) via-history=%d duplicates=%d gaps=%d reorders=%d reconnects=%d",
		delivered, expectedDeliveries(members, wantByChannel), viaHistory, dups, gaps, reorders, reconnects)
	sort.Strings(s.recovery)
	for _, r := range s.recovery {
		t.Logf("reliability: %s", r)
	}
	if stored != total || storedDup != 0 || storedMissing != 0 || storedExtra != 0 {
		t.Errorf("storage broke its promise: acked %d of %d, stored %d, duplicates %d, missing %d, unacknowledged %d",
			acked.Load(), total, stored, storedDup, storedMissing, storedExtra)
	}
	t.Logf("reliability: presence wrong for %d of %d connected clients", offline, clients)
	if offline != 0 {
		t.Errorf("%d connected clients not shown online", offline)
	}
	if dups != 0 || gaps != 0 || reorders != 0 {
		t.Errorf("delivery broke its promise: duplicates %d, gaps %d, reorders %d", dups, gaps, reorders)
	}
}

func expectedDeliveries(members []*member, want map[string]map[string]bool) int {
	n := 0
	for _, m := range members {
		n += len(want[m.channel])
	}
	return n
}
