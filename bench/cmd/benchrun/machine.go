package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Machine describes where the benchmarks ran.
type Machine struct {
	Hostname  string `json:"hostname"`
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	MemoryGiB string `json:"memory_gib"`
	Kernel    string `json:"kernel"`
	OS        string `json:"os"`
	Go        string `json:"go"`
	Cgroups   string `json:"cgroups"`
	TempFS    string `json:"temp_fs"` // filesystem of the temp dir (etcd's data in benchmarks)
	Root      bool   `json:"root"`
	Commit    string `json:"commit"`
}

func describeMachine(ctx context.Context, g goCmd) Machine {
	m := Machine{Cores: runtime.NumCPU(), Root: os.Geteuid() == 0}
	m.Hostname, _ = os.Hostname()
	m.CPU = firstField("/proc/cpuinfo", "model name", ":")
	if kb, err := strconv.ParseFloat(strings.Fields(firstField("/proc/meminfo", "MemTotal", ":") + " 0")[0], 64); err == nil {
		m.MemoryGiB = fmt.Sprintf("%.1f", kb/(1<<20))
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Machine[:])
	}
	m.OS = strings.Trim(firstField("/etc/os-release", "PRETTY_NAME", "="), `"`)
	if v, err := g.output(ctx, "env", "GOVERSION"); err == nil {
		m.Go = strings.TrimSpace(v)
	}
	m.Cgroups = cgroupMode()
	m.TempFS = fsType(os.TempDir())
	m.Commit = gitCommit(ctx, g.root)
	return m
}

// firstField returns the value of the first "key<sep>value" line of file.
func firstField(file, key, sep string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// cgroupMode names the cgroup layout: unified (v2 only), hybrid (v1 with
// v2 at /sys/fs/cgroup/unified) or legacy (v1 only).
func cgroupMode() string {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) != nil {
		return "unknown"
	}
	switch st.Type {
	case unix.CGROUP2_SUPER_MAGIC:
		return "v2 (unified)"
	case unix.TMPFS_MAGIC:
		var u unix.Statfs_t
		if unix.Statfs("/sys/fs/cgroup/unified", &u) == nil && u.Type == unix.CGROUP2_SUPER_MAGIC {
			return "hybrid (v1, v2 at /sys/fs/cgroup/unified)"
		}
		return "v1 (legacy)"
	}
	return fmt.Sprintf("unknown (fs magic %#x)", st.Type)
}

// fsType names the filesystem holding path.
func fsType(path string) string {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil {
		return "unknown"
	}
	names := map[int64]string{
		unix.EXT4_SUPER_MAGIC: "ext4", unix.TMPFS_MAGIC: "tmpfs", unix.XFS_SUPER_MAGIC: "xfs",
		unix.BTRFS_SUPER_MAGIC: "btrfs", unix.OVERLAYFS_SUPER_MAGIC: "overlay",
	}
	if n, ok := names[int64(st.Type)]; ok {
		return n
	}
	return fmt.Sprintf("fs magic %#x", st.Type)
}

func gitCommit(ctx context.Context, root string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += " + uncommitted changes"
	}
	return c
}

// Load is how busy the machine was while the benchmarks ran.
type Load struct {
	Start1m float64 `json:"loadavg_1m_start"`
	Max1m   float64 `json:"loadavg_1m_max"`
	End1m   float64 `json:"loadavg_1m_end"`
	// OthersCPUShare is the share of the machine's CPU time (all cores)
	// used by processes other than the benchmarks during the run.
	OthersCPUShare float64 `json:"others_cpu_share"`
	// OwnCPUSeconds is the CPU time of the go commands benchrun ran.
	OwnCPUSeconds float64 `json:"own_cpu_s"`
}

// Loaded reports whether other work competed noticeably with the run.
func (l Load) Loaded() bool { return l.OthersCPUShare > 0.10 }

// loadMonitor samples the load average and the machine's CPU time.
type loadMonitor struct {
	mu     sync.Mutex
	load   Load
	busy0  float64 // busy CPU seconds at start
	total0 float64
	own    time.Duration
	stop   chan struct{}
	done   chan struct{}
}

func startLoadMonitor() *loadMonitor {
	m := &loadMonitor{stop: make(chan struct{}), done: make(chan struct{})}
	m.load.Start1m = loadavg1()
	m.load.Max1m = m.load.Start1m
	m.busy0, m.total0 = cpuTimes()
	go func() {
		defer close(m.done)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				l := loadavg1()
				m.mu.Lock()
				m.load.Max1m = max(m.load.Max1m, l)
				m.mu.Unlock()
			}
		}
	}()
	return m
}

// addOwn counts CPU time used by a command benchrun ran.
func (m *loadMonitor) addOwn(d time.Duration) {
	m.mu.Lock()
	m.own += d
	m.mu.Unlock()
}

func (m *loadMonitor) finish() Load {
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	m.load.End1m = loadavg1()
	m.load.Max1m = max(m.load.Max1m, m.load.End1m)
	busy1, total1 := cpuTimes()
	m.load.OwnCPUSeconds = m.own.Seconds()
	if total := total1 - m.total0; total > 0 {
		others := (busy1 - m.busy0) - m.own.Seconds()
		m.load.OthersCPUShare = max(others, 0) / total
	}
	return m.load
}

func loadavg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// cpuTimes returns the busy and total CPU seconds of all cores since boot
// (the "cpu" line of /proc/stat: user, nice, system, idle, iowait, irq,
// softirq; idle and iowait are not busy).
func cpuTimes() (busy, total float64) {
	line := firstField("/proc/stat", "cpu", " ")
	const userHz = 100 // USER_HZ is 100 on every Linux architecture Go supports
	for i, f := range strings.Fields(line) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			continue
		}
		if i >= 7 { // steal is the hypervisor's; guest time is already in user
			break
		}
		total += v / userHz
		if i != 3 && i != 4 {
			busy += v / userHz
		}
	}
	return busy, total
}
