package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsClient is a test client of /v1/events that collects frames as they come.
type wsClient struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan map[string]any

	mu       sync.Mutex
	closeErr error
	done     chan struct{}
}

// dialWS opens /v1/events on base (http://host:port). With bearer set, the
// token is offered as a subprotocol.
func dialWS(t testing.TB, base, bearer string) *wsClient {
	t.Helper()
	c, err := dialWSErr(base, bearer)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c.start(t)
}

func dialWSErr(base, bearer string) (*wsClient, error) {
	return dialWSOpts(base, bearer, nil)
}

// dialWSSmallBuffer dials with a tiny socket receive buffer, so that a client
// that does not read stalls the server quickly.
func dialWSSmallBuffer(base, bearer string) (*wsClient, error) {
	d := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	return dialWSOpts(base, bearer, &http.Client{Transport: tr})
}

func dialWSOpts(base, bearer string, hc *http.Client) (*wsClient, error) {
	protos := []string{Subprotocol}
	if bearer != "" {
		protos = append(protos, "bearer."+bearer)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/events", &websocket.DialOptions{Subprotocols: protos, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(16 << 20)
	return &wsClient{c: c, frames: make(chan map[string]any, 100000), done: make(chan struct{})}, nil
}

func (w *wsClient) start(t testing.TB) *wsClient {
	w.t = t
	go func() {
		defer close(w.done)
		defer close(w.frames)
		for {
			_, b, err := w.c.Read(context.Background())
			if err != nil {
				w.mu.Lock()
				w.closeErr = err
				w.mu.Unlock()
				return
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				w.mu.Lock()
				w.closeErr = errors.New("server sent invalid JSON: " + string(b))
				w.mu.Unlock()
				return
			}
			w.frames <- m
		}
	}()
	t.Cleanup(func() { _ = w.c.CloseNow() })
	return w
}

func (w *wsClient) send(v any) {
	w.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		w.t.Fatal(err)
	}
	w.sendRaw(b)
}

func (w *wsClient) sendRaw(b []byte) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// next returns the next frame, failing the test after timeout.
func (w *wsClient) next(timeout time.Duration) map[string]any {
	w.t.Helper()
	select {
	case f, ok := <-w.frames:
		if !ok {
			w.t.Fatalf("socket closed while waiting for a frame: %v", w.err())
		}
		return f
	case <-time.After(timeout):
		w.t.Fatalf("no frame within %s", timeout)
	}
	return nil
}

// expect returns the next frame and checks its type.
func (w *wsClient) expect(typ string) map[string]any {
	w.t.Helper()
	f := w.next(5 * time.Second)
	if f["type"] != typ {
		w.t.Fatalf("got frame %v, want type %q", f, typ)
	}
	return f
}

// until skips frames until one satisfies ok.
func (w *wsClient) until(timeout time.Duration, ok func(map[string]any) bool) map[string]any {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			w.t.Fatalf("no matching frame within %s", timeout)
		}
		if f := w.next(left); ok(f) {
			return f
		}
	}
}

func (w *wsClient) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closeErr
}

// closed waits for the server to close the socket and returns the close code
// and reason (-1 when the connection dropped without a close frame).
func (w *wsClient) closed(timeout time.Duration) (websocket.StatusCode, string) {
	w.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case _, ok := <-w.frames:
			if ok {
				continue
			}
			var ce websocket.CloseError
			if errors.As(w.err(), &ce) {
				return ce.Code, ce.Reason
			}
			return -1, ""
		case <-deadline:
			w.t.Fatalf("socket not closed within %s", timeout)
		}
	}
}

// hello sends the hello frame and waits for ready.
func (w *wsClient) hello(token string, cursors ...map[string]string) map[string]any {
	w.t.Helper()
	h := map[string]any{"type": "hello", "client": "web"}
	if token != "" {
		h["token"] = token
	}
	if len(cursors) > 0 {
		h["cursors"] = cursors
	}
	w.send(h)
	return w.expect("ready")
}

// httpDo sends a request with an optional bearer token and JSON body.
func httpDo(t testing.TB, method, url, token, body string) (*http.Response, []byte) {
	t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			break
		}
	}
	return res, b
}
