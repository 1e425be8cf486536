package gateway

import (
	"runtime"
	"sync"
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
type fanout struct {
	max int

	mu      sync.Mutex
	ready   []*sharedSession
	head    int // ready[head:] wait
	workers int // workers holding a slot
}

func newFanout() *fanout {
	return &fanout{max: max(2, runtime.GOMAXPROCS(0))}
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
	for {
		ss := p.next()
		if ss == nil {
			return
		}
		ss.drainOn(w)
		if w.released {
			return // the slot went to another worker
		}
	}
}

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
