package container

import (
	"testing"
)

func TestStats(t *testing.T) {
	r := newTestRuntime(t)
	// Hold 20 MB in tmpfs (shmem: charged to the container, not reclaimable
	// file cache) and burn some CPU.
	c := baseContainer(t, "sh", "-c", `head -c 20000000 /dev/zero > /dev/shm/blob; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo ready; sleep 1000`)
	startContainer(t, r, c)
	waitForLog(t, c.LogPath, "ready")
	s, err := r.Stats(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUUsageNanos == 0 {
		t.Errorf("CPU usage is 0 after a busy loop: %+v", s)
	}
	if s.MemoryWorkingSetBytes < 20_000_000 || s.MemoryWorkingSetBytes > s.MemoryUsageBytes {
		t.Errorf("working set %d, usage %d: want at least the 20 MB in /dev/shm, at most the usage", s.MemoryWorkingSetBytes, s.MemoryUsageBytes)
	}
	node, err := r.NodeStats()
	if err != nil {
		t.Fatal(err)
	}
	// Read after the container's: CPU time only grows, so the total holds
	// at least the container's reading; memory moves both ways by a page
	// or two between the reads, but the 20 MB in /dev/shm stay.
	if node.Containers.MemoryUsageBytes < 20_000_000 || node.Containers.CPUUsageNanos < s.CPUUsageNanos {
		t.Errorf("containers total %+v lacks what one container holds (%+v, 20 MB in /dev/shm)", node.Containers, s)
	}
	if node.Host.MemoryUsageBytes < node.Containers.MemoryUsageBytes || node.Host.CPUUsageNanos < node.Containers.CPUUsageNanos {
		t.Errorf("host total %+v is less than the containers' %+v", node.Host, node.Containers)
	}
}
