package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// floorResult is what plain TCP achieved.
type floorResult struct {
	rate  float64 // deliveries per second
	cores float64 // CPU time of this process per second of the run
}

// tcpFloor measures what the kernel alone costs for the fan-out: n loopback
// TCP connections, every message written to each with its own write (the
// gateway's pattern when a socket is not behind), read by a goroutine per
// connection, with frames of the event frames' size and no Accord code at
// all. It runs in this process while the services are idle, so the CPU
// time of this process is the floor's.
func tcpFloor(ctx context.Context, n, rate, messages, frameSize int) (floorResult, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return floorResult{}, err
	}
	defer ln.Close()
	frame := make([]byte, frameSize)
	writers := make([]chan struct{}, n)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var got sync.WaitGroup
	for i := range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return floorResult{}, err
		}
		s, err := ln.Accept()
		if err != nil {
			c.Close()
			return floorResult{}, err
		}
		conns = append(conns, c, s)
		got.Add(1)
		go func() {
			defer got.Done()
			r := bufio.NewReader(c)
			buf := make([]byte, frameSize)
			for range messages {
				if _, err := io.ReadFull(r, buf); err != nil {
					return
				}
			}
		}()
		writers[i] = make(chan struct{}, messages)
		go func() {
			for range writers[i] {
				if _, err := s.Write(frame); err != nil {
					return
				}
			}
		}()
	}
	before := cpuTime()
	start := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for k := range messages {
		if k > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return floorResult{}, ctx.Err()
			}
		}
		for _, w := range writers {
			w <- struct{}{}
		}
	}
	for _, w := range writers {
		close(w)
	}
	got.Wait()
	d := time.Since(start)
	return floorResult{
		rate:  float64(n*messages) / d.Seconds(),
		cores: (cpuTime() - before).Seconds() / d.Seconds(),
	}, nil
}

// cpuTime is the user plus system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func printFloor(label string, r floorResult) {
	fmt.Printf("%-9s TCP floor  : %9.0f deliveries/s using %.2f of %d cores (plain loopback TCP, one write per frame)\n", label, r.rate, r.cores, runtime.NumCPU())
}
