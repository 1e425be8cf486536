package stats

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/servertest"
	"github.com/accordchat/accord/services/stats/internal/peers"
	statsredis "github.com/accordchat/accord/services/stats/internal/redis"
	"github.com/accordchat/accord/services/stats/internal/reports"
)

// fakeRoles is the server service's answer, in memory.
type fakeRoles struct {
	mu    sync.Mutex
	roles map[string]reports.Role // "<server>/<user>"
}

func (f *fakeRoles) MemberRole(_ context.Context, serverID, userID string) (reports.Role, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.roles[serverID+"/"+userID], nil
}

// fakeNames is the user service's answer, in memory.
type fakeNames map[string]string

func (f fakeNames) DisplayNames(_ context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if n, ok := f[id]; ok {
			out[id] = n
		}
	}
	return out, nil
}

type message struct {
	id                    string
	user, server, channel string
	created               time.Time
}

type fixture struct {
	t      *testing.T
	env    *platformtest.Env
	server *servertest.Server
	opts   options // the service's peers and clock
	svc    *Service
	client statsv1.StatsServiceClient
	now    time.Time
	roles  *fakeRoles
	names  fakeNames

	// The seeded world.
	alice, bob, carol, dave, eve string
	general, gaming, dm          string
	msgs                         []message
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := platformtest.New(t)
	f := &fixture{
		t: t, env: env,
		// Mid-day, so that "an hour ago" and "today" agree.
		now:   reports.DayStart(time.Now()).Add(12*time.Hour + 30*time.Minute),
		alice: platformtest.NewID(), bob: platformtest.NewID(), carol: platformtest.NewID(),
		dave: platformtest.NewID(), eve: platformtest.NewID(),
		general: servertest.NewID(), gaming: servertest.NewID(), dm: servertest.NewID(),
	}
	f.names = fakeNames{f.alice: "Alice", f.bob: "Bob", f.carol: "Carol <&> \"C\"", f.dave: "Dave", f.eve: "Eve"}
	f.roles = &fakeRoles{roles: map[string]reports.Role{
		f.general + "/" + f.alice: reports.RoleOwner,
		f.general + "/" + f.bob:   reports.RoleAdmin,
		f.general + "/" + f.carol: reports.RoleMember,
		f.gaming + "/" + f.carol:  reports.RoleOwner,
	}}
	f.server = servertest.Start(t, env)
	for _, s := range []struct{ id, name, kind string }{
		{f.general, "General", "guild"}, {f.gaming, "Gaming & <Co>", "guild"}, {f.dm, "", "dm"},
	} {
		f.server.AddServer(s.id, s.name, s.kind)
	}
	d := env.Deps("stats")
	f.opts = options{
		roles: f.roles, names: f.names, server: peers.NewServerData(f.server.Conn, d.ServiceCreds), now: func() time.Time { return f.now },
	}
	svc, err := newService(context.Background(), d, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	f.startConsumer(svc)
	f.client = statsv1.NewStatsServiceClient(env.Serve(func(s *grpc.Server) { svc.Register(s) }))
	return f
}

func (f *fixture) startConsumer(svc *Service) {
	svc.consumer.Block = 50 * time.Millisecond
	svc.consumer.ClaimIdle = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Run(ctx)
	}()
	f.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// send stores n messages and appends their activity entries.
func (f *fixture) send(user, server string, ago time.Duration, n int) {
	f.t.Helper()
	for range n {
		created := f.now.Add(-ago).Truncate(time.Millisecond)
		m := message{user: user, server: server, channel: platformtest.NewID(), created: created}
		m.id = f.server.AddMessage("", user, server, m.channel, created)
		f.activity(statsredis.KindMessageCreated, m)
		f.msgs = append(f.msgs, m)
	}
}

func (f *fixture) activity(kind string, m message) {
	f.t.Helper()
	err := events.AppendActivity(context.Background(), f.env.Redis, f.env.Keys, events.ActivityEntry{
		Kind: kind, UserID: m.user, ServerID: m.server, ChannelID: m.channel, MessageID: m.id, Time: m.created,
	}, 100_000)
	if err != nil {
		f.t.Fatal(err)
	}
}

// remove deletes a stored message and appends its deletion entry.
func (f *fixture) remove(m message) {
	f.t.Helper()
	f.server.DeleteMessage(m.id)
	f.activity(statsredis.KindMessageDeleted, m)
}

// connect appends n presence sessions of user.
func (f *fixture) connect(user string, ago time.Duration, n int) {
	f.t.Helper()
	for range n {
		err := f.env.Redis.XAdd(context.Background(), &redis.XAddArgs{
			Stream: f.env.Prefix + events.Connections,
			Values: []any{"user_id", user, "session_id", platformtest.RandomHex(8), "client", "web", "ts", f.now.Add(-ago).UnixMilli()},
		}).Err()
		if err != nil {
			f.t.Fatal(err)
		}
	}
}

// drained waits until the consumer group has read and acknowledged every
// entry of both streams.
func (f *fixture) drained() {
	f.t.Helper()
	ctx := context.Background()
	platformtest.Eventually(f.t, 10*time.Second, func() bool {
		for _, s := range []string{events.Activity, events.Connections} {
			key := f.env.Prefix + s
			last, err := f.env.Redis.XRevRangeN(ctx, key, "+", "-", 1).Result()
			if err != nil || len(last) == 0 {
				continue
			}
			groups, err := f.env.Redis.XInfoGroups(ctx, key).Result()
			if err != nil || len(groups) == 0 {
				return false
			}
			if groups[0].Pending != 0 || groups[0].LastDeliveredID != last[0].ID {
				return false
			}
		}
		return true
	}, "the consumer to count every entry")
}

// seed writes the standard dataset (see the expectations in the tests).
func (f *fixture) seed() {
	h, d := time.Hour, 24*time.Hour
	f.send(f.alice, f.general, 1*h, 5)
	f.send(f.alice, f.general, 26*h, 2)
	f.send(f.alice, f.general, 10*d, 4)
	f.send(f.alice, f.general, 40*d, 1)
	f.send(f.alice, f.dm, 1*h, 7)
	f.send(f.bob, f.general, 2*h, 3)
	f.send(f.bob, f.general, 3*d, 3)
	f.send(f.bob, f.gaming, 5*h, 2)
	f.send(f.carol, f.gaming, 30*time.Minute, 1)
	f.send(f.carol, f.gaming, 8*d, 6)
	f.connect(f.eve, 1*h, 3)
	f.connect(f.eve, 2*d, 2)
	f.connect(f.alice, 3*h, 1)
	f.connect(f.bob, 20*d, 4)
	f.drained()
}

func (f *fixture) ctx(user string) context.Context { return f.env.Ctx(f.env.UserToken(user)) }
func (f *fixture) op() context.Context             { return f.env.Ctx(f.env.OperatorToken(f.dave)) }

type row struct {
	name  string
	count int64
}

func userRows(t *testing.T, res *statsv1.GetTopUsersResponse, err error) []row {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var out []row
	for _, r := range res.GetRows() {
		out = append(out, row{r.GetDisplayName(), r.GetCount()})
	}
	return out
}

func equalRows(t *testing.T, what string, got, want []row) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func TestReports(t *testing.T) {
	f := newFixture(t)
	f.seed()
	op := f.op()
	M, C := statsv1.Metric_METRIC_MESSAGES, statsv1.Metric_METRIC_CONNECTIONS
	D, W, Mo, A := statsv1.Window_WINDOW_DAY, statsv1.Window_WINDOW_WEEK, statsv1.Window_WINDOW_MONTH, statsv1.Window_WINDOW_ALL

	t.Run("top users", func(t *testing.T) {
		for _, tc := range []struct {
			metric statsv1.Metric
			window statsv1.Window
			server string
			want   []row
		}{
			// Alice's DM messages count for her; yesterday 10:30 is outside the last 24 hours.
			{M, D, "", []row{{"Alice", 12}, {"Bob", 5}, {"Carol <&> \"C\"", 1}}},
			{M, W, "", []row{{"Alice", 14}, {"Bob", 8}, {"Carol <&> \"C\"", 1}}},
			{M, statsv1.Window_WINDOW_UNSPECIFIED, "", []row{{"Alice", 14}, {"Bob", 8}, {"Carol <&> \"C\"", 1}}},
			{M, Mo, "", []row{{"Alice", 18}, {"Bob", 8}, {"Carol <&> \"C\"", 7}}},
			{M, A, "", []row{{"Alice", 19}, {"Bob", 8}, {"Carol <&> \"C\"", 7}}},
			{C, D, "", []row{{"Eve", 3}, {"Alice", 1}}},
			{C, W, "", []row{{"Eve", 5}, {"Alice", 1}}},
			{C, Mo, "", []row{{"Eve", 5}, {"Bob", 4}, {"Alice", 1}}},
			{M, W, f.general, []row{{"Alice", 7}, {"Bob", 6}}},
			{M, A, f.general, []row{{"Alice", 12}, {"Bob", 6}}},
			{M, A, f.gaming, []row{{"Carol <&> \"C\"", 7}, {"Bob", 2}}},
		} {
			res, err := f.client.GetTopUsers(op, &statsv1.GetTopUsersRequest{Metric: tc.metric, Window: tc.window, ServerId: tc.server})
			equalRows(t, fmt.Sprintf("%v %v %q", tc.metric, tc.window, tc.server), userRows(t, res, err), tc.want)
		}
		res, err := f.client.GetTopUsers(op, &statsv1.GetTopUsersRequest{Metric: M, Window: A, Limit: 1})
		equalRows(t, "limit 1", userRows(t, res, err), []row{{"Alice", 19}})
		if res.GetRows()[0].GetUserId() != f.alice {
			t.Errorf("user id %q, want %q", res.GetRows()[0].GetUserId(), f.alice)
		}
	})

	t.Run("top servers leave out conversations", func(t *testing.T) {
		for _, tc := range []struct {
			window statsv1.Window
			want   []row
		}{
			{D, []row{{"General", 8}, {"Gaming & <Co>", 3}}},
			{W, []row{{"General", 13}, {"Gaming & <Co>", 3}}},
			{A, []row{{"General", 18}, {"Gaming & <Co>", 9}}},
		} {
			res, err := f.client.GetTopServers(op, &statsv1.GetTopServersRequest{Window: tc.window})
			if err != nil {
				t.Fatal(err)
			}
			var got []row
			for _, r := range res.GetRows() {
				got = append(got, row{r.GetName(), r.GetCount()})
			}
			equalRows(t, tc.window.String(), got, tc.want)
		}
	})

	t.Run("activity", func(t *testing.T) {
		today := reports.DayStart(f.now)
		series := func(req *statsv1.GetActivityRequest) map[time.Time]int64 {
			t.Helper()
			res, err := f.client.GetActivity(op, req)
			if err != nil {
				t.Fatal(err)
			}
			out := map[time.Time]int64{}
			var prev time.Time
			for i, p := range res.GetPoints() {
				at := p.GetStartTime().AsTime()
				if i > 0 && !at.After(prev) {
					t.Fatalf("points out of order at %d", i)
				}
				prev = at
				if p.GetCount() != 0 {
					out[at] = p.GetCount()
				}
			}
			if n := len(res.GetPoints()); req.GetWindow() == W && req.GetGranularity() != statsv1.Granularity_GRANULARITY_HOUR && n != 7 {
				t.Errorf("week has %d daily points, want 7", n)
			}
			return out
		}
		day := func(n int) time.Time { return today.AddDate(0, 0, -n) }
		hour := func(h int) time.Time { return today.Add(time.Duration(h) * time.Hour) }
		for _, tc := range []struct {
			name string
			req  *statsv1.GetActivityRequest
			want map[time.Time]int64
		}{
			{"messages per day", &statsv1.GetActivityRequest{Metric: M, Window: W},
				map[time.Time]int64{day(0): 18, day(1): 2, day(3): 3}},
			{"messages per day, month", &statsv1.GetActivityRequest{Metric: M, Window: Mo},
				map[time.Time]int64{day(0): 18, day(1): 2, day(3): 3, day(8): 6, day(10): 4}},
			{"messages per day, all", &statsv1.GetActivityRequest{Metric: M, Window: A},
				map[time.Time]int64{day(0): 18, day(1): 2, day(3): 3, day(8): 6, day(10): 4, day(40): 1}},
			{"messages per hour", &statsv1.GetActivityRequest{Metric: M, Window: D, Granularity: statsv1.Granularity_GRANULARITY_HOUR},
				map[time.Time]int64{hour(12): 1, hour(11): 12, hour(10): 3, hour(7): 2}},
			{"one server per day", &statsv1.GetActivityRequest{Metric: M, Window: W, ServerId: f.general},
				map[time.Time]int64{day(0): 8, day(1): 2, day(3): 3}},
			{"one user per day", &statsv1.GetActivityRequest{Metric: M, Window: Mo, UserId: f.alice},
				map[time.Time]int64{day(0): 12, day(1): 2, day(10): 4}},
			{"one user in one server", &statsv1.GetActivityRequest{Metric: M, Window: W, ServerId: f.general, UserId: f.bob},
				map[time.Time]int64{day(0): 3, day(3): 3}},
			{"connections per day", &statsv1.GetActivityRequest{Metric: C, Window: Mo},
				map[time.Time]int64{day(0): 4, day(2): 2, day(20): 4}},
			{"connections of one user per hour", &statsv1.GetActivityRequest{Metric: C, Window: W, UserId: f.eve, Granularity: statsv1.Granularity_GRANULARITY_HOUR},
				map[time.Time]int64{hour(11): 3, hour(12 - 48): 2}},
		} {
			if got := series(tc.req); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
		res, err := f.client.GetActivity(op, &statsv1.GetActivityRequest{Metric: M, Window: D, Granularity: statsv1.Granularity_GRANULARITY_HOUR})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(res.GetPoints()); n != 24 {
			t.Errorf("last 24 hours has %d hourly points, want 24", n)
		}
	})
}

// snapshot reads every report (as an operator).
func (f *fixture) snapshot() map[string]proto.Message {
	f.t.Helper()
	op := f.op()
	out := map[string]proto.Message{}
	check := func(k string, m proto.Message, err error) {
		f.t.Helper()
		if err != nil {
			f.t.Fatalf("%s: %v", k, err)
		}
		out[k] = m
	}
	windows := []statsv1.Window{statsv1.Window_WINDOW_DAY, statsv1.Window_WINDOW_WEEK, statsv1.Window_WINDOW_MONTH, statsv1.Window_WINDOW_ALL}
	for _, w := range windows {
		for _, m := range []statsv1.Metric{statsv1.Metric_METRIC_MESSAGES, statsv1.Metric_METRIC_CONNECTIONS} {
			r, err := f.client.GetTopUsers(op, &statsv1.GetTopUsersRequest{Metric: m, Window: w, Limit: 100})
			check(fmt.Sprint("top users ", m, w), r, err)
			for _, g := range []statsv1.Granularity{statsv1.Granularity_GRANULARITY_DAY, statsv1.Granularity_GRANULARITY_HOUR} {
				if g == statsv1.Granularity_GRANULARITY_HOUR && !reports.HourlyAllowed(windowOfTest(w)) {
					continue
				}
				a, err := f.client.GetActivity(op, &statsv1.GetActivityRequest{Metric: m, Window: w, Granularity: g})
				check(fmt.Sprint("activity ", m, w, g), a, err)
				for _, u := range []string{f.alice, f.bob, f.carol, f.eve} {
					a, err := f.client.GetActivity(op, &statsv1.GetActivityRequest{Metric: m, Window: w, Granularity: g, UserId: u})
					check(fmt.Sprint("activity ", m, w, g, u), a, err)
				}
			}
		}
		for _, s := range []string{f.general, f.gaming, f.dm} {
			r, err := f.client.GetTopUsers(op, &statsv1.GetTopUsersRequest{Metric: statsv1.Metric_METRIC_MESSAGES, Window: w, ServerId: s, Limit: 100})
			check(fmt.Sprint("top users in ", s, w), r, err)
			a, err := f.client.GetActivity(op, &statsv1.GetActivityRequest{Metric: statsv1.Metric_METRIC_MESSAGES, Window: w, ServerId: s})
			check(fmt.Sprint("activity in ", s, w), a, err)
		}
		r, err := f.client.GetTopServers(op, &statsv1.GetTopServersRequest{Window: w, Limit: 100})
		check(fmt.Sprint("top servers ", w), r, err)
	}
	return out
}

func windowOfTest(w statsv1.Window) reports.Window {
	switch w {
	case statsv1.Window_WINDOW_DAY:
		return reports.Day
	case statsv1.Window_WINDOW_MONTH:
		return reports.Month
	case statsv1.Window_WINDOW_ALL:
		return reports.All
	}
	return reports.Week
}

func sameSnapshots(t *testing.T, got, want map[string]proto.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("snapshot sizes %d and %d", len(got), len(want))
	}
	for k, w := range want {
		if !proto.Equal(got[k], w) {
			t.Errorf("%s:\n got %v\nwant %v", k, got[k], w)
		}
	}
}

func TestRebuildAgreesWithCounters(t *testing.T) {
	f := newFixture(t)
	f.seed()
	// Reading every report materializes the multi-bucket windows; what
	// follows must keep them right incrementally.
	f.snapshot()
	if keys, _ := f.env.Redis.Keys(context.Background(), f.env.Prefix+"stats:{stats}:v*:mu:w7:*").Result(); len(keys) != 1 {
		t.Fatalf("materialized week windows: %v", keys)
	}
	// A deletion takes the message off its creation day's counts.
	f.remove(f.msgs[0]) // one of Alice's five in General, an hour ago
	f.send(f.eve, f.gaming, 20*time.Hour, 2)
	f.send(f.eve, f.gaming, 5*24*time.Hour, 1)
	f.send(f.eve, f.general, 20*24*time.Hour, 1)
	f.send(f.eve, f.general, 50*24*time.Hour, 1)
	f.connect(f.carol, 2*time.Hour, 1)
	f.drained()
	res, err := f.client.GetTopUsers(f.op(), &statsv1.GetTopUsersRequest{Metric: statsv1.Metric_METRIC_MESSAGES, Window: statsv1.Window_WINDOW_DAY})
	equalRows(t, "after a deletion", userRows(t, res, err), []row{{"Alice", 11}, {"Bob", 5}, {"Eve", 2}, {"Carol <&> \"C\"", 1}})

	live := f.snapshot()
	rb, err := f.client.RebuildCounters(f.op(), &statsv1.RebuildCountersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if rb.GetMessages() != 38 || rb.GetConnections() != 11 {
		t.Errorf("rebuild counted %d messages and %d connections, want 38 and 11", rb.GetMessages(), rb.GetConnections())
	}
	sameSnapshots(t, f.snapshot(), live)

	t.Run("rebuild repairs damaged counters", func(t *testing.T) {
		ctx := context.Background()
		keys, err := f.env.Redis.Keys(ctx, f.env.Prefix+"stats:{stats}:v*").Result()
		if err != nil || len(keys) == 0 {
			t.Fatalf("counter keys: %v %v", keys, err)
		}
		// Lose half the counters and double a ranking.
		for i, k := range keys {
			if i%2 == 0 {
				f.env.Redis.Del(ctx, k)
			}
		}
		if _, err := f.client.RebuildCounters(f.op(), &statsv1.RebuildCountersRequest{}); err != nil {
			t.Fatal(err)
		}
		sameSnapshots(t, f.snapshot(), live)
		// Only the current generation remains.
		gen, _ := f.env.Redis.Get(ctx, f.env.Prefix+"stats:{stats}:cur").Result()
		after, _ := f.env.Redis.Keys(ctx, f.env.Prefix+"stats:{stats}:v*").Result()
		for _, k := range after {
			if !strings.HasPrefix(k, f.env.Prefix+"stats:{stats}:v"+gen+":") {
				t.Errorf("stale counter key %s (generation %s)", k, gen)
			}
		}
	})

	t.Run("live counting continues after a rebuild", func(t *testing.T) {
		f.send(f.carol, f.gaming, time.Minute, 2)
		f.drained()
		res, err := f.client.GetTopServers(f.op(), &statsv1.GetTopServersRequest{Window: statsv1.Window_WINDOW_ALL})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.GetRows()[1]; got.GetName() != "Gaming & <Co>" || got.GetCount() != 14 {
			t.Errorf("got %v, want Gaming & <Co> with 14", got)
		}
		live := f.snapshot()
		if _, err := f.client.RebuildCounters(f.op(), &statsv1.RebuildCountersRequest{}); err != nil {
			t.Fatal(err)
		}
		sameSnapshots(t, f.snapshot(), live)
	})
}

func TestConcurrentActivity(t *testing.T) {
	f := newFixture(t)
	// A second replica shares the work through the consumer group.
	other, err := newService(context.Background(), f.env.Deps("stats"), f.opts)
	if err != nil {
		t.Fatal(err)
	}
	f.startConsumer(other)

	users := []string{f.alice, f.bob, f.carol, f.dave, f.eve}
	const perWriter = 40
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			ctx := context.Background()
			add := func(kind string, id string, created time.Time) {
				err := events.AppendActivity(ctx, f.env.Redis, f.env.Keys, events.ActivityEntry{
					Kind: kind, UserID: u, ServerID: f.general, MessageID: id, Time: created,
				}, 100_000)
				if err != nil {
					t.Error(err)
				}
			}
			// Of every four messages, one is deleted again and one is
			// deleted with the deletion seen first (as replicas may
			// apply them): half of them count.
			for j := range perWriter {
				created := f.now.Add(-time.Duration(j) * time.Hour)
				id := platformtest.NewID()
				if j%4 == 1 {
					add(statsredis.KindMessageDeleted, id, created)
				}
				add(statsredis.KindMessageCreated, id, created)
				if j%4 == 0 {
					add(statsredis.KindMessageDeleted, id, created)
				}
			}
		})
	}
	wg.Wait()
	f.drained()
	res, err := f.client.GetTopUsers(f.op(), &statsv1.GetTopUsersRequest{Metric: statsv1.Metric_METRIC_MESSAGES, Window: statsv1.Window_WINDOW_ALL, Limit: 10})
	rows := userRows(t, res, err)
	if len(rows) != len(users) {
		t.Fatalf("got %d rows, want %d", len(rows), len(users))
	}
	for _, r := range rows {
		if r.count != perWriter/2 {
			t.Errorf("%s: %d, want %d", r.name, r.count, perWriter/2)
		}
	}
	srv, err := f.client.GetTopServers(f.op(), &statsv1.GetTopServersRequest{Window: statsv1.Window_WINDOW_ALL})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.GetRows()[0].GetCount(); got != int64(len(users)*perWriter/2) {
		t.Errorf("General: %d, want %d", got, len(users)*perWriter/2)
	}
}

func TestMalformedEntriesAreSkipped(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, v := range [][]any{
		{"kind", "message_exploded", "user_id", f.alice, "server_id", f.general, "ts", f.now.UnixMilli()},
		{"kind", "message_created", "user_id", f.alice, "server_id", f.general, "ts", "yesterday"},
		{"kind", "message_created", "server_id", f.general, "ts", f.now.UnixMilli()},
	} {
		if err := f.env.Redis.XAdd(ctx, &redis.XAddArgs{Stream: f.env.Prefix + events.Activity, Values: v}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.env.Redis.XAdd(ctx, &redis.XAddArgs{Stream: f.env.Prefix + events.Connections, Values: []any{"user_id", f.eve, "ts", "0"}}).Err(); err != nil {
		t.Fatal(err)
	}
	f.send(f.bob, f.general, time.Hour, 1)
	f.drained()
	res, err := f.client.GetTopUsers(f.op(), &statsv1.GetTopUsersRequest{Metric: statsv1.Metric_METRIC_MESSAGES, Window: statsv1.Window_WINDOW_ALL})
	equalRows(t, "top users", userRows(t, res, err), []row{{"Bob", 1}})
}

func TestPermissions(t *testing.T) {
	f := newFixture(t)
	f.seed()
	M := statsv1.Metric_METRIC_MESSAGES
	topGlobal := &statsv1.GetTopUsersRequest{Metric: M}
	topGeneral := &statsv1.GetTopUsersRequest{Metric: M, ServerId: f.general}
	topUnknown := &statsv1.GetTopUsersRequest{Metric: M, ServerId: platformtest.NewID()}
	own := func(u string) *statsv1.GetActivityRequest { return &statsv1.GetActivityRequest{Metric: M, UserId: u} }
	inGeneral := func(u string) *statsv1.GetActivityRequest {
		return &statsv1.GetActivityRequest{Metric: M, ServerId: f.general, UserId: u}
	}
	anon := f.env.Ctx("")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		call func(ctx context.Context) error
		want codes.Code
	}{
		{"operator sees global users", f.op(), func(ctx context.Context) error { _, err := f.client.GetTopUsers(ctx, topGlobal); return err }, codes.OK},
		{"user cannot see global users", f.ctx(f.alice), func(ctx context.Context) error { _, err := f.client.GetTopUsers(ctx, topGlobal); return err }, codes.PermissionDenied},
		{"no token", anon, func(ctx context.Context) error { _, err := f.client.GetTopUsers(ctx, topGlobal); return err }, codes.Unauthenticated},
		{"owner sees server", f.ctx(f.alice), func(ctx context.Context) error { _, err := f.client.GetTopUsers(ctx, topGeneral); return err }, codes.OK},
		{"admin sees server", f.ctx(f.bob), func(ctx context.Context) error { _, err := f.client.GetTopUsers(ctx, topGeneral); return err }, codes.OK},
		{"member cannot see server", f.ctx(f.carol), func(ctx context.Context) error { _, err := f.client.GetTopUsers(ctx, topGeneral); return err }, codes.PermissionDenied},
		{"outsider cannot see server", f.ctx(f.eve), func(ctx context.Context) error { _, err := f.client.GetTopUsers(ctx, topGeneral); return err }, codes.PermissionDenied},
		{"unknown server looks the same", f.ctx(f.eve), func(ctx context.Context) error { _, err := f.client.GetTopUsers(ctx, topUnknown); return err }, codes.PermissionDenied},
		{"operator sees servers", f.op(), func(ctx context.Context) error {
			_, err := f.client.GetTopServers(ctx, &statsv1.GetTopServersRequest{})
			return err
		}, codes.OK},
		{"user cannot see servers", f.ctx(f.alice), func(ctx context.Context) error {
			_, err := f.client.GetTopServers(ctx, &statsv1.GetTopServersRequest{})
			return err
		}, codes.PermissionDenied},
		{"own activity", f.ctx(f.carol), func(ctx context.Context) error { _, err := f.client.GetActivity(ctx, own(f.carol)); return err }, codes.OK},
		{"own activity in a server", f.ctx(f.carol), func(ctx context.Context) error { _, err := f.client.GetActivity(ctx, inGeneral(f.carol)); return err }, codes.OK},
		{"someone else's activity", f.ctx(f.carol), func(ctx context.Context) error { _, err := f.client.GetActivity(ctx, own(f.bob)); return err }, codes.PermissionDenied},
		{"a member's activity in own server", f.ctx(f.alice), func(ctx context.Context) error { _, err := f.client.GetActivity(ctx, inGeneral(f.carol)); return err }, codes.OK},
		{"global activity", f.ctx(f.alice), func(ctx context.Context) error {
			_, err := f.client.GetActivity(ctx, &statsv1.GetActivityRequest{Metric: M})
			return err
		}, codes.PermissionDenied},
		{"chart of someone else", f.ctx(f.carol), func(ctx context.Context) error {
			_, err := f.client.GetChart(ctx, &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_ACTIVITY, Metric: M, UserId: f.bob})
			return err
		}, codes.PermissionDenied},
		{"own chart", f.ctx(f.carol), func(ctx context.Context) error {
			_, err := f.client.GetChart(ctx, &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_ACTIVITY, Metric: M, UserId: f.carol})
			return err
		}, codes.OK},
		{"user cannot rebuild", f.ctx(f.alice), func(ctx context.Context) error {
			_, err := f.client.RebuildCounters(ctx, &statsv1.RebuildCountersRequest{})
			return err
		}, codes.PermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := status.Code(tc.call(tc.ctx)); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("admin's server report has its numbers", func(t *testing.T) {
		res, err := f.client.GetTopUsers(f.ctx(f.bob), topGeneral)
		equalRows(t, "top users", userRows(t, res, err), []row{{"Alice", 7}, {"Bob", 6}})
	})
}

// svgText parses an SVG document and returns its text content; it fails
// the test when the document is not well-formed XML.
func svgText(t *testing.T, data []byte) string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(data)))
	var text strings.Builder
	root := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, data)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Space + " " + tok.Name.Local
			}
		case xml.CharData:
			text.Write(tok)
			text.WriteString("\n")
		}
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Fatalf("root element %q", root)
	}
	return text.String()
}

func TestCharts(t *testing.T) {
	f := newFixture(t)
	f.seed()
	M := statsv1.Metric_METRIC_MESSAGES
	for _, tc := range []struct {
		name string
		req  *statsv1.GetChartRequest
		want []string
	}{
		{"top users", &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_TOP_USERS, Metric: M, Window: statsv1.Window_WINDOW_ALL},
			[]string{"Top users by messages, all time", "Alice", "Bob", "Carol <&> \"C\"", "19", "messages", "user"}},
		{"top users of a server", &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_TOP_USERS, Metric: M, ServerId: f.gaming},
			[]string{"Top users by messages, last 7 days in Gaming & <Co>", "Bob"}},
		{"top servers", &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_TOP_SERVERS, Window: statsv1.Window_WINDOW_ALL},
			[]string{"Busiest servers by messages, all time", "General", "Gaming & <Co>", "18", "server"}},
		{"activity", &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_ACTIVITY, Metric: statsv1.Metric_METRIC_CONNECTIONS, Window: statsv1.Window_WINDOW_MONTH, UserId: f.eve},
			[]string{"Connections per day, last 30 days by Eve", "day (UTC)", "connections", reports.DayStart(f.now).Format("Jan 2")}},
		{"hourly activity", &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_ACTIVITY, Metric: M, Window: statsv1.Window_WINDOW_DAY, Granularity: statsv1.Granularity_GRANULARITY_HOUR},
			[]string{"Messages per hour, last 24 hours", "hour (UTC)", f.now.Format("Jan 2 15h")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.client.GetChart(f.op(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if res.GetContentType() != "image/svg+xml" {
				t.Errorf("content type %q", res.GetContentType())
			}
			text := svgText(t, res.GetData())
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("chart lacks %q:\n%s", w, text)
				}
			}
		})
	}
	t.Run("empty chart", func(t *testing.T) {
		res, err := f.client.GetChart(f.op(), &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_TOP_USERS, Metric: M, ServerId: platformtest.NewID(), Window: statsv1.Window_WINDOW_DAY})
		if err != nil {
			t.Fatal(err)
		}
		if text := svgText(t, res.GetData()); !strings.Contains(text, "no data") {
			t.Errorf("empty chart says:\n%s", text)
		}
	})
}

func badField(t *testing.T, err error) string {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("got %v, want INVALID_ARGUMENT", err)
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetField()
		}
	}
	t.Fatalf("no field violation in %v", err)
	return ""
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	op := f.op()
	M, C := statsv1.Metric_METRIC_MESSAGES, statsv1.Metric_METRIC_CONNECTIONS
	for _, tc := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"no metric", func() error { _, err := f.client.GetTopUsers(op, &statsv1.GetTopUsersRequest{}); return err }, "metric"},
		{"unknown metric", func() error { _, err := f.client.GetTopUsers(op, &statsv1.GetTopUsersRequest{Metric: 9}); return err }, "metric"},
		{"unknown window", func() error {
			_, err := f.client.GetTopUsers(op, &statsv1.GetTopUsersRequest{Metric: M, Window: 9})
			return err
		}, "window"},
		{"limit too high", func() error {
			_, err := f.client.GetTopUsers(op, &statsv1.GetTopUsersRequest{Metric: M, Limit: 101})
			return err
		}, "limit"},
		{"negative limit", func() error {
			_, err := f.client.GetTopServers(op, &statsv1.GetTopServersRequest{Limit: -1})
			return err
		}, "limit"},
		{"bad server id", func() error {
			_, err := f.client.GetTopUsers(op, &statsv1.GetTopUsersRequest{Metric: M, ServerId: "nope"})
			return err
		}, "server_id"},
		{"connections of a server", func() error {
			_, err := f.client.GetTopUsers(op, &statsv1.GetTopUsersRequest{Metric: C, ServerId: f.general})
			return err
		}, "server_id"},
		{"bad user id", func() error {
			_, err := f.client.GetActivity(op, &statsv1.GetActivityRequest{Metric: M, UserId: "x"})
			return err
		}, "user_id"},
		{"hourly month", func() error {
			_, err := f.client.GetActivity(op, &statsv1.GetActivityRequest{Metric: M, Window: statsv1.Window_WINDOW_MONTH, Granularity: statsv1.Granularity_GRANULARITY_HOUR})
			return err
		}, "granularity"},
		{"chart without report", func() error { _, err := f.client.GetChart(op, &statsv1.GetChartRequest{Metric: M}); return err }, "report"},
		{"user chart without metric", func() error {
			_, err := f.client.GetChart(op, &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_TOP_USERS})
			return err
		}, "metric"},
		{"server chart of connections", func() error {
			_, err := f.client.GetChart(op, &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_TOP_SERVERS, Metric: C})
			return err
		}, "metric"},
		{"bytes stored per user", func() error {
			_, err := f.client.GetTopUsers(op, &statsv1.GetTopUsersRequest{Metric: statsv1.Metric_METRIC_BYTES_STORED})
			return err
		}, "metric"},
		{"bytes stored over time", func() error {
			_, err := f.client.GetActivity(op, &statsv1.GetActivityRequest{Metric: statsv1.Metric_METRIC_BYTES_STORED})
			return err
		}, "metric"},
		{"chart of bytes stored", func() error {
			_, err := f.client.GetChart(op, &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_TOP_SERVERS, Metric: statsv1.Metric_METRIC_BYTES_STORED})
			return err
		}, "metric"},
		{"servers by connections", func() error {
			_, err := f.client.GetTopServers(op, &statsv1.GetTopServersRequest{Metric: C})
			return err
		}, "metric"},
		{"ranking chart for a user", func() error {
			_, err := f.client.GetChart(op, &statsv1.GetChartRequest{Report: statsv1.Report_REPORT_TOP_USERS, Metric: M, UserId: f.bob})
			return err
		}, "user_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := badField(t, tc.call()); got != tc.field {
				t.Errorf("field %q, want %q", got, tc.field)
			}
		})
	}
	// Nothing was written.
	keys, _ := f.env.Redis.Keys(context.Background(), f.env.Prefix+"stats:{stats}:v*").Result()
	if len(keys) != 0 {
		t.Errorf("bad input wrote %v", keys)
	}
}

func TestTopServersByBytesStored(t *testing.T) {
	f := newFixture(t)
	bytes := func(req *statsv1.GetTopServersRequest) (*statsv1.GetTopServersResponse, []row) {
		t.Helper()
		req.Metric = statsv1.Metric_METRIC_BYTES_STORED
		res, err := f.client.GetTopServers(f.op(), req)
		if err != nil {
			t.Fatal(err)
		}
		var rows []row
		for _, r := range res.GetRows() {
			rows = append(rows, row{r.GetName(), r.GetCount()})
		}
		return res, rows
	}
	res, rows := bytes(&statsv1.GetTopServersRequest{})
	if len(rows) != 0 || res.GetTotal() != 0 {
		t.Fatalf("before any upload: %v, total %d", rows, res.GetTotal())
	}
	// Two uploads in two servers, one of them deleted since.
	f.server.AddAttachment(f.general, 3000)
	gone := f.server.AddAttachment(f.general, 700)
	f.server.AddAttachment(f.gaming, 5000)
	f.server.DeleteAttachment(gone)
	res, rows = bytes(&statsv1.GetTopServersRequest{Window: statsv1.Window_WINDOW_DAY})
	equalRows(t, "by bytes", rows, []row{{"Gaming & <Co>", 5000}, {"General", 3000}})
	if res.GetTotal() != 8000 {
		t.Errorf("total %d, want 8000", res.GetTotal())
	}
	// A private conversation's files take room too; the total counts every
	// server, not only the rows.
	f.server.AddAttachment(f.dm, 100)
	res, rows = bytes(&statsv1.GetTopServersRequest{Limit: 1})
	equalRows(t, "top 1", rows, []row{{"Gaming & <Co>", 5000}})
	if res.GetTotal() != 8100 {
		t.Errorf("total %d, want 8100", res.GetTotal())
	}
	// Operators only.
	_, err := f.client.GetTopServers(f.ctx(f.alice), &statsv1.GetTopServersRequest{Metric: statsv1.Metric_METRIC_BYTES_STORED})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("a user got %v, want PERMISSION_DENIED", err)
	}
}

func TestRebuildKeepsTrimmedConnections(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	stream := f.env.Prefix + events.Connections
	// Presence appends in time order; the stream ids carry the time.
	for _, c := range []struct {
		user string
		ago  time.Duration
		n    int
	}{{f.bob, 20 * 24 * time.Hour, 4}, {f.eve, 48 * time.Hour, 2}, {f.alice, 3 * time.Hour, 1}, {f.eve, time.Hour, 3}} {
		for range c.n {
			ts := f.now.Add(-c.ago).UnixMilli()
			err := f.env.Redis.XAdd(ctx, &redis.XAddArgs{
				Stream: stream, ID: fmt.Sprintf("%d-*", ts),
				Values: []any{"user_id", c.user, "session_id", platformtest.RandomHex(8), "client", "web", "ts", ts},
			}).Err()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	f.drained()
	live := f.snapshot()
	// Presence trims the stream: Bob's old sessions are gone from it.
	if err := f.env.Redis.XTrimMinID(ctx, stream, fmt.Sprint(f.now.Add(-5*24*time.Hour).UnixMilli())).Err(); err != nil {
		t.Fatal(err)
	}
	rb, err := f.client.RebuildCounters(f.op(), &statsv1.RebuildCountersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Eve's sessions of two days ago are on the stream's first, partly
	// trimmed day: they are kept too, and the last four are recounted.
	if rb.GetConnections() != 4 {
		t.Errorf("recounted %d connections, want 4", rb.GetConnections())
	}
	sameSnapshots(t, f.snapshot(), live)
	res, err := f.client.GetTopUsers(f.op(), &statsv1.GetTopUsersRequest{Metric: statsv1.Metric_METRIC_CONNECTIONS, Window: statsv1.Window_WINDOW_ALL})
	equalRows(t, "all time", userRows(t, res, err), []row{{"Eve", 5}, {"Bob", 4}, {"Alice", 1}})
}
