package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuSample is the CPU time used so far by the child (the gateway, or
// with -product the whole product), this process (the services and the
// load generator, or the load generator alone) and the Redis server.
type cpuSample struct {
	gateway, self, redis time.Duration
	product              bool
}

// cpuUse is CPU cores used over a phase.
type cpuUse struct {
	gateway, self, redis float64
	product              bool // gateway is the whole product's (-product)
}

func (c cpuUse) String() string {
	if c.product {
		return fmt.Sprintf("product %.2f, load %.2f, redis %.2f", c.gateway, c.self, c.redis)
	}
	return fmt.Sprintf("gateway %.2f, services+load %.2f, redis %.2f", c.gateway, c.self, c.redis)
}

func sampleCPU(sys *system) cpuSample {
	return cpuSample{gateway: procCPU(sys.child.Process.Pid), self: cpuTime(), redis: redisCPU(sys), product: sys.role == "product"}
}

func (c cpuSample) since(b cpuSample, wall time.Duration) cpuUse {
	s := wall.Seconds()
	return cpuUse{
		product: c.product,
		gateway: (c.gateway - b.gateway).Seconds() / s,
		self:    (c.self - b.self).Seconds() / s,
		redis:   (c.redis - b.redis).Seconds() / s,
	}
}

// procCPU is the user plus system time of process pid, from /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// redisInfo reads one field of Redis INFO section.
func redisInfo(sys *system, section, field string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := sys.rdb.Info(ctx, section).Result()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// redisCPU is the Redis server's CPU time (the server is shared with
// whatever else uses it).
func redisCPU(sys *system) time.Duration {
	var t float64
	for _, f := range []string{"used_cpu_sys", "used_cpu_user"} {
		v, _ := strconv.ParseFloat(redisInfo(sys, "cpu", f), 64)
		t += v
	}
	return time.Duration(t * float64(time.Second))
}

func redisMaxClients(sys *system) int {
	n, _ := strconv.Atoi(redisInfo(sys, "clients", "maxclients"))
	return n
}

// loadAvg is the machine's 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// redisMemory is the Redis server's used_memory in bytes.
func redisMemory(sys *system) int64 {
	n, _ := strconv.ParseInt(redisInfo(sys, "memory", "used_memory"), 10, 64)
	return n
}

func procRSS(pid int) int64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
