package grpcx_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/platformtest"
)

// ticker streams an event every few milliseconds until its context ends.
type ticker struct {
	eventsv1.UnimplementedEventServiceServer
}

func (ticker) StreamEvents(_ *eventsv1.StreamEventsRequest, stream grpc.ServerStreamingServer[eventsv1.StreamEventsResponse]) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stream.Context().Done():
			return stream.Context().Err()
		case <-t.C:
			if err := stream.Send(&eventsv1.StreamEventsResponse{Event: &eventsv1.Event{Scope: "tick"}}); err != nil {
				return err
			}
		}
	}
}

// process starts a server the way one process of the suite does: its own
// revocation watcher over the shared Redis.
func process(t *testing.T, env *platformtest.Env) eventsv1.EventServiceClient {
	e := *env
	e.Revocations = auth.NewRevocations(env.Redis, env.Keys)
	return eventsv1.NewEventServiceClient(e.Serve(func(gs *grpc.Server) { eventsv1.RegisterEventServiceServer(gs, ticker{}) }))
}

// open opens a stream and waits for its first event.
func open(t *testing.T, c eventsv1.EventServiceClient, ctx context.Context) grpc.ServerStreamingClient[eventsv1.StreamEventsResponse] {
	t.Helper()
	s, err := c.StreamEvents(ctx, &eventsv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	return s
}

// ended drains s until it ends and returns its error and when it ended.
func ended(t *testing.T, s grpc.ServerStreamingClient[eventsv1.StreamEventsResponse]) (error, time.Time) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := s.Recv(); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		return err, time.Now()
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end")
		return nil, time.Time{}
	}
}

func TestRevocationEndsStreamsOnEveryProcess(t *testing.T) {
	platformtest.EachRedis(t, testRevocationEndsStreamsOnEveryProcess)
}

func testRevocationEndsStreamsOnEveryProcess(t *testing.T) {
	env := platformtest.New(t)
	a, b := process(t, env), process(t, env)
	tok, _, _ := env.Signer.UserToken("u1", "sess-"+platformtest.RandomHex(4), false, time.Hour)
	other := env.UserToken("u1") // another session of the same user
	var streams []grpc.ServerStreamingClient[eventsv1.StreamEventsResponse]
	for _, c := range []eventsv1.EventServiceClient{a, b, a} {
		streams = append(streams, open(t, c, env.Ctx(tok)))
	}
	survivor := open(t, b, env.Ctx(other))

	p, err := env.Verifier.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	// The user service's own watcher announces it.
	if err := auth.NewRevocations(env.Redis, env.Keys).Revoke(env.Ctx(""), p.SessionID, time.Hour); err != nil {
		t.Fatal(err)
	}
	for i, s := range streams {
		err, at := ended(t, s)
		if status.Code(err) != codes.Unauthenticated || reason(err) != "SESSION_REVOKED" {
			t.Errorf("stream %d ended with %v, want UNAUTHENTICATED SESSION_REVOKED", i, err)
		}
		if d := at.Sub(revoked); d > time.Second {
			t.Errorf("stream %d ended %v after the revocation", i, d)
		}
	}
	if _, err := survivor.Recv(); err != nil {
		t.Errorf("the stream of another session ended: %v", err)
	}
}

func TestExpiryEndsStreams(t *testing.T) {
	env := platformtest.New(t)
	c := process(t, env)
	tok, exp, _ := env.Signer.UserToken("u1", "sess-"+platformtest.RandomHex(4), false, 1500*time.Millisecond)
	s := open(t, c, env.Ctx(tok))
	err, at := ended(t, s)
	if status.Code(err) != codes.Unauthenticated || reason(err) != "TOKEN_EXPIRED" {
		t.Errorf("stream ended with %v, want UNAUTHENTICATED TOKEN_EXPIRED", err)
	}
	if d := at.Sub(exp); d > time.Second || d < -time.Second {
		t.Errorf("stream ended %v after the token expired", d)
	}
}

// With CacheChecks, a session found live is remembered (a check answers
// without Redis), and a revocation through the same Revocations counts for
// every check that begins after Revoke returned, also while other checks
// run concurrently.
func TestCachedSessionChecks(t *testing.T) {
	env := platformtest.New(t)
	ctx := context.Background()
	r := auth.NewRevocations(env.Redis, env.Keys)
	r.CacheChecks(time.Hour)

	sid := platformtest.NewID()
	if revoked, err := r.IsRevoked(ctx, sid); err != nil || revoked {
		t.Fatalf("new session: got %v, %v; want live", revoked, err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if revoked, err := r.IsRevoked(gone, sid); err != nil || revoked {
		t.Fatalf("remembered session, Redis not asked: got %v, %v; want live", revoked, err)
	}
	if _, err := r.IsRevoked(gone, platformtest.NewID()); err == nil {
		t.Fatal("unknown session with a cancelled context: got no error; want Redis asked")
	}

	var after atomic.Bool // set once Revoke returned
	var stale, checked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				began := after.Load()
				revoked, err := r.IsRevoked(ctx, sid)
				if err != nil {
					t.Error(err)
					return
				}
				if began {
					checked.Add(1)
					if !revoked {
						stale.Add(1)
					}
				}
			}
		}()
	}
	if err := r.Revoke(ctx, sid, time.Minute); err != nil {
		t.Fatal(err)
	}
	after.Store(true)
	// Let the checkers run past the revocation before stopping them.
	for deadline := time.Now().Add(30 * time.Second); checked.Load() < 100; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d checks after Revoke", checked.Load())
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if n := stale.Load(); n != 0 {
		t.Fatalf("%d of %d checks begun after Revoke returned found the session live", n, checked.Load())
	}
	// Another process, without the cache, sees it too.
	other := auth.NewRevocations(env.Redis, env.Keys)
	if revoked, err := other.IsRevoked(ctx, sid); err != nil || !revoked {
		t.Fatalf("other process: got %v, %v; want revoked", revoked, err)
	}
}
