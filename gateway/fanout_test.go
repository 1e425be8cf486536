package gateway

import (
	"testing"
	"time"
)

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

// A socket that wrote within the delay is held until the delay after that
// write; one that did not, or never wrote, is queued at once.
func TestFanoutHoldsSocketsThatJustWrote(t *testing.T) {
	const delay = int64(time.Hour) // the timer never fires here: release is called
	var now int64 = 1e18
	p := &fanout{max: 1, workers: 1, delay: delay, clock: func() int64 { return now }}
	t.Cleanup(func() {
		if p.timer != nil {
			p.timer.Stop()
		}
	})
	idle, never, busy, busier := &sharedSession{}, &sharedSession{}, &sharedSession{}, &sharedSession{}
	p.submitAfter(idle, now-2*delay)
	p.submitAfter(never, 0)
	p.submitAfter(busy, now-delay/2)   // due in half the delay
	p.submitAfter(busier, now-delay/8) // due in 7/8 of it
	if got := p.ready[p.head:]; len(got) != 2 || got[0] != idle || got[1] != never {
		t.Fatalf("ready %v, want the idle and the never-written socket", got)
	}
	if n := p.heldCount(); n != 2 {
		t.Fatalf("%d held, want 2", n)
	}
	p.release(false) // too early for either
	if n := p.heldCount(); n != 2 {
		t.Fatalf("%d held after an early release, want 2", n)
	}
	now += delay / 2
	p.release(false)
	if got := p.ready[p.head:]; len(got) != 3 || got[2] != busy || p.heldCount() != 1 {
		t.Fatalf("ready %v and %d held: want busy released, busier held", got, p.heldCount())
	}
	now += delay / 8 // busier is due within a quarter of the delay: it goes too
	p.release(false)
	if got := p.ready[p.head:]; len(got) != 4 || got[3] != busier || p.heldCount() != 0 || p.timerOn {
		t.Fatalf("ready %v, %d held, timer set %v: want all released", got, p.heldCount(), p.timerOn)
	}
}
