// Package figures holds benchmarks with known outcomes for benchrun's tests.
package figures

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

func BenchmarkFigures(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.Logf("progress: n=%d", n)
			for b.Loop() {
			}
			b.ReportMetric(float64(n)*1.5, "p99-ms")
			b.ReportMetric(float64(n), "pods/s")
		})
	}
}

func BenchmarkSkips(b *testing.B) { b.Skip("needs CAP_BPF: not permitted") }

func BenchmarkFails(b *testing.B) { b.Fatal("boom: the thing broke") }

// BenchmarkLeavesProcess starts a sleep it never waits for, as a buggy
// benchmark would, and writes its pid where FAKEBENCH_PIDFILE says.
func BenchmarkLeavesProcess(b *testing.B) {
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	if f := os.Getenv("FAKEBENCH_PIDFILE"); f != "" {
		os.WriteFile(f, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	}
	b.ReportMetric(1, "left")
}

// TestSleep sleeps when FAKEBENCH_SLEEP is set, to be killed.
func TestSleep(t *testing.T) {
	if os.Getenv("FAKEBENCH_SLEEP") == "" {
		return
	}
	if f := os.Getenv("FAKEBENCH_PIDFILE"); f != "" {
		os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	time.Sleep(10 * time.Minute)
}
