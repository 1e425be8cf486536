package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Subprotocol is the WebSocket subprotocol of the API.
const Subprotocol = "accord.v1"

// Frame is a server -> client frame, decoded in the parts the tests read,
// with the frame as it came in Raw.
type Frame struct {
	Type  string          `json:"type"`
	Event json.RawMessage `json:"event,omitempty"`
	// Presence frames.
	Snapshot  bool              `json:"snapshot,omitempty"`
	Presences []json.RawMessage `json:"presences,omitempty"`
	// Error frames.
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`

	Raw []byte `json:"-"`
}

// Event is the part of an event the tests read.
type Event struct {
	Scope          string `json:"scope"`
	Cursor         string `json:"cursor"`
	MessageCreated *struct {
		ID        string `json:"id"`
		ChannelID string `json:"channel_id"`
		ServerID  string `json:"server_id"`
		RequestID string `json:"request_id"`
	} `json:"message_created,omitempty"`
	Resync *struct {
		Reason string `json:"reason"`
	} `json:"resync,omitempty"`
	Typing *struct {
		ChannelID string `json:"channel_id"`
		UserID    string `json:"user_id"`
	} `json:"typing,omitempty"`
}

// DecodeEvent parses a frame's event.
func DecodeEvent(f Frame) (Event, error) {
	var ev Event
	err := json.Unmarshal(f.Event, &ev)
	return ev, err
}

// DialOptions say how to open a socket.
type DialOptions struct {
	// Token authenticates the socket: offered as the "bearer.<token>"
	// subprotocol, or in the hello frame with TokenInHello.
	Token        string
	TokenInHello bool
	// Cursors are the positions to resume after, by scope.
	Cursors map[string]string
	// Client names the client in the hello frame.
	Client string
	// HTTPClient dials (http.DefaultClient when nil).
	HTTPClient *http.Client
	// ReadLimit bounds a frame (1 MiB when 0).
	ReadLimit int64
}

// WS is one socket on /v1/events. It keeps the last cursor of each scope
// among the events read, as the web app does, to resume from.
type WS struct {
	c *websocket.Conn

	mu      sync.Mutex
	cursors map[string]string
	// Set by Background.
	frames  chan Frame
	readErr error
}

// Dial opens a socket to the gateway at base ("http://host:port"), sends the
// hello frame and waits for the ready frame, which it returns. An error
// frame instead of ready is an error.
func Dial(ctx context.Context, base string, o DialOptions) (*WS, Frame, error) {
	protos := []string{Subprotocol}
	if o.Token != "" && !o.TokenInHello {
		protos = append(protos, "bearer."+o.Token)
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/events",
		&websocket.DialOptions{Subprotocols: protos, HTTPClient: o.HTTPClient})
	if err != nil {
		return nil, Frame{}, err
	}
	limit := o.ReadLimit
	if limit == 0 {
		limit = 1 << 20
	}
	c.SetReadLimit(limit)
	w := &WS{c: c, cursors: maps.Clone(o.Cursors)}
	if w.cursors == nil {
		w.cursors = map[string]string{}
	}
	hello := map[string]any{"type": "hello"}
	if o.Client != "" {
		hello["client"] = o.Client
	}
	if o.TokenInHello {
		hello["token"] = o.Token
	}
	var list []map[string]string
	for s, p := range o.Cursors {
		list = append(list, map[string]string{"scope": s, "position": p})
	}
	if len(list) > 0 {
		hello["cursors"] = list
	}
	fail := func(err error) (*WS, Frame, error) {
		_ = c.CloseNow()
		return nil, Frame{}, err
	}
	if err := w.Send(ctx, hello); err != nil {
		return fail(err)
	}
	f, err := w.Read(ctx)
	switch {
	case err != nil:
		return fail(err)
	case f.Type == "error":
		return fail(fmt.Errorf("refused: %s %s", f.Code, f.Message))
	case f.Type != "ready":
		return fail(fmt.Errorf("first frame %s, want ready", f.Raw))
	}
	return w, f, nil
}

// Conn is the underlying connection, for readers that want the bytes alone
// (load tools).
func (w *WS) Conn() *websocket.Conn { return w.c }

// Send writes one client frame as JSON.
func (w *WS) Send(ctx context.Context, frame any) error {
	b, err := json.Marshal(frame)
	if err != nil {
		return err
	}
	return w.c.Write(ctx, websocket.MessageText, b)
}

// Read returns the next frame and records its cursor. It must not be used
// after Background.
func (w *WS) Read(ctx context.Context) (Frame, error) {
	f, err := w.read(ctx)
	if err == nil {
		w.track(f)
	}
	return f, err
}

func (w *WS) read(ctx context.Context) (Frame, error) {
	_, b, err := w.c.Read(ctx)
	if err != nil {
		return Frame{}, err
	}
	var f Frame
	if err := json.Unmarshal(b, &f); err != nil {
		return Frame{}, fmt.Errorf("invalid JSON frame %q: %w", b, err)
	}
	f.Raw = b
	return f, nil
}

func (w *WS) track(f Frame) {
	if f.Type != "event" {
		return
	}
	if ev, err := DecodeEvent(f); err == nil && ev.Scope != "" && ev.Cursor != "" {
		w.mu.Lock()
		w.cursors[ev.Scope] = ev.Cursor
		w.mu.Unlock()
	}
}

// Background reads every frame as it arrives into a buffer of size frames,
// so that a test that reads late never stalls the socket; Next takes them.
func (w *WS) Background(size int) {
	w.frames = make(chan Frame, size)
	go func() {
		defer close(w.frames)
		for {
			f, err := w.read(context.Background())
			if err != nil {
				w.mu.Lock()
				w.readErr = err
				w.mu.Unlock()
				return
			}
			w.frames <- f
		}
	}()
}

// ErrTimeout is Next's error when no frame came in time.
var ErrTimeout = errors.New("no frame in time")

// Next returns the next frame read in the background and records its
// cursor: ErrTimeout when none comes within timeout, the read error once
// the socket is closed and every frame was taken.
func (w *WS) Next(timeout time.Duration) (Frame, error) {
	select {
	case f, ok := <-w.frames:
		if !ok {
			return Frame{}, w.ReadErr()
		}
		w.track(f)
		return f, nil
	case <-time.After(timeout):
		return Frame{}, ErrTimeout
	}
}

// ReadErr is the error that ended the background reader (nil while it reads).
func (w *WS) ReadErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.readErr
}

// Cursors returns the last cursor seen per scope.
func (w *WS) Cursors() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.cursors)
}

// Close closes the socket normally.
func (w *WS) Close() error { return w.c.Close(websocket.StatusNormalClosure, "bye") }

// CloseNow drops the socket without a close handshake.
func (w *WS) CloseNow() error { return w.c.CloseNow() }
