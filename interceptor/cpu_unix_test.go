//go:build unix

package interceptor_test

import (
	"syscall"
	"testing"
	"time"
)

// cpuPerOp (as in bench/) starts counting the process's CPU time (user and system, every
// goroutine: client, server, gateway); the function it returns reports it
// per operation as cpu-ns/op. On a shared machine other tenants stretch
// wall time (sec/op) but hardly this, so its ratios are throughput ratios
// of a machine the benchmark has to itself.
func cpuPerOp(b *testing.B) (report func()) {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
