package gateway

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

func tcpPair(t *testing.T) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestCorkConnHoldsWritesUntilUncorked(t *testing.T) {
	peer, raw := tcpPair(t)
	c := &corkConn{Conn: raw}
	c.cork()
	for _, s := range []string{"one ", "two ", "three"} {
		if n, err := c.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("corked write: %d, %v", n, err)
		}
	}
	// Another goroutine's write (a ping, a close frame) queues behind them.
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Write([]byte(" four"))
	}()
	<-done
	_ = peer.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := peer.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("bytes left before uncork: %v", err)
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	if err := c.uncork(); err != nil { // nothing held: harmless
		t.Fatal(err)
	}
	want := "one two three four"
	got := make([]byte, len(want))
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(peer, got); err != nil || string(got) != want {
		t.Fatalf("got %q, %v", got, err)
	}
	// Uncorked, writes go straight out.
	if _, err := c.Write([]byte("five")); err != nil {
		t.Fatal(err)
	}
	got = make([]byte, 4)
	if _, err := io.ReadFull(peer, got); err != nil || string(got) != "five" {
		t.Fatalf("got %q, %v", got, err)
	}
}
