package e2etest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// obj is a decoded JSON object.
type obj = map[string]any

// get walks nested objects: get(m, "event", "message_created", "id").
func get(m obj, path ...string) any {
	var cur any = m
	for _, p := range path {
		o, ok := cur.(obj)
		if !ok {
			return nil
		}
		cur = o[p]
	}
	return cur
}

func str(m obj, path ...string) string {
	s, _ := get(m, path...).(string)
	return s
}

// rest calls the REST API and decodes the JSON answer.
func rest(t testing.TB, method, path, token string, body any) (int, obj) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, sys.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m obj
	if len(b) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, b, err)
		}
	}
	return res.StatusCode, m
}

// must calls rest and fails unless the answer is 200.
func must(t testing.TB, method, path, token string, body any) obj {
	t.Helper()
	code, m := rest(t, method, path, token, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s = %d %v", method, path, code, m)
	}
	return m
}

// ws is a test client of /v1/events collecting frames as they arrive.
type ws struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan obj
	mu     sync.Mutex
	err    error
	// cursors keeps the last cursor per scope, as the web app does.
	cursors map[string]string
}

// dial opens a socket, authenticating with the subprotocol (viaHello false)
// or the hello frame, and waits for ready.
func dial(t testing.TB, token string, viaHello bool, cursors map[string]string) (*ws, obj) {
	t.Helper()
	return dialAt(t, sys.base, token, viaHello, cursors)
}

// dialAt is dial on the gateway at base.
func dialAt(t testing.TB, base, token string, viaHello bool, cursors map[string]string) (*ws, obj) {
	t.Helper()
	protos := []string{"accord.v1"}
	if !viaHello {
		protos = append(protos, "bearer."+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/events", &websocket.DialOptions{Subprotocols: protos})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	w := &ws{t: t, c: c, frames: make(chan obj, 10000), cursors: map[string]string{}}
	for k, v := range cursors {
		w.cursors[k] = v
	}
	go w.read()
	t.Cleanup(func() { _ = c.CloseNow() })
	hello := obj{"type": "hello", "client": "web"}
	if viaHello {
		hello["token"] = token
	}
	var list []obj
	for s, p := range cursors {
		list = append(list, obj{"scope": s, "position": p})
	}
	if len(list) > 0 {
		hello["cursors"] = list
	}
	w.send(hello)
	return w, w.expect("ready")
}

func (w *ws) read() {
	defer close(w.frames)
	for {
		_, b, err := w.c.Read(context.Background())
		if err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
			return
		}
		var m obj
		if err := json.Unmarshal(b, &m); err != nil {
			w.mu.Lock()
			w.err = errors.New("invalid JSON frame: " + string(b))
			w.mu.Unlock()
			return
		}
		w.frames <- m
	}
}

func (w *ws) send(v any) {
	w.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// next returns the next frame, tracking event cursors.
func (w *ws) next(timeout time.Duration) obj {
	w.t.Helper()
	select {
	case f, ok := <-w.frames:
		if !ok {
			w.mu.Lock()
			err := w.err
			w.mu.Unlock()
			w.t.Fatalf("socket closed: %v", err)
		}
		if f["type"] == "event" {
			if s, c := str(f, "event", "scope"), str(f, "event", "cursor"); s != "" && c != "" {
				w.cursors[s] = c
			}
		}
		return f
	case <-time.After(timeout):
		w.t.Fatalf("no frame within %s", timeout)
	}
	return nil
}

func (w *ws) expect(typ string) obj {
	w.t.Helper()
	f := w.next(10 * time.Second)
	if f["type"] != typ {
		w.t.Fatalf("frame %v, want type %s", f, typ)
	}
	return f
}

// event waits for the next event frame with the given payload, skipping
// only the kinds listed in skip, and returns the payload. Any other frame
// fails the test: the feed must carry exactly what the scenario caused.
func (w *ws) event(payload string, skip ...string) (obj, obj) {
	w.t.Helper()
	for {
		f := w.next(10 * time.Second)
		kind := frameKind(f)
		if kind == payload {
			return f["event"].(obj), get(f, "event", payload).(obj)
		}
		skipped := false
		for _, s := range skip {
			skipped = skipped || s == kind
		}
		if !skipped {
			w.t.Fatalf("got %s frame %v while waiting for %s", kind, f, payload)
		}
	}
}

// frameKind is a frame's type, or for events the payload field.
func frameKind(f obj) string {
	if f["type"] != "event" {
		return f["type"].(string)
	}
	for k := range f["event"].(obj) {
		switch k {
		case "scope", "cursor", "create_time":
		default:
			return k
		}
	}
	return "event"
}

// quiet checks that no frame arrives for d (after a ping round trip).
func (w *ws) quiet(nonce string) {
	w.t.Helper()
	w.send(obj{"type": "ping", "nonce": nonce})
	f := w.next(10 * time.Second)
	if f["type"] != "pong" || f["nonce"] != nonce {
		w.t.Fatalf("expected only pong %s, got %v", nonce, f)
	}
}

// closed waits for the server to close the socket and returns the code.
func (w *ws) closed() websocket.StatusCode {
	w.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-w.frames:
			if ok {
				continue
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			return websocket.CloseStatus(w.err)
		case <-deadline:
			w.t.Fatal("socket not closed")
		}
	}
}
