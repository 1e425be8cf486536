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

// sendQueue is a socket's send queue and its writer. Frames wait in the
// queue while one goroutine writes it out: whichever queued a frame while
// nobody was writing, or writeLoop when the frame was left to it.
type sendQueue struct {
	c     *wsConn
	limit int           // frames queued at most
	grace time.Duration // how long the queue may stay full, or a write stuck

	mu      sync.Mutex
	frames  []outFrame
	writing bool          // a goroutine is writing the queue out
	room    chan struct{} // the queue got room
	kick    chan struct{} // writeLoop is to write the queue out (writing is set for it)

	writeStart atomic.Int64 // unix nanoseconds the current write began, 0 when none
}

func (q *sendQueue) init(c *wsConn, limit int, grace time.Duration) {
	q.c, q.limit, q.grace = c, limit, grace
	q.room = make(chan struct{}, 1)
	q.kick = make(chan struct{}, 1)
}

// enqueue queues a frame and writes the queue out, unless another of the
// socket's goroutines is writing it already (then that one writes this
// frame too). Handing frames to a dedicated writer goroutine would cost a
// goroutine switch per frame, the most expensive step after the system
// call itself.
//
// A queue that stays full for the grace period, or a write that does not
// complete within it (writeLoop checks), closes the socket with 4008; only
// this socket's goroutines ever wait here.
func (q *sendQueue) enqueue(f outFrame) bool { return q.queueFrame(f, true) }

// queueFrame is enqueue, except that with write false the frame is left to
// writeLoop when nobody is writing.
func (q *sendQueue) queueFrame(f outFrame, write bool) bool {
	if q.c.closing.Load() {
		return false
	}
	q.mu.Lock()
	if len(q.frames) >= q.limit && !q.waitForRoom() {
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
		q.kick <- struct{}{} // never blocks: only the one goroutine that set writing sends
		return true
	}
	return q.flush()
}

// waitForRoom waits, with mu held, until the queue has room; on failure
// it returns false with mu released.
func (q *sendQueue) waitForRoom() bool {
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
// q.writing; flush clears it.
func (q *sendQueue) flush() bool {
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
		q.writeStart.Store(time.Now().UnixNano())
		ok := q.writeFrames(batch)
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
func (q *sendQueue) writeFrames(frames []outFrame) bool {
	c := q.c
	c.wire.cork()
	defer c.wire.uncork()
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
			if c.wire.uncork() != nil {
				return false
			}
			c.wire.cork()
			n, size = 0, 0
		}
	}
	return c.wire.uncork() == nil
}

// writeLoop writes the queue out when a frame is left to it, and keeps
// the socket's clock: it heartbeats the presence session,
// pings the client at the protocol level, and closes the socket when the
// client falls silent, a write stays stuck, or the gateway shuts down.
func (s *wsSession) writeLoop(interval, timeout time.Duration) {
	defer s.wg.Done()
	h := s.h
	hb := time.NewTicker(interval)
	defer hb.Stop()
	check := time.NewTicker(max(min(timeout/4, interval, h.o.SlowGrace/2), 10*time.Millisecond))
	defer check.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.out.kick:
			if !s.out.flush() {
				return
			}
		case <-check.C:
			if time.Since(time.Unix(0, s.lastSeen.Load())) > timeout {
				s.close(CloseTimeout, "timeout")
				return
			}
			if s.out.stuck() {
				s.close(CloseTooSlow, "too slow")
				return
			}
		case <-hb.C:
			// Both wait on the network: they must not hold up the clock.
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				ctx, cancel := context.WithTimeout(s.ctx, interval)
				defer cancel()
				_ = s.conn.Ping(ctx)
			}()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.heartbeat()
			}()
		}
	}
}
