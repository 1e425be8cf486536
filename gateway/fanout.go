package gateway

import (
	"runtime"
	"sync"
	"time"
)

// fanout runs the event drains of the shared feed's sockets (ws_shared.go)
// on a few worker goroutines instead of a goroutine per socket per event.
// An event for 1,000 sockets used to make 1,000 goroutines runnable at
// once; now the sockets wait in one queue and at most max workers walk it,
// each relaying a socket's queued events (one write for all of them) before
// taking the next. Workers start when sockets are queued and end when the
// queue is empty: an idle gateway keeps none.
//
// A worker never waits on one socket: before anything that may block (a
// write the socket's connection cannot take at once, a full send queue, an
// upstream call of a catch-up or a join), the socket's drain releases the
// worker's slot, which starts another worker if sockets are waiting, and
// goes on as a goroutine of its own that ends with that socket's drain.
//
// Write coalescing: with a delay set (WSOptions.WriteDelay), a socket that
// wrote less than delay ago is not queued for a worker at once but held
// until delay after that write, while the events of its scopes collect in
// its hub queue; the drain then writes them all in one system call (the
// frames stay separate WebSocket frames, corked together: cork.go). A
// socket that did not write within delay, the usual case below one event
// per socket per delay, is queued at once and gains no latency; a busy one
// writes at most once per delay and waits at most delay. Most of the
// gateway's CPU is the write call, one per socket per drain, and on
// loopback the client's read: fewer, larger writes is where a busy scope's
// CPU goes down.
type fanout struct {
	max   int
	delay int64 // nanoseconds; 0: no coalescing

	mu      sync.Mutex
	ready   []*sharedSession
	head    int // ready[head:] wait
	workers int // workers holding a slot

	// held are the sockets waiting out their delay, in the order they
	// were held: each one's due time is at most delay after it was held,
	// so a timer set for the first one's is never later than any of theirs
	// by more than delay.
	held     []heldSession
	heldHead int
	timer    *time.Timer
	timerOn  bool // timer is set for held[heldHead]
	// clock replaces the wall clock in tests (setClock); nil: time.Now.
	clock func() int64
}

// heldSession is a socket held until due (unix nanoseconds).
type heldSession struct {
	ss  *sharedSession
	due int64
}

func newFanout(delay time.Duration) *fanout {
	return &fanout{max: max(2, runtime.GOMAXPROCS(0)), delay: int64(max(delay, 0))}
}

// submitAfter queues ss, whose caller holds its token, for a worker, or
// holds it when its last write (unix nanoseconds, 0 for none) was less
// than the delay ago.
func (p *fanout) submitAfter(ss *sharedSession, lastWrite int64) {
	if !p.hold(ss, lastWrite) {
		p.submit(ss)
	}
}

// hold holds ss, whose caller holds its token, until the delay after its
// last write (unix nanoseconds, 0 for none), when that is still to come;
// it reports whether it did (the token then goes with ss to a worker).
func (p *fanout) hold(ss *sharedSession, lastWrite int64) bool {
	if p.delay == 0 || lastWrite == 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	due := lastWrite + p.delay
	if due <= now {
		return false
	}
	if p.heldHead > 0 && p.heldHead >= len(p.held)/2 {
		n := copy(p.held, p.held[p.heldHead:])
		clear(p.held[n:])
		p.held, p.heldHead = p.held[:n], 0
	}
	p.held = append(p.held, heldSession{ss: ss, due: due})
	if !p.timerOn {
		p.timerOn = true
		p.setTimer(due - now)
	}
	return true
}

// now is the time the delays are measured against, in unix nanoseconds;
// mu is held.
func (p *fanout) now() int64 {
	if p.clock != nil {
		return p.clock()
	}
	return time.Now().UnixNano()
}

// setTimer starts the timer to release held sockets after d; mu is held.
func (p *fanout) setTimer(d int64) {
	if p.timer == nil {
		p.timer = time.AfterFunc(time.Duration(d), func() { p.release(false) })
		return
	}
	p.timer.Reset(time.Duration(d))
}

// release queues the held sockets that are due (all of them with all) for
// the workers. Sockets due within a quarter of the delay go too: their
// scope's sockets wrote in one pass a few milliseconds long, and one
// timer per pass is cheaper than one per socket.
func (p *fanout) release(all bool) {
	p.mu.Lock()
	now := p.now()
	limit := now + p.delay/4
	moved := 0
	for p.heldHead < len(p.held) && (all || p.held[p.heldHead].due <= limit) {
		p.ready = append(p.ready, p.held[p.heldHead].ss)
		p.held[p.heldHead] = heldSession{}
		p.heldHead++
		moved++
	}
	if p.heldHead == len(p.held) {
		clear(p.held)
		p.held, p.heldHead = p.held[:0], 0
		if cap(p.held) > 4096 {
			p.held = nil
		}
		p.timerOn = false
	} else {
		// Set again (or still set: a forced release leaves it; when it
		// fires early it finds nothing due and sets itself again).
		p.timerOn = true
		p.setTimer(max(p.held[p.heldHead].due-now, 0))
	}
	start := min(moved, p.max-p.workers)
	p.workers += max(start, 0)
	p.mu.Unlock()
	for range start {
		go p.work()
	}
}

// setClock has the delays measured against clock (tests).
func (p *fanout) setClock(clock func() int64) {
	p.mu.Lock()
	p.clock = clock
	p.mu.Unlock()
}

// heldCount reports how many sockets wait out their delay.
func (p *fanout) heldCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.held) - p.heldHead
}

// submit queues ss, whose caller holds its token, for a worker.
func (p *fanout) submit(ss *sharedSession) {
	p.mu.Lock()
	if p.head > 0 && p.head >= len(p.ready)/2 {
		// Under steady load the queue may never empty: what was taken
		// is dropped before it grows.
		n := copy(p.ready, p.ready[p.head:])
		clear(p.ready[n:])
		p.ready, p.head = p.ready[:n], 0
	}
	p.ready = append(p.ready, ss)
	start := p.workers < p.max
	if start {
		p.workers++
	}
	p.mu.Unlock()
	if start {
		go p.work()
	}
}

// next takes the next socket waiting, or gives the caller's slot up when
// none is.
func (p *fanout) next() *sharedSession {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head == len(p.ready) {
		p.workers--
		clear(p.ready)
		p.ready, p.head = p.ready[:0], 0
		if cap(p.ready) > 4096 {
			p.ready = nil // a burst's backlog is not kept
		}
		return nil
	}
	ss := p.ready[p.head]
	p.ready[p.head] = nil
	p.head++
	return ss
}

// leave gives up a slot whose goroutine is about to block: another worker
// takes it if sockets are waiting.
func (p *fanout) leave() {
	p.mu.Lock()
	start := p.head < len(p.ready)
	if !start {
		p.workers--
	}
	p.mu.Unlock()
	if start {
		go p.work()
	}
}

func (p *fanout) work() {
	w := &fanWorker{p: p}
	for n := 1; ; n++ {
		ss := p.next()
		if ss == nil {
			return
		}
		ss.drainOn(w)
		if w.released {
			return // the slot went to another worker
		}
		if n%yieldEvery == 0 {
			runtime.Gosched()
		}
	}
}

// yieldEvery is how many sockets a worker drains before it lets the
// scheduler run other goroutines (runtime.Gosched). With GOMAXPROCS
// workers on a pass over a thousand sockets, the sends, the upstream
// feed's reader and the rest of the process would otherwise wait for a
// worker's time slice to end (up to 10 ms): a yield every 16 sockets
// costs a fraction of a microsecond per socket and let one channel accept
// and deliver about a quarter more under unpaced senders (docs/production.md).
const yieldEvery = 16

// fanWorker is a worker's hold on its slot.
type fanWorker struct {
	p        *fanout
	released bool
}

// release gives the slot up before the caller may block; the goroutine
// then ends after the socket it is draining. A nil worker (a goroutine of
// the socket's own) has nothing to release.
func (w *fanWorker) release() {
	if w == nil || w.released {
		return
	}
	w.released = true
	w.p.leave()
}
