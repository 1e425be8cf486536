package gateway

import "testing"

// The fan-out queue keeps what waits, not what was taken: under steady
// load, where it never empties, it stays the size of its backlog.
func TestFanoutQueueDoesNotGrowUnderSteadyLoad(t *testing.T) {
	p := &fanout{max: 1, workers: 1} // the one worker is busy: nothing starts
	for range 10 {
		p.submit(&sharedSession{})
	}
	for range 100000 {
		p.submit(&sharedSession{})
		if p.next() == nil {
			t.Fatal("queue empty with 10 waiting")
		}
	}
	if n := len(p.ready) - p.head; n != 10 {
		t.Fatalf("%d waiting, want 10", n)
	}
	if cap(p.ready) > 64 {
		t.Fatalf("queue capacity %d for a backlog of 10", cap(p.ready))
	}
	for range 10 {
		if p.next() == nil {
			t.Fatal("queue empty early")
		}
	}
	if p.next() != nil || p.workers != 0 {
		t.Fatalf("queue not empty, or the worker kept its slot (%d)", p.workers)
	}
}
