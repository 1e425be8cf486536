package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
)

// corkingWriter hands the WebSocket library a corkConn when it hijacks the
// connection.
type corkingWriter struct {
	http.ResponseWriter
	conn *corkConn
}

func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the connection cannot be hijacked")
	}
	nc, brw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	// The socket reads and writes through small buffers of its own: the
	// server's (4 KiB each) go with the request once the handler returns,
	// which it does while the socket lives on. Client frames are small,
	// and frames larger than the write buffer pass through it to the cork.
	if err := brw.Writer.Flush(); err != nil { // the response head is flushed by now: a no-op
		nc.Close()
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: nc}
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			w.conn.raw = rc
		}
	}
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the client sent right after its request: the connection
		// reads them first (the library resets the reader to the conn).
		b, _ := brw.Reader.Peek(n)
		w.conn.early = bytes.Clone(b)
	}
	return w.conn, bufio.NewReadWriter(bufio.NewReaderSize(w.conn, wsReadBuffer), bufio.NewWriterSize(w.conn, wsWriteBuffer)), nil
}

// Buffer sizes of a socket's connection: a client frame, and a control
// frame (at most 125 bytes of payload) plus a frame header, fit in them.
const (
	wsReadBuffer  = 1 << 10
	wsWriteBuffer = 512
)

// corkConn is a connection whose writes can be held back and sent together:
// while corked, writes are collected, and uncork sends them in one system
// call. The WebSocket library flushes every frame, so this is what lets a
// socket write a batch of frames at once. Writes keep their order, whoever
// makes them; Close is never held up.
type corkConn struct {
	net.Conn

	// early is what was read from the connection before it was hijacked,
	// to be read first; only the socket's reader touches it.
	early []byte

	// raw is the connection's descriptor, for writes that must not wait
	// (uncorkFor); nil when the connection has none (TLS).
	raw syscall.RawConn

	mu     sync.Mutex
	corked bool
	buf    *[]byte
}

func (c *corkConn) Read(p []byte) (int, error) {
	if len(c.early) > 0 {
		n := copy(p, c.early)
		if c.early = c.early[n:]; len(c.early) == 0 {
			c.early = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = corkBufs.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// tryWrite writes what the connection takes of p without waiting, and
// returns the rest and how much of p went out.
func (c *corkConn) tryWrite(p []byte) (rest []byte, n int, _ error) {
	if c.raw == nil {
		return p, 0, nil
	}
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		for len(p) > 0 {
			m, e := syscall.Write(int(fd), p)
			if m > 0 {
				p, n = p[m:], n+m
			}
			if e == syscall.EINTR {
				continue
			}
			if e != nil && e != syscall.EAGAIN {
				werr = e
			}
			if e != nil || m <= 0 {
				break
			}
		}
		return true // never wait here: the caller does, off the worker
	})
	if err == nil {
		err = werr
	}
	return p, n, err
}

func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork sends what was collected; calling it again is harmless.
func (c *corkConn) uncork() error { return c.uncorkFor(nil) }

// uncorkFor is uncork on the fan-out worker w: what the connection does
// not take at once is written after w's slot is released.
func (c *corkConn) uncorkFor(w *fanWorker) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if c.buf == nil {
		return nil
	}
	b := c.buf
	c.buf = nil
	p := *b
	var err error
	if w != nil && !w.released {
		var n int
		if p, n, err = c.tryWrite(p); n < len(*b) && err == nil {
			w.release()
		}
	}
	if len(p) > 0 && err == nil {
		_, err = c.Conn.Write(p)
	}
	if cap(*b) <= 256<<10 {
		*b = (*b)[:0]
		corkBufs.Put(b)
	}
	return err
}
