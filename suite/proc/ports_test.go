package proc

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TestFreeAddr: the ports are distinct, below the ephemeral range, free to
// listen on, and reserved against other test processes (a second lock on a
// handed port's file fails as it would in another process).
func TestFreeAddr(t *testing.T) {
	_, hi := portRange()
	seen := map[string]bool{}
	for range 50 {
		addr := FreeAddr(t)
		if seen[addr] {
			t.Fatalf("%s handed twice", addr)
		}
		seen[addr] = true
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(p)
		if port > hi {
			t.Fatalf("port %d is in the ephemeral range (from %d)", port, hi+1)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen on %s: %v", addr, err)
		}
		l.Close()
		f, err := os.Open(filepath.Join(os.TempDir(), "accord-test-ports", p))
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			t.Fatalf("port %s is not reserved: a second lock succeeded", p)
		}
		f.Close()
	}
}
