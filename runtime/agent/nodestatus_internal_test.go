package agent

import (
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

func TestNodeStatus(t *testing.T) {
	f := nodeFacts{
		Machine: machineInfo{CPUs: 4, MemoryBytes: 8 << 30, KernelVersion: "6.1.0", OSImage: "Debian", Architecture: "amd64", RuntimeVersion: "libcontainer://runc-1.4.3"},
		NodeIP:  "192.0.2.10", Hostname: "n1", Port: 10250, MaxPods: 110,
		ServiceProxyMessage: "not wired",
	}
	st := nodeStatus(v1.NodeStatus{}, f, t0)
	if st.Capacity.Cpu().Value() != 4 || st.Capacity.Memory().Value() != 8<<30 || st.Capacity.Pods().Value() != 110 {
		t.Errorf("capacity %v", st.Capacity)
	}
	if st.Allocatable.Memory().Value() != 8<<30-100<<20 {
		t.Errorf("allocatable %v", st.Allocatable)
	}
	if st.NodeInfo.KubeletVersion != "v1.32.0-tug" || st.NodeInfo.ContainerRuntimeVersion != "libcontainer://runc-1.4.3" || st.DaemonEndpoints.KubeletEndpoint.Port != 10250 {
		t.Errorf("node info %+v endpoints %+v", st.NodeInfo, st.DaemonEndpoints)
	}
	byType := func(st v1.NodeStatus) map[v1.NodeConditionType]v1.NodeCondition {
		m := map[v1.NodeConditionType]v1.NodeCondition{}
		for _, c := range st.Conditions {
			m[c.Type] = c
		}
		return m
	}
	c := byType(st)
	if r := c[v1.NodeReady]; r.Status != v1.ConditionFalse || r.Reason != "KubeletNotReady" {
		t.Errorf("Ready %+v", r)
	}
	if sp := c[NodeConditionServiceProxyReady]; sp.Status != v1.ConditionFalse || !strings.Contains(sp.Message, "not wired") {
		t.Errorf("ServiceProxyReady %+v", sp)
	}
	// A heartbeat later: lastHeartbeatTime moves, transitions stay.
	later := t0.Add(10 * time.Second)
	st2 := nodeStatus(st, f, later)
	for typ, cond := range byType(st2) {
		if !cond.LastHeartbeatTime.Time.Equal(later) || !cond.LastTransitionTime.Time.Equal(t0) {
			t.Errorf("%s: heartbeat %s transition %s", typ, cond.LastHeartbeatTime, cond.LastTransitionTime)
		}
	}
	f.Ready = true
	st3 := nodeStatus(st2, f, later.Add(10*time.Second))
	if r := byType(st3)[v1.NodeReady]; r.Status != v1.ConditionTrue || r.Reason != "KubeletReady" || !r.LastTransitionTime.Time.Equal(later.Add(10*time.Second)) {
		t.Errorf("Ready after becoming ready %+v", r)
	}
}

func TestMachineParsers(t *testing.T) {
	if n, err := memTotal([]byte("MemTotal:       16314232 kB\nMemFree: 1 kB\n")); err != nil || n != 16314232*1024 {
		t.Errorf("memTotal %d %v", n, err)
	}
	if _, err := memTotal([]byte("MemFree: 1 kB\n")); err == nil {
		t.Error("memTotal without MemTotal")
	}
	if got := osImage([]byte("NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")); got != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("osImage %q", got)
	}
	if v := containerRuntimeVersion(); !strings.HasPrefix(v, "libcontainer://runc-") {
		t.Errorf("runtime version %q", v)
	}
}
