package container

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeFiles writes a fake cgroup (or proc) tree.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCgroupStatsFakeRoots(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		// cgroup v1: separate cpuacct and memory hierarchies.
		"v1/cpuacct/tug/c1/cpuacct.usage":        "123456789\n",
		"v1/memory/tug/c1/memory.usage_in_bytes": "10485760\n",
		"v1/memory/tug/c1/memory.stat":           "cache 4194304\ninactive_file 1\ntotal_inactive_file 3145728\ntotal_active_file 1048576\n",
		"v1/memory/tug/c1/memory.oom_control":    "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
		// cgroup v2.
		"v2/tug/c1/cpu.stat":       "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n",
		"v2/tug/c1/memory.current": "8388608\n",
		"v2/tug/c1/memory.stat":    "anon 4194304\nfile 4194304\ninactive_file 9999999999\n",
		"v2/tug/c1/memory.events":  "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n",
		"v2/cpu.stat":              "usage_usec 1000000\n",
		"meminfo":                  "MemTotal:       16000 kB\nMemFree:         4000 kB\nInactive(file):  2000 kB\n",
		// An old v1 kernel without the oom_kill counter.
		"old/memory/c/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\n",
		"old/memory/c/memory.failcnt":     "7\n",
	})
	now := time.Unix(1700000000, 0)
	v1 := filesFromPaths(map[string]string{
		"cpuacct": filepath.Join(root, "v1/cpuacct/tug/c1"),
		"memory":  filepath.Join(root, "v1/memory/tug/c1"),
		"":        filepath.Join(root, "unified-without-controllers"),
	})
	v2 := filesFromPaths(map[string]string{"": filepath.Join(root, "v2/tug/c1")})
	if v1.v2 || !v2.v2 {
		t.Fatalf("mode: v1 files %+v, v2 files %+v", v1, v2)
	}
	tests := []struct {
		name  string
		files cgroupFiles
		want  Stats
	}{
		{"v1 (hybrid paths)", v1, Stats{Time: now, CPUUsageNanos: 123456789, MemoryUsageBytes: 10485760, MemoryWorkingSetBytes: 10485760 - 3145728}},
		{"v2, inactive above usage floors at 0", v2, Stats{Time: now, CPUUsageNanos: 2500000, MemoryUsageBytes: 8388608}},
		{"v2 root from meminfo", cgroupMounts{v2: true, unified: filepath.Join(root, "v2")}.files("", filepath.Join(root, "meminfo")),
			Stats{Time: now, CPUUsageNanos: 1000000000, MemoryUsageBytes: 12000 * 1024, MemoryWorkingSetBytes: 10000 * 1024}},
		{"v1 via mounts", cgroupMounts{cpuacct: filepath.Join(root, "v1/cpuacct"), memory: filepath.Join(root, "v1/memory")}.files("tug/c1", ""),
			Stats{Time: now, CPUUsageNanos: 123456789, MemoryUsageBytes: 10485760, MemoryWorkingSetBytes: 10485760 - 3145728}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.files.read(now)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}

	ooms := []struct {
		name    string
		files   cgroupFiles
		sigkill bool
		want    bool
	}{
		{"v1 counter", v1, false, true},
		{"v2 counter zero", v2, true, false},
		{"old v1, limit hit and SIGKILL", cgroupFiles{memory: filepath.Join(root, "old/memory/c")}, true, true},
		{"old v1, limit hit, clean exit", cgroupFiles{memory: filepath.Join(root, "old/memory/c")}, false, false},
	}
	for _, tt := range ooms {
		got, err := tt.files.oomKilled(tt.sigkill)
		if err != nil || got != tt.want {
			t.Errorf("%s: oomKilled = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	if _, err := (cgroupFiles{v2: true, unified: filepath.Join(root, "missing")}).read(now); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing cgroup: err = %v, want ErrNotExist", err)
	}
}

func TestWorkingSet(t *testing.T) {
	for _, tt := range []struct{ usage, inactive, want uint64 }{{100, 30, 70}, {100, 100, 0}, {100, 200, 0}, {0, 0, 0}} {
		if got := workingSet(tt.usage, tt.inactive); got != tt.want {
			t.Errorf("workingSet(%d, %d) = %d, want %d", tt.usage, tt.inactive, got, tt.want)
		}
	}
}

func TestExitReason(t *testing.T) {
	for _, tt := range []struct {
		exit ExitStatus
		want string
	}{
		{ExitStatus{Code: 0}, "Completed"},
		{ExitStatus{Code: 2}, "Error"},
		{ExitStatus{Code: 137}, "Error"},
		{ExitStatus{Code: 137, OOMKilled: true}, "OOMKilled"},
		{ExitStatus{Code: -1}, "Unknown"},
	} {
		if got := exitReason(tt.exit); got != tt.want {
			t.Errorf("exitReason(%+v) = %s, want %s", tt.exit, got, tt.want)
		}
	}
}

func TestSwapAccountingFakeRoots(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"v2-swap/system.slice/memory.swap.max": "max\n",
		"v2-noswap/system.slice/memory.max":    "max\n",
		"v1-swap/memory.memsw.limit_in_bytes":  "9223372036854771712\n",
		"v1-noswap/memory.limit_in_bytes":      "9223372036854771712\n",
	})
	for _, tt := range []struct {
		name         string
		v2           bool
		unified, mem string
		want         bool
	}{
		{"v2 with swap", true, "v2-swap", "", true},
		{"v2 without swap", true, "v2-noswap", "", false},
		{"v1 with memsw", false, "", "v1-swap", true},
		{"v1 without memsw", false, "", "v1-noswap", false},
		{"v1 without memory controller", false, "", "", false},
	} {
		mem := tt.mem
		if mem != "" {
			mem = filepath.Join(root, mem)
		}
		if got := swapAccounting(tt.v2, filepath.Join(root, tt.unified), mem); got != tt.want {
			t.Errorf("%s: swapAccounting = %v, want %v", tt.name, got, tt.want)
		}
	}
}
