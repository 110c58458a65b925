package agent

import (
	"context"
	"errors"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/runtime/container"
)

// statsCollector samples CPU and memory of the node and its containers
// and turns cumulative CPU time into rates between samples.
type statsCollector struct {
	a *Agent

	mu      sync.Mutex
	prev    map[string]cpuSample // by container ID; "" is the node
	last    *statsapi.Summary
	lastAt  time.Time
	started time.Time
}

type cpuSample struct {
	at    time.Time
	usage uint64
}

// nodeUsageSample is the node's measured use.
type nodeUsageSample struct {
	cpuNanoCores, workingSet uint64
	at                       time.Time
}

// minSampleInterval: a summary asked for sooner reuses the last one (rates
// over shorter intervals are noise).
const minSampleInterval = time.Second

func newStatsCollector(a *Agent) *statsCollector {
	return &statsCollector{a: a, prev: map[string]cpuSample{}, started: time.Now()}
}

// rate returns the CPU rate in nanocores since the previous sample of key
// and remembers this one.
func (s *statsCollector) rate(key string, at time.Time, usage uint64) *uint64 {
	prev, ok := s.prev[key]
	s.prev[key] = cpuSample{at: at, usage: usage}
	if !ok || !at.After(prev.at) || usage < prev.usage {
		return nil
	}
	r := uint64(float64(usage-prev.usage) / at.Sub(prev.at).Seconds())
	return &r
}

// summary takes a new sample (or returns the last if it is fresh).
func (s *statsCollector) summary() (*statsapi.Summary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil && time.Since(s.lastAt) < minSampleInterval {
		return s.last, nil
	}
	a := s.a
	ns, err := a.runtime.NodeStats()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	sum := &statsapi.Summary{Node: statsapi.NodeStats{NodeName: a.cfg.NodeName, StartTime: metav1.NewTime(s.started)}}
	sum.Node.CPU = cpuStats(ns.Host, s.rate("", ns.Host.Time, ns.Host.CPUUsageNanos))
	sum.Node.Memory = memoryStats(ns.Host)
	if avail, ok := meminfoAvailable(); ok {
		sum.Node.Memory.AvailableBytes = &avail
	}
	seen := map[string]bool{"": true}
	a.mu.Lock()
	states := make([]*podState, 0, len(a.pods))
	for _, ps := range a.pods {
		states = append(states, ps)
	}
	a.mu.Unlock()
	for _, ps := range states {
		ps.mu.Lock()
		rec := ps.rec
		type inst struct {
			name, id string
			started  time.Time
		}
		var running []inst
		for name, c := range rec.Containers {
			if c.ID != "" && c.Exit == nil {
				running = append(running, inst{name, c.ID, c.StartedAt})
			}
		}
		ref := statsapi.PodReference{Name: rec.Name, Namespace: rec.Namespace, UID: string(rec.UID)}
		start := rec.StartTime
		ps.mu.Unlock()
		if len(running) == 0 {
			continue
		}
		pod := statsapi.PodStats{PodRef: ref, StartTime: metav1.NewTime(start)}
		var podCPU, podMem container.Stats
		var podRate uint64
		rates := true
		for _, r := range running {
			st, err := a.runtime.Stats(r.id)
			if err != nil {
				if !errors.Is(err, container.ErrNotFound) && !errors.Is(err, container.ErrNotRunning) {
					a.log.Debug("container stats failed", "id", r.id, "err", err)
				}
				continue
			}
			seen[r.id] = true
			rate := s.rate(r.id, st.Time, st.CPUUsageNanos)
			if rate == nil {
				rates = false
			} else {
				podRate += *rate
			}
			pod.Containers = append(pod.Containers, statsapi.ContainerStats{
				Name: r.name, StartTime: metav1.NewTime(r.started), CPU: cpuStats(st, rate), Memory: memoryStats(st),
			})
			podCPU.CPUUsageNanos += st.CPUUsageNanos
			podMem.MemoryUsageBytes += st.MemoryUsageBytes
			podMem.MemoryWorkingSetBytes += st.MemoryWorkingSetBytes
			podCPU.Time, podMem.Time = st.Time, st.Time
		}
		if len(pod.Containers) == 0 {
			continue
		}
		var pr *uint64
		if rates {
			pr = &podRate
		}
		pod.CPU = cpuStats(podCPU, pr)
		pod.Memory = memoryStats(podMem)
		sum.Pods = append(sum.Pods, pod)
	}
	for key := range s.prev {
		if !seen[key] {
			delete(s.prev, key)
		}
	}
	s.last, s.lastAt = sum, now
	return sum, nil
}

func cpuStats(st container.Stats, rate *uint64) *statsapi.CPUStats {
	usage := st.CPUUsageNanos
	return &statsapi.CPUStats{Time: metav1.NewTime(st.Time), UsageNanoCores: rate, UsageCoreNanoSeconds: &usage}
}

func memoryStats(st container.Stats) *statsapi.MemoryStats {
	usage, ws := st.MemoryUsageBytes, st.MemoryWorkingSetBytes
	return &statsapi.MemoryStats{Time: metav1.NewTime(st.Time), UsageBytes: &usage, WorkingSetBytes: &ws}
}

// nodeUsage is the latest node sample with a CPU rate, taking one.
func (s *statsCollector) nodeUsage() (nodeUsageSample, bool) {
	sum, err := s.summary()
	if err != nil || sum.Node.CPU == nil || sum.Node.CPU.UsageNanoCores == nil || sum.Node.Memory == nil {
		return nodeUsageSample{}, false
	}
	return nodeUsageSample{cpuNanoCores: *sum.Node.CPU.UsageNanoCores, workingSet: *sum.Node.Memory.WorkingSetBytes, at: sum.Node.CPU.Time.Time}, true
}

// Summary serves /stats/summary.
func (a *Agent) Summary(ctx context.Context) (*statsapi.Summary, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return a.stats.summary()
}

func meminfoAvailable() (uint64, bool) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return meminfoValue(data, "MemAvailable:")
}
