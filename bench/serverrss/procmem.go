package serverrss

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Memory is one reading of a process's memory, in bytes.
type Memory struct {
	RSS     int64 // VmRSS: resident now
	HWM     int64 // VmHWM: the highest RSS so far
	RSSAnon int64 // RssAnon: resident anonymous memory (heap, stacks)
	RSSFile int64 // RssFile: resident file pages (the binary, etcd's mmapped database)
	PSS     int64 // Pss from smaps_rollup (0 when the kernel lacks it)
	GoHeap  int64 // go_memstats_heap_inuse_bytes from /metrics (0 when not read)
}

// ReadMemory reads pid's memory from /proc.
func ReadMemory(pid int) (Memory, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("serverrss: reading memory of pid %d: %w", pid, err)
	}
	fields, err := parseKBFields(status)
	if err != nil {
		return Memory{}, fmt.Errorf("serverrss: /proc/%d/status: %w", pid, err)
	}
	m := Memory{RSS: fields["VmRSS"], HWM: fields["VmHWM"], RSSAnon: fields["RssAnon"], RSSFile: fields["RssFile"]}
	if m.RSS == 0 {
		return Memory{}, fmt.Errorf("serverrss: /proc/%d/status has no VmRSS (a zombie?)", pid)
	}
	// smaps_rollup needs Linux 4.14; without it PSS stays 0.
	if rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
		if f, err := parseKBFields(rollup); err == nil {
			m.PSS = f["Pss"]
		}
	}
	return m, nil
}

// parseKBFields reads "Name:   1234 kB" lines (as in /proc/PID/status and
// smaps_rollup) into bytes by name; other lines are ignored.
func parseKBFields(data []byte) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", name, err)
		}
		out[name] = v * 1024
	}
	return out, sc.Err()
}

// metricValue finds the value of an unlabelled metric in Prometheus text
// exposition format.
func metricValue(text []byte, name string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		return v, err == nil
	}
	return 0, false
}

// MiB converts bytes to mebibytes, the unit reported.
func MiB(b int64) float64 { return float64(b) / (1 << 20) }
