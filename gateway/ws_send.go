package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// outFrame is a frame waiting in a socket's send queue.
type outFrame struct {
	b     []byte
	event bool
	typ   string
	// created is the event's create_time (unix nanoseconds), 0 for frames
	// that are not feed events: the start of its delivery latency.
	created int64
}

// sendQueue is a socket's send queue. Frames wait in the queue while one
// goroutine writes it out: whichever queued a frame while nobody was
// writing, or one started for the purpose when the frame was left to it.
// A socket has no writer goroutine waiting for frames.
type sendQueue struct {
	c     *wsConn
	wg    *sync.WaitGroup // the socket's goroutines: writers started for left frames join it
	limit int             // frames queued at most
	grace time.Duration   // how long the queue may stay full, or a write stuck

	mu      sync.Mutex
	frames  []outFrame
	writing bool          // a goroutine is writing the queue out
	room    chan struct{} // the queue got room

	writeStart atomic.Int64 // unix nanoseconds the current write began, 0 when none
	// lastWrite is when the last write began (unix nanoseconds, 0 before
	// the first): the fan-out holds a socket that wrote within its write
	// delay (fanout.go).
	lastWrite atomic.Int64
}

func (q *sendQueue) init(c *wsConn, wg *sync.WaitGroup, limit int, grace time.Duration) {
	q.c, q.wg, q.limit, q.grace = c, wg, limit, grace
	q.room = make(chan struct{}, 1)
}

// enqueue queues a frame and writes the queue out, unless another of the
// socket's goroutines is writing it already (then that one writes this
// frame too). Handing frames to a dedicated writer goroutine would cost a
// goroutine switch per frame, the most expensive step after the system
// call itself.
//
// A queue that stays full for the grace period, or a write that does not
// complete within it (the socket's clock checks), closes the socket with 4008; only
// this socket's goroutines ever wait here.
func (q *sendQueue) enqueue(f outFrame) bool { return q.queueFrame(f, true, nil) }

// queueFrame is enqueue, except that with write false a frame nobody is
// writing is left to a goroutine started to write the queue out, so that
// the caller goes on at once (a pump that is behind keeps receiving while
// its frames go out in batches). The caller must be one of the socket's
// goroutines counted in its wait group. A fan-out worker passes itself as
// w: it gives its slot up before it waits for room or for the connection.
func (q *sendQueue) queueFrame(f outFrame, write bool, w *fanWorker) bool {
	if q.c.closing.Load() {
		return false
	}
	q.mu.Lock()
	if len(q.frames) >= q.limit && !q.waitForRoom(w) {
		return false
	}
	q.frames = append(q.frames, f)
	if len(q.frames) < q.limit {
		// Pass the room on to the next goroutine waiting, if any.
		select {
		case q.room <- struct{}{}:
		default:
		}
	}
	if q.writing {
		q.mu.Unlock()
		return true
	}
	q.writing = true
	q.mu.Unlock()
	if !write {
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			q.flush(nil)
		}()
		return true
	}
	return q.flush(w)
}

// stage queues a frame without writing it when nobody is writing the
// queue: a later frame's write, or writeStaged, writes it. A fan-out
// worker's drain stages the frames of the events it has yet to handle, so
// that one write carries them all. When a goroutine is writing, or the
// queue would be full, it is queueFrame.
func (q *sendQueue) stage(f outFrame, w *fanWorker) bool {
	if q.c.closing.Load() {
		return false
	}
	q.mu.Lock()
	if !q.writing && len(q.frames) < q.limit-1 {
		q.frames = append(q.frames, f)
		q.mu.Unlock()
		return true
	}
	q.mu.Unlock()
	return q.queueFrame(f, true, w)
}

// writeStaged writes the staged frames, if any and nobody is writing
// them already; it reports false when the socket is no longer writable.
func (q *sendQueue) writeStaged(w *fanWorker) bool {
	q.mu.Lock()
	if q.writing || len(q.frames) == 0 {
		q.mu.Unlock()
		return !q.c.closing.Load()
	}
	q.writing = true
	q.mu.Unlock()
	return q.flush(w)
}

// waitForRoom waits, with mu held, until the queue has room; on failure
// it returns false with mu released.
func (q *sendQueue) waitForRoom(w *fanWorker) bool {
	if w != nil && !w.released {
		q.mu.Unlock()
		w.release()
		q.mu.Lock()
		if len(q.frames) < q.limit {
			return true
		}
	}
	t := time.NewTimer(q.grace)
	defer t.Stop()
	for len(q.frames) >= q.limit {
		q.mu.Unlock()
		select {
		case <-q.room:
		case <-t.C:
			q.c.close(CloseTooSlow, "too slow")
			return false
		case <-q.c.ctx.Done():
			return false
		}
		if q.c.closing.Load() {
			return false
		}
		q.mu.Lock()
	}
	return true
}

// flush writes the queue out until it is empty. The caller has set
// q.writing; flush clears it. A fan-out worker passes itself as w.
func (q *sendQueue) flush(w *fanWorker) bool {
	var spare []outFrame
	for {
		q.mu.Lock()
		if len(q.frames) == 0 || q.c.closing.Load() {
			ok := len(q.frames) == 0
			q.frames, q.writing = nil, false
			if ok && cap(spare) <= 16 {
				q.frames = spare // small: kept for the next frame
			}
			q.mu.Unlock()
			return ok
		}
		batch := q.frames
		q.frames = spare
		q.mu.Unlock()
		select {
		case q.room <- struct{}{}:
		default:
		}
		now := time.Now().UnixNano()
		q.writeStart.Store(now)
		q.lastWrite.Store(now)
		ok := q.writeFrames(batch, w)
		q.writeStart.Store(0)
		if !ok {
			q.mu.Lock()
			q.frames, q.writing = nil, false
			q.mu.Unlock()
			q.c.cancel()
			return false
		}
		clear(batch)
		spare = batch[:0]
	}
}

// drain waits until the queue is written out and no write is under way,
// for at most grace: frames queued meanwhile are waited for too, which
// ends as soon as the queue is empty at one look.
func (q *sendQueue) drain(grace time.Duration) {
	deadline := time.Now().Add(grace)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		q.mu.Lock()
		empty := len(q.frames) == 0 && !q.writing
		q.mu.Unlock()
		if empty || q.c.closing.Load() || time.Now().After(deadline) {
			return
		}
		select {
		case <-q.c.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// stuck tells whether the current write has taken longer than the grace
// period: the client stopped reading.
func (q *sendQueue) stuck() bool {
	t := q.writeStart.Load()
	return t != 0 && time.Since(time.Unix(0, t)) > q.grace
}

// Batch limits of writeFrames.
const (
	maxBatchFrames = 64
	maxBatchBytes  = 64 << 10
)

// writeFrames writes frames with one system call per batch: a socket that
// falls behind catches up in large writes instead of one per frame. It
// reports whether the socket is still writable.
//
// Writes take a context that is never done, which spares the library a
// timer handoff per frame; a write stuck on a client that stopped reading
// ends when the connection is closed (closeNow, or the too-slow close).
// A fan-out worker (w) writes the batch without waiting on the connection,
// and gives its slot up before it would.
func (q *sendQueue) writeFrames(frames []outFrame, w *fanWorker) bool {
	c := q.c
	c.wire.cork()
	defer c.wire.uncorkFor(w)
	n, size := 0, 0
	for _, f := range frames {
		if c.closing.Load() {
			return false
		}
		if err := c.conn.Write(context.Background(), websocket.MessageText, f.b); err != nil {
			return false
		}
		c.m.frameSent(f.typ, f.event)
		if f.created != 0 {
			c.m.delivered(f.created)
		}
		n, size = n+1, size+len(f.b)
		if n == maxBatchFrames || size >= maxBatchBytes {
			c.m.socketWrites.Inc()
			if c.wire.uncorkFor(w) != nil {
				return false
			}
			c.wire.cork()
			n, size = 0, 0
		}
	}
	if n > 0 {
		c.m.socketWrites.Inc()
	}
	return c.wire.uncorkFor(w) == nil
}

// clock keeps a socket's time with two timers and no goroutine of its
// own: every interval it heartbeats the presence session and pings the
// client at the protocol level; every check period it closes the socket
// when the client fell silent or a write stays stuck. It holds a slot in
// the socket's wait group until the socket's context is done; mu makes
// stop wait for a tick under way, after which no tick does anything.
type clock struct {
	s                      *wsSession
	interval, timeout, per time.Duration

	mu      sync.Mutex
	stopped bool
	hb, chk *time.Timer
}

// startClock starts the socket's clock; it stops with the socket's context.
func (s *wsSession) startClock(interval, timeout time.Duration) {
	k := &clock{s: s, interval: interval, timeout: timeout,
		per: max(min(timeout/4, interval, s.h.o.SlowGrace/2), 10*time.Millisecond)}
	s.wg.Add(1)
	k.mu.Lock()
	k.hb = time.AfterFunc(interval, k.beat)
	k.chk = time.AfterFunc(k.per, k.check)
	k.mu.Unlock()
	context.AfterFunc(s.ctx, k.stop)
}

func (k *clock) stop() {
	k.mu.Lock()
	k.stopped = true
	k.hb.Stop()
	k.chk.Stop()
	k.mu.Unlock()
	k.s.wg.Done()
}

// check closes the socket when the client fell silent or a write is stuck.
func (k *clock) check() {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.s
	switch {
	case k.stopped:
	case time.Since(time.Unix(0, s.lastSeen.Load())) > k.timeout:
		s.close(CloseTimeout, "timeout")
	case s.out.stuck():
		s.close(CloseTooSlow, "too slow")
	default:
		k.chk.Reset(k.per)
	}
}

// beat pings the client and heartbeats the presence session.
func (k *clock) beat() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	s := k.s
	// Both wait on the network: they must not hold up the clock.
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, k.interval)
		defer cancel()
		_ = s.conn.Ping(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.heartbeat()
	}()
	k.hb.Reset(k.interval)
}
