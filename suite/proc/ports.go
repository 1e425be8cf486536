package proc

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// FreeAddr returns a loopback address for a process to listen on: nobody
// listens on its port now, and no other caller of FreeAddr on this machine
// is handed it while this test process runs.
//
// A port the kernel picked (":0") would not do: it comes from the
// ephemeral range, from which every outgoing connection also takes its
// local port, so between FreeAddr and the process's listen (seconds, while
// the processes before it start), or while a test restarts the process,
// any connection on the machine may take it and the process fails to
// start. The port is therefore taken below the ephemeral range, where only
// explicit binds go, and reserved across test processes by a lock on a
// file named after it (held until this process exits, when the kernel
// releases it).
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := reservePort()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// held keeps the lock files of the ports handed out open for the
// process's life. A port is handed once: a second lock on its file fails in
// this process as in any other (flock locks belong to the open file).
var held struct {
	sync.Mutex
	files []*os.File
}

// portRange is where FreeAddr looks: from 20000 to just below the kernel's
// ephemeral range (Linux's default starts at 32768).
func portRange() (lo, hi int) {
	lo, hi = 20000, 32767
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) == 2 {
		if start, err := strconv.Atoi(f[0]); err == nil && start-1 < hi {
			hi = start - 1
		}
	}
	return lo, hi
}

func reservePort() (string, error) {
	held.Lock()
	defer held.Unlock()
	lo, hi := portRange()
	dir := filepath.Join(os.TempDir(), "accord-test-ports")
	if hi-lo < 1000 || os.MkdirAll(dir, 0o777) != nil {
		// No room below the ephemeral range, or nowhere to reserve: let
		// the kernel pick, as a last resort.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		defer l.Close()
		return l.Addr().String(), nil
	}
	n := hi - lo + 1
	start := rand.IntN(n)
	for i := range n {
		port := lo + (start+i)%n
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // handed out already, here or in another test process
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			f.Close() // something else listens there
			continue
		}
		l.Close()
		held.files = append(held.files, f)
		return addr, nil
	}
	return "", fmt.Errorf("no free port in %d-%d", lo, hi)
}
