package container

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/cgroups"
)

// cgroupFiles locates the files a container's (or the node's) CPU and
// memory statistics are read from: on cgroup v1 the cpuacct and memory
// hierarchies (hybrid hosts too: their unified hierarchy has no
// controllers), on v2 the unified directory.
type cgroupFiles struct {
	v2      bool
	cpuacct string // v1
	memory  string // v1
	unified string // v2
	// meminfo, when set, replaces the memory files: the v2 root cgroup has
	// no memory.current, so node memory comes from /proc/meminfo, as
	// opencontainers/cgroups computes it.
	meminfo string
}

// filesFromPaths picks the files from libcontainer's cgroup paths (keys are
// v1 subsystems, "" the unified directory).
func filesFromPaths(paths map[string]string) cgroupFiles {
	if mem, ok := paths["memory"]; ok {
		return cgroupFiles{cpuacct: paths["cpuacct"], memory: mem}
	}
	return cgroupFiles{v2: true, unified: paths[""]}
}

// read returns the cumulative CPU time and the memory usage and working set.
func (f cgroupFiles) read(now time.Time) (Stats, error) {
	s := Stats{Time: now}
	var err error
	if f.v2 {
		s.CPUUsageNanos, err = readKeyed(filepath.Join(f.unified, "cpu.stat"), "usage_usec")
		s.CPUUsageNanos *= 1000
	} else {
		s.CPUUsageNanos, err = readUint(filepath.Join(f.cpuacct, "cpuacct.usage"))
	}
	if err != nil {
		return Stats{}, err
	}
	var inactive uint64
	switch {
	case f.meminfo != "":
		var total, free uint64
		if total, err = readKeyed(f.meminfo, "MemTotal:"); err == nil {
			if free, err = readKeyed(f.meminfo, "MemFree:"); err == nil {
				inactive, err = readKeyed(f.meminfo, "Inactive(file):")
			}
		}
		// /proc/meminfo is in KiB.
		s.MemoryUsageBytes, inactive = (total-free)*1024, inactive*1024
	case f.v2:
		if s.MemoryUsageBytes, err = readUint(filepath.Join(f.unified, "memory.current")); err == nil {
			inactive, err = readKeyed(filepath.Join(f.unified, "memory.stat"), "inactive_file")
		}
	default:
		if s.MemoryUsageBytes, err = readUint(filepath.Join(f.memory, "memory.usage_in_bytes")); err == nil {
			inactive, err = readKeyed(filepath.Join(f.memory, "memory.stat"), "total_inactive_file")
		}
	}
	if err != nil {
		return Stats{}, err
	}
	s.MemoryWorkingSetBytes = workingSet(s.MemoryUsageBytes, inactive)
	return s, nil
}

// workingSet is usage minus inactive file pages (which the kernel reclaims
// first), floored at 0: cAdvisor's container_memory_working_set_bytes, the
// number the kubelet evicts and kubectl top reports by.
func workingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile >= usage {
		return 0
	}
	return usage - inactiveFile
}

// oomKilled reports whether the OOM killer killed a process of the cgroup:
// the oom_kill counter of memory.events (v2) or memory.oom_control (v1,
// Linux 4.13+). Older v1 kernels have no counter; there a hit limit
// (memory.failcnt) together with death by SIGKILL is taken as an OOM kill.
func (f cgroupFiles) oomKilled(killedBySIGKILL bool) (bool, error) {
	if f.v2 {
		n, err := readKeyed(filepath.Join(f.unified, "memory.events"), "oom_kill")
		return n > 0, err
	}
	n, err := readKeyed(filepath.Join(f.memory, "memory.oom_control"), "oom_kill")
	if err == nil {
		return n > 0, nil
	}
	if !errors.Is(err, errNoKey) {
		return false, err
	}
	failcnt, err := readUint(filepath.Join(f.memory, "memory.failcnt"))
	return killedBySIGKILL && failcnt > 0, err
}

var errNoKey = errors.New("key not found")

// readKeyed returns the value of key in a flat keyed file ("key value" per
// line: cpu.stat, memory.stat, memory.events, /proc/meminfo).
func readKeyed(path, key string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("container: read stats: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == key {
			v, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("container: %s: bad %s value %q", path, key, fields[1])
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("container: %s: %w: %s", path, errNoKey, key)
}

func readUint(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("container: read stats: %w", err)
	}
	s := strings.TrimSpace(string(data))
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("container: %s: bad value %q", path, s)
	}
	return v, nil
}

// cgroupMounts is where the hierarchies are mounted.
type cgroupMounts struct {
	v2      bool
	unified string // v2: the unified mount point
	cpuacct string // v1: the cpuacct hierarchy's mount point
	memory  string // v1: the memory hierarchy's mount point
}

func detectCgroupMounts() (cgroupMounts, error) {
	if cgroups.IsCgroup2UnifiedMode() {
		return cgroupMounts{v2: true, unified: cgroupV2Root}, nil
	}
	cpuacct, err := cgroups.FindCgroupMountpoint("", "cpuacct")
	if err != nil {
		return cgroupMounts{}, fmt.Errorf("container: stats need the cgroup v1 cpuacct controller: %w", err)
	}
	memory, err := cgroups.FindCgroupMountpoint("", "memory")
	if err != nil {
		return cgroupMounts{}, fmt.Errorf("container: stats need the cgroup v1 memory controller: %w", err)
	}
	return cgroupMounts{cpuacct: cpuacct, memory: memory}, nil
}

// files returns the files of the cgroup at rel (relative to the roots; ""
// is the root cgroup, whose v2 memory comes from meminfo).
func (m cgroupMounts) files(rel, meminfo string) cgroupFiles {
	if m.v2 {
		f := cgroupFiles{v2: true, unified: filepath.Join(m.unified, rel)}
		if rel == "" {
			f.meminfo = meminfo
		}
		return f
	}
	return cgroupFiles{cpuacct: filepath.Join(m.cpuacct, rel), memory: filepath.Join(m.memory, rel)}
}
