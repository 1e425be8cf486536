package presence_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/presence"
	domain "github.com/accordchat/accord/services/presence/internal/presence"
)

// Short intervals so that expiry tests take well under a second.
const (
	testHeartbeat = 100 * time.Millisecond
	testExpiry    = 3 * testHeartbeat
	testSweep     = 50 * time.Millisecond
)

// testOptions has sessions that outlive any test unless shortened with
// withHeartbeat (testHeartbeat for the expiry tests): a loaded CI machine
// must not expire sessions that a test means to keep.
func testOptions(vis domain.Visibility) presence.Options {
	return presence.Options{
		HeartbeatInterval: time.Minute,
		ExpiryIntervals:   3,
		SweepInterval:     testSweep,
		VisibilityTTL:     100 * time.Millisecond,
		Visibility:        vis,
	}
}

// startShort runs an instance whose sessions expire after testExpiry.
func (f *fixture) startShort() *instance {
	return f.start(app.Deps{}, withHeartbeat(testOptions(f.vis), testHeartbeat))
}

// instance is one running presence service.
type instance struct {
	svc    *presence.Service
	client presencev1.PresenceServiceClient
}

// fixture is a test world: Redis namespace, keys, visibility rules and one
// or more presence instances sharing them.
type fixture struct {
	t   *testing.T
	env *platformtest.Env
	vis *domain.StaticVisibility
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{t: t, env: platformtest.New(t), vis: domain.NewStaticVisibility(true)}
}

// start runs an instance with deps d (the fixture's when zero) and options o.
func (f *fixture) start(d app.Deps, o presence.Options) *instance {
	f.t.Helper()
	if d.Redis == nil {
		d = f.env.Deps("presence")
	}
	svc, err := presence.NewService(context.Background(), d, o)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Run(ctx)
	}()
	f.t.Cleanup(func() { cancel(); <-done })
	conn := f.env.Serve(func(s *grpc.Server) { svc.Register(s) })
	return &instance{svc: svc, client: presencev1.NewPresenceServiceClient(conn)}
}

func (f *fixture) startDefault() *instance { return f.start(app.Deps{}, testOptions(f.vis)) }

// as returns a context calling as user uid.
func (f *fixture) as(uid string) context.Context { return f.env.Ctx(f.env.UserToken(uid)) }

func (in *instance) open(t *testing.T, ctx context.Context) string {
	t.Helper()
	r, err := in.client.OpenSession(ctx, &presencev1.OpenSessionRequest{Client: "web"})
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	return r.GetSessionId()
}

func (in *instance) close(t *testing.T, ctx context.Context, sid string) {
	t.Helper()
	if _, err := in.client.CloseSession(ctx, &presencev1.CloseSessionRequest{SessionId: sid}); err != nil {
		t.Fatalf("CloseSession: %v", err)
	}
}

func (in *instance) get(t *testing.T, ctx context.Context, ids ...string) []presencev1.Status {
	t.Helper()
	r, err := in.client.BatchGetPresence(ctx, &presencev1.BatchGetPresenceRequest{UserIds: ids})
	if err != nil {
		t.Fatalf("BatchGetPresence: %v", err)
	}
	out := make([]presencev1.Status, len(r.GetPresences()))
	for i, p := range r.GetPresences() {
		if p.GetUserId() != ids[i] {
			t.Fatalf("presence %d is of %s, want %s", i, p.GetUserId(), ids[i])
		}
		out[i] = p.GetStatus()
	}
	return out
}

func (in *instance) status(t *testing.T, ctx context.Context, id string) presencev1.Status {
	t.Helper()
	return in.get(t, ctx, id)[0]
}

// watch is a running WatchPresence stream whose messages are collected.
type watch struct {
	mu       sync.Mutex
	snapshot map[string]presencev1.Status
	events   []*presencev1.Presence
	current  map[string]presencev1.Status
	err      error
	done     chan struct{}
}

func (in *instance) watch(t *testing.T, ctx context.Context, ids ...string) *watch {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	s, err := in.client.WatchPresence(ctx, &presencev1.WatchPresenceRequest{UserIds: ids})
	if err != nil {
		t.Fatalf("WatchPresence: %v", err)
	}
	first, err := s.Recv()
	if err != nil {
		t.Fatalf("WatchPresence snapshot: %v", err)
	}
	if !first.GetSnapshot() {
		t.Fatal("first message is not the snapshot")
	}
	w := &watch{snapshot: map[string]presencev1.Status{}, current: map[string]presencev1.Status{}, done: make(chan struct{})}
	for _, p := range first.GetPresences() {
		w.snapshot[p.GetUserId()] = p.GetStatus()
		w.current[p.GetUserId()] = p.GetStatus()
	}
	go func() {
		defer close(w.done)
		for {
			m, err := s.Recv()
			w.mu.Lock()
			if err != nil {
				w.err = err
				w.mu.Unlock()
				return
			}
			for _, p := range m.GetPresences() {
				w.events = append(w.events, p)
				w.current[p.GetUserId()] = p.GetStatus()
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// statuses returns the statuses of the events about uid received so far.
func (w *watch) statuses(uid string) []presencev1.Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []presencev1.Status
	for _, e := range w.events {
		if e.GetUserId() == uid {
			out = append(out, e.GetStatus())
		}
	}
	return out
}

func (w *watch) now(uid string) presencev1.Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.current[uid]
}

func (w *watch) eventCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events)
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("got %v (%v), want %v", got, err, want)
	}
}

const (
	offline   = presencev1.Status_STATUS_OFFLINE
	online    = presencev1.Status_STATUS_ONLINE
	idle      = presencev1.Status_STATUS_IDLE
	dnd       = presencev1.Status_STATUS_DND
	invisible = presencev1.Status_STATUS_INVISIBLE
)

func TestTwoSessionsCloseOneStaysOnline(t *testing.T) {
	f := newFixture(t)
	in := f.startDefault()
	a, b := platformtest.NewID(), platformtest.NewID()
	actx, bctx := f.as(a), f.as(b)

	w := in.watch(t, bctx, a)
	if got := w.snapshot[a]; got != offline {
		t.Fatalf("snapshot: got %v, want offline", got)
	}
	s1 := in.open(t, actx)
	s2 := in.open(t, actx)
	platformtest.Eventually(t, 2*time.Second, func() bool { return w.now(a) == online }, "online event")

	// Keep both alive while we look, so expiry plays no part.
	hb := func(sid string) {
		if _, err := in.client.Heartbeat(actx, &presencev1.HeartbeatRequest{SessionId: sid}); err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
	}
	in.close(t, actx, s1)
	hb(s2)
	if got := in.status(t, bctx, a); got != online {
		t.Fatalf("after closing one of two sessions: got %v, want online", got)
	}
	in.close(t, actx, s2)
	if got := in.status(t, bctx, a); got != offline {
		t.Fatalf("after closing both: got %v, want offline", got)
	}
	platformtest.Eventually(t, 2*time.Second, func() bool { return w.now(a) == offline }, "offline event")
	if got := w.statuses(a); len(got) != 2 || got[0] != online || got[1] != offline {
		t.Fatalf("events: got %v, want [online offline]", got)
	}
	// Closing again is a harmless retry; heartbeating a closed session is not.
	in.close(t, actx, s2)
	_, err := in.client.Heartbeat(actx, &presencev1.HeartbeatRequest{SessionId: s2})
	wantCode(t, err, codes.NotFound)
}

func TestSessionWithoutHeartbeatsExpires(t *testing.T) {
	f := newFixture(t)
	// Two instances sweep the same sessions: the user must still be
	// announced offline exactly once.
	in1 := f.startShort()
	in2 := f.startShort()
	a, b := platformtest.NewID(), platformtest.NewID()
	actx, bctx := f.as(a), f.as(b)
	w := in2.watch(t, bctx, a)

	r, err := in1.client.OpenSession(actx, &presencev1.OpenSessionRequest{Client: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Now()
	if got, want := r.GetHeartbeatInterval().AsDuration(), testHeartbeat; got != want {
		t.Fatalf("heartbeat interval: got %v, want %v", got, want)
	}
	if d := r.GetExpireTime().AsTime().Sub(opened); d < testExpiry-50*time.Millisecond || d > testExpiry+time.Second {
		t.Fatalf("expire time %v after open, want about %v", d, testExpiry)
	}
	platformtest.Eventually(t, 2*time.Second, func() bool { return w.now(a) == online }, "online event")
	platformtest.Eventually(t, 5*time.Second, func() bool { return w.now(a) == offline }, "offline event")
	// Allow the sweep interval plus scheduling slack on a busy CI machine.
	if took, limit := time.Since(opened), testExpiry+testSweep+time.Second; took > limit {
		t.Fatalf("offline after %v, want within %v", took, limit)
	}
	if got := in1.status(t, bctx, a); got != offline {
		t.Fatalf("BatchGet: got %v, want offline", got)
	}
	// Give a second sweeper every chance to announce again.
	time.Sleep(3 * testSweep)
	if got := w.statuses(a); len(got) != 2 {
		t.Fatalf("events: got %v, want [online offline]", got)
	}
	_, err = in2.client.Heartbeat(actx, &presencev1.HeartbeatRequest{SessionId: r.GetSessionId()})
	wantCode(t, err, codes.NotFound)
}

func TestHeartbeatsKeepSessionAlive(t *testing.T) {
	f := newFixture(t)
	// Heartbeats every interval/3 with some room for a slow machine.
	const interval = 300 * time.Millisecond
	in := f.start(app.Deps{}, withHeartbeat(testOptions(f.vis), interval))
	a := platformtest.NewID()
	actx := f.as(a)
	sid := in.open(t, actx)
	end := time.Now().Add(2 * 3 * interval)
	for time.Now().Before(end) {
		r, err := in.client.Heartbeat(actx, &presencev1.HeartbeatRequest{SessionId: sid})
		if err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
		if !r.GetExpireTime().AsTime().After(time.Now()) {
			t.Fatal("expire time not in the future")
		}
		if got := in.status(t, actx, a); got != online {
			t.Fatalf("got %v, want online", got)
		}
		time.Sleep(interval / 3)
	}
}

func TestOnlyTheOwnerCanHeartbeatOrClose(t *testing.T) {
	f := newFixture(t)
	in := f.startDefault()
	a, b := platformtest.NewID(), platformtest.NewID()
	actx, bctx := f.as(a), f.as(b)
	sid := in.open(t, actx)

	_, err := in.client.Heartbeat(bctx, &presencev1.HeartbeatRequest{SessionId: sid})
	wantCode(t, err, codes.NotFound)
	_, err = in.client.CloseSession(bctx, &presencev1.CloseSessionRequest{SessionId: sid})
	wantCode(t, err, codes.NotFound)
	if got := in.status(t, bctx, a); got != online {
		t.Fatalf("a: got %v, want online", got)
	}
	if got := in.status(t, bctx, b); got != offline {
		t.Fatalf("b must not have gained a session: got %v", got)
	}
	if _, err := in.client.Heartbeat(actx, &presencev1.HeartbeatRequest{SessionId: sid}); err != nil {
		t.Fatalf("owner heartbeat: %v", err)
	}
	in.close(t, actx, sid)
	// Unknown session ids of the caller cannot be closed.
	_, err = in.client.CloseSession(bctx, &presencev1.CloseSessionRequest{SessionId: "AAAAAAAAAAAAAAAAAAAAAA"})
	wantCode(t, err, codes.NotFound)
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	in := f.startDefault()
	a := platformtest.NewID()
	actx := f.as(a)

	_, err := in.client.OpenSession(f.env.Ctx(""), &presencev1.OpenSessionRequest{})
	wantCode(t, err, codes.Unauthenticated)
	_, err = in.client.OpenSession(actx, &presencev1.OpenSessionRequest{Client: "Bad Client!"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = in.client.Heartbeat(actx, &presencev1.HeartbeatRequest{SessionId: "x"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = in.client.Heartbeat(actx, &presencev1.HeartbeatRequest{})
	wantCode(t, err, codes.InvalidArgument)
	_, err = in.client.CloseSession(actx, &presencev1.CloseSessionRequest{SessionId: "../../etc"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = in.client.SetStatus(actx, &presencev1.SetStatusRequest{Status: offline})
	wantCode(t, err, codes.InvalidArgument)
	_, err = in.client.BatchGetPresence(actx, &presencev1.BatchGetPresenceRequest{})
	wantCode(t, err, codes.InvalidArgument)
	_, err = in.client.BatchGetPresence(actx, &presencev1.BatchGetPresenceRequest{UserIds: []string{"nope"}})
	wantCode(t, err, codes.InvalidArgument)
	many := make([]string, 1001)
	for i := range many {
		many[i] = platformtest.NewID()
	}
	_, err = in.client.BatchGetPresence(actx, &presencev1.BatchGetPresenceRequest{UserIds: many})
	wantCode(t, err, codes.InvalidArgument)
	s, err := in.client.WatchPresence(actx, &presencev1.WatchPresenceRequest{UserIds: []string{"nope"}})
	if err == nil {
		_, err = s.Recv()
	}
	wantCode(t, err, codes.InvalidArgument)
	// Nothing changed.
	if got := in.status(t, actx, a); got != offline {
		t.Fatalf("got %v, want offline", got)
	}
}

func TestStatusAndInvisible(t *testing.T) {
	f := newFixture(t)
	in := f.startDefault()
	a, b := platformtest.NewID(), platformtest.NewID()
	actx, bctx := f.as(a), f.as(b)

	// The chosen status is kept while offline and applies once online.
	r, err := in.client.SetStatus(actx, &presencev1.SetStatusRequest{Status: invisible})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.GetPresence().GetStatus(); got != offline {
		t.Fatalf("SetStatus answer: got %v, want offline (as others see it)", got)
	}
	w := in.watch(t, bctx, a)
	self := in.watch(t, actx, a)
	sid := in.open(t, actx)
	platformtest.Eventually(t, 2*time.Second, func() bool { return self.now(a) == invisible }, "self sees invisible")
	if got := in.status(t, bctx, a); got != offline {
		t.Fatalf("others: got %v, want offline", got)
	}
	if got := in.status(t, actx, a); got != invisible {
		t.Fatalf("self: got %v, want invisible", got)
	}
	p, err := in.client.BatchGetPresence(bctx, &presencev1.BatchGetPresenceRequest{UserIds: []string{a}})
	if err != nil {
		t.Fatal(err)
	}
	if p.GetPresences()[0].GetUpdateTime() != nil {
		t.Fatal("an invisible user's update time leaks when they came online")
	}

	for _, st := range []presencev1.Status{dnd, idle, online} {
		r, err := in.client.SetStatus(actx, &presencev1.SetStatusRequest{Status: st})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.GetPresence().GetStatus(); got != st {
			t.Fatalf("SetStatus answer: got %v, want %v", got, st)
		}
		platformtest.Eventually(t, 2*time.Second, func() bool { return w.now(a) == st }, "watcher sees", st.String())
		if got := in.status(t, bctx, a); got != st {
			t.Fatalf("others: got %v, want %v", got, st)
		}
	}
	if got := w.statuses(a); len(got) != 3 {
		t.Fatalf("watcher events: got %v, want [dnd idle online] (nothing while invisible)", got)
	}
	// Going invisible while online looks like going offline to others.
	if _, err := in.client.SetStatus(actx, &presencev1.SetStatusRequest{Status: invisible}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 2*time.Second, func() bool { return w.now(a) == offline }, "invisible shown offline")
	in.close(t, actx, sid)
	// The status outlives the session.
	in.open(t, actx)
	if got := in.status(t, actx, a); got != invisible {
		t.Fatalf("self after new session: got %v, want invisible", got)
	}
}

func TestVisibility(t *testing.T) {
	f := newFixture(t)
	f.vis = domain.NewStaticVisibility(false)
	in := f.startDefault()
	a, friend, stranger := platformtest.NewID(), platformtest.NewID(), platformtest.NewID()
	f.vis.Allow(a, friend)
	actx, fctx, sctx := f.as(a), f.as(friend), f.as(stranger)

	wf := in.watch(t, fctx, a)
	ws := in.watch(t, sctx, a)
	in.open(t, actx)
	platformtest.Eventually(t, 2*time.Second, func() bool { return wf.now(a) == online }, "friend sees online")
	if got := in.status(t, sctx, a); got != offline {
		t.Fatalf("stranger: got %v, want offline", got)
	}
	// A user always sees themselves.
	if got := in.status(t, actx, a); got != online {
		t.Fatalf("self: got %v, want online", got)
	}

	// Blocking hides; the watcher learns it at its next visibility refresh.
	f.vis.Block(a, friend)
	if got := in.status(t, fctx, a); got != offline {
		t.Fatalf("blocked: got %v, want offline", got)
	}
	platformtest.Eventually(t, 2*time.Second, func() bool { return wf.now(a) == offline }, "block hides")
	// Becoming visible shows the current state without any change of a.
	f.vis.Allow(a, stranger)
	platformtest.Eventually(t, 2*time.Second, func() bool { return ws.now(a) == online }, "new friend sees online")
	if got := ws.statuses(a); len(got) != 1 {
		t.Fatalf("stranger-turned-friend events: got %v, want [online]", got)
	}
}

func TestConnectionLog(t *testing.T) {
	f := newFixture(t)
	in := f.startDefault()
	a, b := platformtest.NewID(), platformtest.NewID()
	s1 := in.open(t, f.as(a))
	s2 := in.open(t, f.as(a))
	s3 := in.open(t, f.as(b))

	ctx := context.Background()
	msgs, err := f.env.Redis.XRange(ctx, f.env.Prefix+events.Connections, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("stream has %d entries, want 3", len(msgs))
	}
	for i, want := range []struct{ user, session string }{{a, s1}, {a, s2}, {b, s3}} {
		// Read as the stats service reads it.
		e, err := events.DecodeConnection(msgs[i].Values)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if e.UserID != want.user || e.SessionID != want.session || e.Client != "web" {
			t.Fatalf("entry %d: got %+v, want user %s session %s client web", i, e, want.user, want.session)
		}
		if d := time.Since(e.Time); d < 0 || d > time.Minute {
			t.Fatalf("entry %d: time %v is not about now", i, e.Time)
		}
	}
	day := f.env.Prefix + "presence:{stats}:connections:" + time.Now().UTC().Format("20060102")
	for user, want := range map[string]float64{a: 2, b: 1} {
		got, err := f.env.Redis.ZScore(ctx, day, user).Result()
		if err != nil || got != want {
			t.Fatalf("day counter of %s: got %v (%v), want %v", user, got, err, want)
		}
	}
	if ttl := f.env.Redis.TTL(ctx, day).Val(); ttl <= 0 {
		t.Fatalf("day counter has no TTL (%v)", ttl)
	}
	// Every key of the service has a TTL except the self-emptying sets and
	// the trimmed stream.
	keys, err := f.env.Redis.Keys(ctx, f.env.Prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k == f.env.Prefix+events.Connections || k == f.env.Prefix+"presence:{stats}:expiry" {
			continue
		}
		if ttl := f.env.Redis.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %s has no TTL (%v)", k, ttl)
		}
	}
}

func TestWatchAcrossInstances(t *testing.T) {
	f := newFixture(t)
	in1 := f.startDefault()
	in2 := f.startDefault()
	a, b := platformtest.NewID(), platformtest.NewID()
	w := in2.watch(t, f.as(b), a, b)
	sid := in1.open(t, f.as(a))
	platformtest.Eventually(t, 2*time.Second, func() bool { return w.now(a) == online }, "online via the other instance")
	in1.close(t, f.as(a), sid)
	platformtest.Eventually(t, 2*time.Second, func() bool { return w.now(a) == offline }, "offline via the other instance")
	select {
	case <-w.done:
		t.Fatalf("watch ended: %v", w.err)
	default:
	}
}

func withHeartbeat(o presence.Options, d time.Duration) presence.Options {
	o.HeartbeatInterval = d
	return o
}

func TestLateHeartbeatEndsExpiredSession(t *testing.T) {
	f := newFixture(t)
	o := withHeartbeat(testOptions(f.vis), testHeartbeat)
	o.SweepInterval = time.Hour // no sweeper: the heartbeat itself must notice
	in := f.start(app.Deps{}, o)
	a, b := platformtest.NewID(), platformtest.NewID()
	actx, bctx := f.as(a), f.as(b)
	w := in.watch(t, bctx, a)
	sid := in.open(t, actx)
	platformtest.Eventually(t, 2*time.Second, func() bool { return w.now(a) == online }, "online")
	// Readers see the expiry at once, before anyone announced it.
	platformtest.Eventually(t, 2*time.Second, func() bool { return in.status(t, bctx, a) == offline }, "expired reads offline")
	_, err := in.client.Heartbeat(actx, &presencev1.HeartbeatRequest{SessionId: sid})
	wantCode(t, err, codes.NotFound)
	platformtest.Eventually(t, 2*time.Second, func() bool { return w.now(a) == offline }, "offline announced")
	// The client opens a new session as told.
	in.open(t, actx)
	platformtest.Eventually(t, 2*time.Second, func() bool { return w.now(a) == online }, "online again")
}

func TestSlowWatcherIsDropped(t *testing.T) {
	f := newFixture(t)
	o := testOptions(f.vis)
	o.WatchQueue = 1
	in := f.start(app.Deps{}, o)
	a, b := platformtest.NewID(), platformtest.NewID()
	w := in.watch(t, f.as(b), a)
	// A burst of changes of a, far faster than one stream can take them
	// with a queue of one.
	pipe := f.env.Redis.Pipeline()
	for i := 1; i <= 2000; i++ {
		pipe.Publish(context.Background(), f.env.Prefix+"presence:{stats}:changes",
			fmt.Sprintf("%s|%d|2|%d|%d|%d|0", a, i%2, i, i, i))
	}
	if _, err := pipe.Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("slow watcher not dropped")
	}
	wantCode(t, w.err, codes.ResourceExhausted)
	// The instance serves new watches as before.
	w2 := in.watch(t, f.as(b), a)
	if got := w2.snapshot[a]; got != offline {
		t.Fatalf("snapshot: got %v", got)
	}
}
