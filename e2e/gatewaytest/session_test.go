package gatewaytest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/accordchat/accord/suite/client"
)

// restStream is a client of a streaming REST route, collecting its lines.
type restStream struct {
	mu    sync.Mutex
	lines []string
	done  chan struct{}
	ended time.Time
}

// openStream posts body to a streaming route of the gateway at base; the
// answer is read in the background (its headers may wait for a first line).
func openStream(t *testing.T, base, path, token, body string) *restStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "POST", base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	s := &restStream{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer func() {
			s.mu.Lock()
			s.ended = time.Now()
			s.mu.Unlock()
		}()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			s.mu.Lock()
			s.lines = append(s.lines, "request failed: "+err.Error())
			s.mu.Unlock()
			return
		}
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			s.mu.Unlock()
		}
	}()
	return s
}

// has reports whether a line contains text.
func (s *restStream) has(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines {
		if strings.Contains(l, text) {
			return true
		}
	}
	return false
}

// waitFor waits until a line contains text.
func (s *restStream) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !s.has(text) {
		if time.Now().After(deadline) {
			t.Fatalf("no line with %q", text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// endedWithin waits for the end of the stream and fails unless it came
// within d of since, and as UNAUTHENTICATED.
func (s *restStream) endedWithin(t *testing.T, what string, since time.Time, d time.Duration) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the stream is still open", what)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if took := s.ended.Sub(since); took > d {
		t.Errorf("%s: the stream ended %v after the session did", what, took)
	}
	if last := s.lines[len(s.lines)-1]; !strings.Contains(last, `"code":16`) {
		t.Errorf("%s: last line %s, want an UNAUTHENTICATED error", what, last)
	}
}

// closedWithin drains a socket until it closes, within d of since, with
// 4001, and returns the frames it received meanwhile.
func (w *ws) closedWithin(t *testing.T, what string, since time.Time, d time.Duration) []obj {
	t.Helper()
	var got []obj
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := w.Next(time.Until(deadline))
		switch {
		case err == nil:
			got = append(got, decode(t, f))
			continue
		case errors.Is(err, client.ErrTimeout):
			t.Fatalf("%s: the socket is still open", what)
		}
		if took := time.Since(since); took > d {
			t.Errorf("%s: the socket closed %v after the session ended", what, took)
		}
		if code := websocket.CloseStatus(err); code != 4001 {
			t.Errorf("%s: closed with %d, want 4001", what, code)
		}
		return got
	}
}

// seen reads frames for up to d and reports whether a message_created
// event whose content starts with prefix came.
func (w *ws) seen(prefix string, d time.Duration) bool {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for {
		f, err := w.Next(time.Until(deadline))
		switch {
		case errors.Is(err, client.ErrTimeout):
			return false
		case err != nil:
			w.t.Fatalf("socket closed: %v", err)
		}
		if strings.HasPrefix(str(decode(w.t, f), "event", "message_created", "content"), prefix) {
			return true
		}
	}
}

// TestSessionEndEndsStreams signs bob in on two gateways (two WebSockets
// and two REST event streams), ends his session in each way a session ends,
// and checks that every stream ends within a second and that no message
// sent after the end reaches him.
func TestSessionEndEndsStreams(t *testing.T) {
	alice, bob := register(t, "alice"), register(t, "bob")
	must(t, "POST", "/v1/relationships:sendFriendRequest", alice.token, obj{"login": bob.login})
	must(t, "POST", "/v1/relationships/"+alice.id+":accept", bob.token, obj{})
	conv := must(t, "POST", "/v1/conversations", alice.token, obj{"user_id": bob.id})
	dmChan := str(conv, "channel", "id")

	login := func() (access, refresh string) {
		m := must(t, "POST", "/v1/auth:login", "", obj{"login": bob.login, "password": "correct horse battery", "client": "web"})
		return str(m, "tokens", "access_token"), str(m, "tokens", "refresh_token")
	}
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, access, refresh string)
	}{
		{"logout", func(t *testing.T, access, _ string) {
			must(t, "POST", "/v1/auth:logout", access, obj{})
		}},
		{"refresh token reuse", func(t *testing.T, _, refresh string) {
			must(t, "POST", "/v1/auth:refresh", "", obj{"refresh_token": refresh})
			// The spent token again: it leaked, the session ends.
			if code, m := rest(t, "POST", "/v1/auth:refresh", "", obj{"refresh_token": refresh}); code != http.StatusUnauthorized {
				t.Fatalf("reused refresh token = %d %v", code, m)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			access, refresh := login()
			w1, _ := dialAt(t, sys.base, access, false, nil)
			w2, _ := dialAt(t, sys.base2, access, true, nil)
			s1 := openStream(t, sys.base, "/v1/events:stream", access, `{}`)
			s2 := openStream(t, sys.base2, "/v1/events:stream", access, `{}`)
			p2 := openStream(t, sys.base2, "/v1/presence:watch", access, `{"user_ids":["`+alice.id+`"]}`)
			// Streams start live: alice writes until a message of hers
			// reached every one of them, so all are open upstream.
			p2.waitFor(t, alice.id)
			before := "before " + tc.name
			got := map[any]bool{}
			for i := 0; len(got) < 4; i++ {
				if i == 50 {
					t.Fatalf("only %d of 4 streams got a message", len(got))
				}
				must(t, "POST", "/v1/channels/"+dmChan+"/messages", alice.token, obj{"content": fmt.Sprint(before, i)})
				for _, w := range []*ws{w1, w2} {
					if !got[w] && w.seen(before, 200*time.Millisecond) {
						got[w] = true
					}
				}
				for _, s := range []*restStream{s1, s2} {
					if !got[s] && s.has(before) {
						got[s] = true
					}
				}
			}

			tc.end(t, access, refresh)
			ended := time.Now()
			after := "after " + tc.name
			must(t, "POST", "/v1/channels/"+dmChan+"/messages", alice.token, obj{"content": after})

			for name, w := range map[string]*ws{"socket on gateway 1": w1, "socket on gateway 2": w2} {
				for _, f := range w.closedWithin(t, name, ended, time.Second) {
					if str(f, "event", "message_created", "content") == after {
						t.Errorf("%s received a message sent after the session ended", name)
					}
				}
			}
			for name, s := range map[string]*restStream{"REST stream on gateway 1": s1, "REST stream on gateway 2": s2, "REST presence watch on gateway 2": p2} {
				s.endedWithin(t, name, ended, time.Second)
				if s.has(after) {
					t.Errorf("%s received a message sent after the session ended", name)
				}
			}
		})
	}
}

// TestRESTInputRules checks, against the real services, the REST edge's
// input rules: every route refuses a path parameter that is not UTF-8 by
// name, update masks take proto field names, message text refuses control
// characters, and a body is exactly one JSON value.
func TestRESTInputRules(t *testing.T) {
	alice := register(t, "alice")
	t.Run("every route names a path parameter that is not UTF-8", func(t *testing.T) {
		for _, r := range protoRoutes(t) {
			names := param.FindAllStringSubmatch(r.path, -1)
			for i, bad := range names {
				k := 0
				path := param.ReplaceAllStringFunc(r.path, func(string) string {
					k++
					if k-1 == i {
						return "%FF%FE"
					}
					return "0123456789abcdef01234567"
				})
				var body any
				if r.body {
					body = "{}"
				}
				for _, token := range []string{"", alice.token} {
					code, m := rest(t, r.method, path, token, body)
					if code != http.StatusBadRequest || str(m, "code") != "INVALID_ARGUMENT" || str(m, "field") != bad[1] {
						t.Errorf("%s %s = %d %v, want 400 naming %s", r.method, path, code, m, bad[1])
					}
				}
			}
		}
	})
	t.Run("a query parameter that is not UTF-8 is named", func(t *testing.T) {
		for _, path := range []string{"/v1/users:lookup?login=%FF%FE", "/v1/readStates?server_id=%FF", "/v1/users:search?login_prefix=%FF"} {
			code, m := rest(t, "GET", path, alice.token, nil)
			if code != http.StatusBadRequest || str(m, "field") == "" {
				t.Errorf("GET %s = %d %v, want 400 naming the parameter", path, code, m)
			}
		}
	})
	t.Run("update masks take proto field names and lowerCamel", func(t *testing.T) {
		for i, m := range []string{"display_name,status_text", "displayName,statusText"} {
			name := []string{"Alice X", "Alice Y"}[i]
			got := must(t, "PATCH", "/v1/me", alice.token, obj{"user": obj{"display_name": name, "status_text": "probing " + m}, "update_mask": m})
			wantFields(t, "updated user", got["user"].(obj), obj{"display_name": name, "status_text": "probing " + m})
		}
	})
	t.Run("message text", func(t *testing.T) {
		created := must(t, "POST", "/v1/servers", alice.token, obj{"name": "Rules"})
		general := str(created, "channel", "id")
		msg := must(t, "POST", "/v1/channels/"+general+"/messages", alice.token, obj{"content": "two\nlines\tand a tab"})
		id := str(msg, "message", "id")
		for _, bad := range []string{"\u0000", "\u001b[2J\u001b[31mfake system notice\u0007", "a\rb", "\u0085"} {
			b, _ := json.Marshal(obj{"content": bad})
			for _, call := range []struct{ method, path string }{
				{"POST", "/v1/channels/" + general + "/messages"},
				{"PATCH", "/v1/channels/" + general + "/messages/" + id},
			} {
				code, m := rest(t, call.method, call.path, alice.token, b)
				if code != http.StatusBadRequest || str(m, "field") != "content" {
					t.Errorf("%s %q = %d %v, want 400 naming content", call.method, bad, code, m)
				}
			}
		}
		for _, body := range []string{`{"content":"a"} trailing`, `{"content":"first"}{"content":"second"}`} {
			code, m := rest(t, "POST", "/v1/channels/"+general+"/messages", alice.token, body)
			if code != http.StatusBadRequest || str(m, "reason") != "MALFORMED_REQUEST" {
				t.Errorf("%s = %d %v, want 400 MALFORMED_REQUEST", body, code, m)
			}
		}
	})
}
