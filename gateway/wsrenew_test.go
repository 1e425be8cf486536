package gateway

import (
	"testing"
	"time"

	"github.com/accordchat/accord/platform/platformtest"
)

func TestSocketEndsWithItsSession(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{})

	t.Run("revoked session closes with 4001 at once", func(t *testing.T) {
		uid, sid := platformtest.NewID(), "sess-"+platformtest.RandomHex(6)
		tok, _, _ := fw.env.Signer.UserToken(uid, sid, false, time.Hour)
		c := dialWS(t, fw.srv.URL, tok)
		c.hello("")
		// Presence heartbeats every second in the fakes: the stream, not a
		// heartbeat, must end the socket, so the bound is well below it.
		if err := fw.env.Revocations.Revoke(t.Context(), sid, time.Hour); err != nil {
			t.Fatal(err)
		}
		revoked := time.Now()
		code, reason := c.closed(5 * time.Second)
		if code != CloseUnauthenticated {
			t.Fatalf("closed with %d %q, want 4001", code, reason)
		}
		if d := time.Since(revoked); d > 900*time.Millisecond {
			t.Errorf("socket closed %v after the revocation", d)
		}
	})

	t.Run("expired token closes with 4001", func(t *testing.T) {
		uid := platformtest.NewID()
		tok, exp, _ := fw.env.Signer.UserToken(uid, "sess-"+platformtest.RandomHex(6), false, 1500*time.Millisecond)
		c := dialWS(t, fw.srv.URL, tok)
		c.hello("")
		code, reason := c.closed(10 * time.Second)
		if code != CloseUnauthenticated {
			t.Fatalf("closed with %d %q, want 4001", code, reason)
		}
		if d := time.Since(exp); d > time.Second {
			t.Errorf("socket closed %v after the token expired", d)
		}
	})

	t.Run("a fresh token keeps the socket past the old one's expiry", func(t *testing.T) {
		uid, sid := platformtest.NewID(), "sess-"+platformtest.RandomHex(6)
		tok, exp, _ := fw.env.Signer.UserToken(uid, sid, false, 1500*time.Millisecond)
		c := dialWS(t, fw.srv.URL, tok)
		c.hello("")
		fresh, _, _ := fw.env.Signer.UserToken(uid, sid, false, time.Hour)
		c.send(map[string]any{"type": "token", "token": fresh})
		c.send(map[string]any{"type": "ping", "nonce": "n"})
		c.expect("pong")
		time.Sleep(time.Until(exp.Add(500 * time.Millisecond)))
		fw.server.publish(msgEvent("user:"+uid, "m-after", "after expiry"))
		c.until(5*time.Second, func(f map[string]any) bool { return eventContent(f) == "after expiry" })
	})
}
