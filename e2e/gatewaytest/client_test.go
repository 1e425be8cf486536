package gatewaytest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/accordchat/accord/suite/client"
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
	res, err := sys.rest.Send(context.Background(), method, path, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	var m obj
	if len(res.Body) > 0 && res.IsJSON() {
		if err := json.Unmarshal(res.Body, &m); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, res.Body, err)
		}
	}
	return res.Status, m
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

// ws is a socket of a test: frames are collected as they arrive, and any
// unexpected one fails the test.
type ws struct {
	*client.WS
	t testing.TB
}

// dial opens a socket, authenticating with the subprotocol (viaHello false)
// or the hello frame, and returns it with its ready frame.
func dial(t testing.TB, token string, viaHello bool, cursors map[string]string) (*ws, obj) {
	t.Helper()
	return dialAt(t, sys.base, token, viaHello, cursors)
}

// dialAt is dial on the gateway at base.
func dialAt(t testing.TB, base, token string, viaHello bool, cursors map[string]string) (*ws, obj) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, ready, err := client.Dial(ctx, base, client.DialOptions{Token: token, TokenInHello: viaHello, Cursors: cursors, Client: "web"})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.Background(10000)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &ws{WS: c, t: t}, decode(t, ready)
}

func decode(t testing.TB, f client.Frame) obj {
	t.Helper()
	var m obj
	if err := json.Unmarshal(f.Raw, &m); err != nil {
		t.Fatalf("frame %q: %v", f.Raw, err)
	}
	return m
}

func (w *ws) send(v any) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Send(ctx, v); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// next returns the next frame, tracking event cursors.
func (w *ws) next(timeout time.Duration) obj {
	w.t.Helper()
	f, err := w.Next(timeout)
	switch {
	case errors.Is(err, client.ErrTimeout):
		w.t.Fatalf("no frame within %s", timeout)
	case err != nil:
		w.t.Fatalf("socket closed: %v", err)
	}
	return decode(w.t, f)
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
