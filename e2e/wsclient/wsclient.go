// Package wsclient is a small client of Accord's WebSocket API
// (docs/websocket.md) for end-to-end suites: it authenticates with the
// subprotocol, resumes from the last cursor of each scope, and hands every
// frame to the caller.
package wsclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Frame is a server -> client frame, with the raw event kept for decoding.
type Frame struct {
	Type  string          `json:"type"`
	Event json.RawMessage `json:"event,omitempty"`
	// Presence frames.
	Snapshot  bool              `json:"snapshot,omitempty"`
	Presences []json.RawMessage `json:"presences,omitempty"`
	// Error frames.
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Event is the part of an event the suites read.
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

// Cursor is a resume position.
type Cursor struct {
	Scope    string `json:"scope"`
	Position string `json:"position"`
}

// Conn is one socket.
type Conn struct {
	ws *websocket.Conn

	mu      sync.Mutex
	cursors map[string]string
}

// Dial opens a socket to base ("http://host:port") with token, resuming after
// cursors (may be nil), and waits for the ready frame.
func Dial(ctx context.Context, base, token string, cursors map[string]string) (*Conn, error) {
	url := "ws" + strings.TrimPrefix(base, "http") + "/v1/events"
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: []string{"accord.v1", "bearer." + token},
		HTTPClient:   &http.Client{Timeout: 10 * time.Second},
	})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	c := &Conn{ws: ws, cursors: map[string]string{}}
	var list []Cursor
	for s, p := range cursors {
		c.cursors[s] = p
		list = append(list, Cursor{Scope: s, Position: p})
	}
	if err := c.Send(ctx, map[string]any{"type": "hello", "cursors": list, "client": "e2e"}); err != nil {
		ws.CloseNow()
		return nil, err
	}
	for {
		f, err := c.Read(ctx)
		if err != nil {
			ws.CloseNow()
			return nil, err
		}
		if f.Type == "ready" {
			return c, nil
		}
		if f.Type == "error" {
			ws.CloseNow()
			return nil, fmt.Errorf("refused: %s %s", f.Code, f.Message)
		}
	}
}

// Send writes one client frame.
func (c *Conn) Send(ctx context.Context, frame any) error {
	b, err := json.Marshal(frame)
	if err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// Read returns the next frame and records event cursors.
func (c *Conn) Read(ctx context.Context) (Frame, error) {
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return Frame{}, err
	}
	var f Frame
	if err := json.Unmarshal(b, &f); err != nil {
		return Frame{}, fmt.Errorf("bad frame %q: %w", b, err)
	}
	if f.Type == "event" {
		var ev Event
		if err := json.Unmarshal(f.Event, &ev); err == nil && ev.Cursor != "" {
			c.mu.Lock()
			c.cursors[ev.Scope] = ev.Cursor
			c.mu.Unlock()
		}
	}
	return f, nil
}

// Cursors returns the last cursor seen per scope.
func (c *Conn) Cursors() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.cursors))
	for k, v := range c.cursors {
		out[k] = v
	}
	return out
}

// Close closes the socket normally.
func (c *Conn) Close() error { return c.ws.Close(websocket.StatusNormalClosure, "bye") }

// CloseNow drops the socket without a close handshake.
func (c *Conn) CloseNow() error { return c.ws.CloseNow() }

// DecodeEvent parses a frame's event.
func DecodeEvent(f Frame) (Event, error) {
	var ev Event
	err := json.Unmarshal(f.Event, &ev)
	return ev, err
}
