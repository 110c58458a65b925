package container

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"golang.org/x/sys/unix"
)

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func benchCgroupCleanup(b *testing.B, parent string) {
	b.Cleanup(func() {
		for _, d := range cgroupDirs(b, parent) {
			_ = unix.Rmdir(d)
		}
	})
}

// BenchmarkCreateStart measures libcontainer alone, as runc's and crun's
// published create-start-delete numbers do: create a container from the
// spec this package builds (default profile: seccomp, capabilities, masked
// paths, devices, cgroups), start `true`, wait, destroy. The rootfs overlay
// is mounted once. child-cpu-ms/op is the CPU time of libcontainer's init
// (this test binary re-executed; the real tug binary's start-up costs more,
// see BenchmarkRuntimeRun), self-cpu-ms/op libcontainer's parent side.
func BenchmarkCreateStart(b *testing.B) {
	requireRoot(b)
	if !seccompBuiltIn {
		b.Fatal("run with -tags seccomp")
	}
	dir := b.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := ensureOverlay(testRootfs, filepath.Join(dir, "upper"), filepath.Join(dir, "work"), rootfs); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ensureUnmounted(rootfs) })
	parent := "tug-bench-" + randomSuffix()
	benchCgroupCleanup(b, parent)
	host := detectHost(parent)
	var err error
	if host.allCapabilities, err = boundingCapabilities(); err != nil {
		b.Fatal(err)
	}
	lcRoot := filepath.Join(dir, "libcontainer")
	var starts, cycles []time.Duration
	self0, children0 := cpuTime(b, unix.RUSAGE_SELF), cpuTime(b, unix.RUSAGE_CHILDREN)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		c := Container{ID: fmt.Sprintf("bench-%d", i), RootfsLower: testRootfs, Command: []string{"true"}}
		spec, err := buildSpec(c, rootfs, host)
		if err != nil {
			b.Fatal(err)
		}
		cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: c.ID, Spec: spec})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		lc, err := libcontainer.Create(lcRoot, c.ID, cfg)
		if err != nil {
			b.Fatal(err)
		}
		p := &libcontainer.Process{Args: spec.Process.Args, Env: spec.Process.Env, Cwd: spec.Process.Cwd, Init: true}
		if err := lc.Run(p); err != nil {
			b.Fatal(err)
		}
		starts = append(starts, time.Since(t0))
		if _, err := p.Wait(); err != nil {
			b.Fatal(err)
		}
		if err := lc.Destroy(); err != nil {
			b.Fatal(err)
		}
		cycles = append(cycles, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(ms(b.Elapsed())/float64(b.N), "ms/op")
	b.ReportMetric(ms(median(cycles)), "median-ms")
	b.ReportMetric(ms(median(starts)), "create+start-median-ms")
	b.ReportMetric(ms(percentile(cycles, 0.9)), "p90-ms")
	b.ReportMetric(ms(cpuTime(b, unix.RUSAGE_CHILDREN)-children0)/float64(b.N), "child-cpu-ms/op")
	b.ReportMetric(ms(cpuTime(b, unix.RUSAGE_SELF)-self0)/float64(b.N), "self-cpu-ms/op")
}

// cpuTime is the user+system CPU time of this process (RUSAGE_SELF) or of
// its reaped descendants (RUSAGE_CHILDREN).
func cpuTime(b *testing.B, who int) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRuntimeRun measures the whole path the agent takes: Create
// (overlay mount, spec, config), Start (monitor process, libcontainer,
// log pipes), Wait for `true`, Destroy (cgroups, unmount, state).
//
// The monitor and init roles run in this test binary; set
// TUG_BENCH_EXECUTABLE to a tug binary (built with -tags seccomp) to
// measure with the real one, whose start-up (package initialisation of
// everything it links) is paid twice per container.
//
// child-cpu-ms/op is the CPU time of each container's monitor and init
// processes (user+system, from the monitors' rusage once reaped), the
// cost that limits how many containers a node starts per second;
// self-cpu-ms/op is this process's (Create, Start, Wait, Destroy).
func BenchmarkRuntimeRun(b *testing.B) {
	r := newTestRuntime(b, func(c *Config) { c.Executable = os.Getenv("TUG_BENCH_EXECUTABLE") })
	ctx := context.Background()
	logDir := b.TempDir()
	var starts, cycles []time.Duration
	self0, children0 := cpuTime(b, unix.RUSAGE_SELF), cpuTime(b, unix.RUSAGE_CHILDREN)
	b.ResetTimer()
	for i := range b.N {
		c := Container{
			ID: fmt.Sprintf("bench-%d", i), RootfsLower: testRootfs, Command: []string{"true"},
			LogPath: filepath.Join(logDir, fmt.Sprintf("%d.log", i)),
		}
		t0 := time.Now()
		if err := r.Create(ctx, c); err != nil {
			b.Fatal(err)
		}
		if err := r.Start(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
		starts = append(starts, time.Since(t0))
		if _, err := r.Wait(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
		if err := r.Destroy(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
		cycles = append(cycles, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(ms(b.Elapsed())/float64(b.N), "ms/op")
	b.ReportMetric(ms(median(cycles)), "median-ms")
	b.ReportMetric(ms(median(starts)), "create+start-median-ms")
	b.ReportMetric(ms(percentile(cycles, 0.9)), "p90-ms")
	// Start reaps each monitor in a goroutine as soon as it exits, which
	// it has once Wait returned; the last one may still be on its way.
	b.ReportMetric(ms(cpuTime(b, unix.RUSAGE_CHILDREN)-children0)/float64(b.N), "child-cpu-ms/op")
	b.ReportMetric(ms(cpuTime(b, unix.RUSAGE_SELF)-self0)/float64(b.N), "self-cpu-ms/op")
}
