package presence_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	"github.com/accordchat/accord/platform/platformtest"
)

// TestRandomSessionsMatchModel runs random opens, closes and heartbeats of
// 1,000 users with 2 sessions each from 8 goroutines; the two sessions of a
// user are driven by different goroutines, so they race on the user's
// state. The final online set (read, and watched) must equal the model's.
func TestRandomSessionsMatchModel(t *testing.T) {
	const (
		users      = 1000
		workers    = 8
		opsPerWork = 400
	)
	f := newFixture(t)
	o := testOptions(f.vis)
	o.WatchQueue = 1 << 15
	in := f.start(f.env.Deps("presence"), o)

	ids := make([]string, users)
	ctxs := make([]context.Context, users)
	for i := range ids {
		ids[i] = platformtest.NewID()
		ctxs[i] = f.as(ids[i])
	}
	viewer := platformtest.NewID()
	w := in.watch(t, f.as(viewer), ids...)

	// Slot s is session s%2 of user s/2; worker g drives the slots s with
	// s%workers == g. open[s] is the session id, "" when closed.
	open := make([]string, 2*users)
	startOps := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			for range opsPerWork {
				s := g + workers*rng.IntN(2*users/workers)
				ctx := ctxs[s/2]
				var err error
				switch {
				case open[s] == "":
					var r *presencev1.OpenSessionResponse
					if r, err = in.client.OpenSession(ctx, &presencev1.OpenSessionRequest{Client: "web"}); err == nil {
						open[s] = r.GetSessionId()
					}
				case rng.IntN(2) == 0:
					_, err = in.client.Heartbeat(ctx, &presencev1.HeartbeatRequest{SessionId: open[s]})
				default:
					if _, err = in.client.CloseSession(ctx, &presencev1.CloseSessionRequest{SessionId: open[s]}); err == nil {
						open[s] = ""
					}
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("ops took %v", time.Since(startOps))
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}

	want := make(map[string]presencev1.Status, users)
	nOnline := 0
	for i, id := range ids {
		want[id] = offline
		if open[2*i] != "" || open[2*i+1] != "" {
			want[id] = online
			nOnline++
		}
	}
	if nOnline == 0 || nOnline == users {
		t.Fatalf("degenerate run: %d of %d online", nOnline, users)
	}
	got := in.get(t, f.as(viewer), ids...)
	for i, id := range ids {
		if got[i] != want[id] {
			t.Errorf("user %d: BatchGet says %v, model says %v", i, got[i], want[id])
		}
	}
	platformtest.Eventually(t, 10*time.Second, func() bool {
		for _, id := range ids {
			if w.now(id) != want[id] {
				return false
			}
		}
		return true
	}, "watcher to agree with the model")
	t.Logf("%d of %d users online; watcher got %d changes", nOnline, users, w.eventCount())
}
