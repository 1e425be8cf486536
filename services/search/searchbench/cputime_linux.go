package searchbench

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTime is CLOCK_THREAD_CPUTIME_ID: the calling thread's CPU
// time, to the nanosecond.
const clockThreadCPUTime = 3

func threadCPU() (time.Duration, bool) {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// onThread runs f on one OS thread and returns the CPU time that thread
// spent in it: the query's own cost, whatever else the machine is doing.
// Work f hands to other goroutines (the garbage collector's) is not
// counted.
func onThread(f func() error) (time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, ok := threadCPU()
	err := f()
	after, ok2 := threadCPU()
	if !ok || !ok2 {
		return 0, err
	}
	return after - before, err
}
