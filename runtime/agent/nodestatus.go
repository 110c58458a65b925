package agent

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// NodeConditionServiceProxyReady reports whether the node's Service data
// path (the eBPF load balancer) translates ClusterIPs. True means it does.
const NodeConditionServiceProxyReady v1.NodeConditionType = "ServiceProxyReady"

// Reservations subtracted from capacity in allocatable: the kubelet's
// default hard eviction threshold for memory.
const reservedMemory = 100 << 20

// nodeFacts is what the agent measured and decided about the node; the
// input of nodeStatus.
type nodeFacts struct {
	Machine  machineInfo
	NodeIP   string
	Hostname string
	Port     int32
	MaxPods  int
	// Ready and NotReadyMessage: whether pods can run here.
	Ready           bool
	NotReadyMessage string
	// Pressure conditions (true = under pressure).
	MemoryPressure, DiskPressure, PIDPressure bool
	// ServiceProxy readiness.
	ServiceProxyReady   bool
	ServiceProxyMessage string
	// EphemeralStorage is the capacity of the data directory's file
	// system, 0 if unknown.
	EphemeralStorage int64
	Images           []v1.ContainerImage
}

// nodeStatus computes the Node's status from facts, keeping the
// transition times of conditions whose status did not change. It is pure.
func nodeStatus(old v1.NodeStatus, f nodeFacts, now time.Time) v1.NodeStatus {
	st := *old.DeepCopy()
	st.Capacity = v1.ResourceList{
		v1.ResourceCPU:    *resource.NewQuantity(int64(f.Machine.CPUs), resource.DecimalSI),
		v1.ResourceMemory: *resource.NewQuantity(f.Machine.MemoryBytes, resource.BinarySI),
		v1.ResourcePods:   *resource.NewQuantity(int64(f.MaxPods), resource.DecimalSI),
	}
	allocMem := max(f.Machine.MemoryBytes-reservedMemory, 0)
	st.Allocatable = v1.ResourceList{
		v1.ResourceCPU:    *resource.NewQuantity(int64(f.Machine.CPUs), resource.DecimalSI),
		v1.ResourceMemory: *resource.NewQuantity(allocMem, resource.BinarySI),
		v1.ResourcePods:   *resource.NewQuantity(int64(f.MaxPods), resource.DecimalSI),
	}
	if f.EphemeralStorage > 0 {
		q := *resource.NewQuantity(f.EphemeralStorage, resource.BinarySI)
		st.Capacity[v1.ResourceEphemeralStorage] = q
		st.Allocatable[v1.ResourceEphemeralStorage] = q
	}
	st.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: f.NodeIP}}
	if f.Hostname != "" {
		st.Addresses = append(st.Addresses, v1.NodeAddress{Type: v1.NodeHostName, Address: f.Hostname})
	}
	st.DaemonEndpoints = v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: f.Port}}
	st.NodeInfo = v1.NodeSystemInfo{
		MachineID:               f.Machine.MachineID,
		SystemUUID:              f.Machine.MachineID,
		BootID:                  f.Machine.BootID,
		KernelVersion:           f.Machine.KernelVersion,
		OSImage:                 f.Machine.OSImage,
		ContainerRuntimeVersion: f.Machine.RuntimeVersion,
		KubeletVersion:          KubeletVersion,
		OperatingSystem:         runtime.GOOS,
		Architecture:            f.Machine.Architecture,
	}
	st.Images = slices.Clone(f.Images)
	if st.Phase == "" {
		st.Phase = v1.NodeRunning
	}

	oldByType := map[v1.NodeConditionType]v1.NodeCondition{}
	for _, c := range old.Conditions {
		oldByType[c.Type] = c
	}
	cond := func(t v1.NodeConditionType, status bool, reason, message string) v1.NodeCondition {
		c := v1.NodeCondition{Type: t, Status: v1.ConditionFalse, Reason: reason, Message: message, LastHeartbeatTime: apiTime(now)}
		if status {
			c.Status = v1.ConditionTrue
		}
		if prev, ok := oldByType[t]; ok && prev.Status == c.Status {
			c.LastTransitionTime = prev.LastTransitionTime
		} else {
			c.LastTransitionTime = apiTime(now)
		}
		return c
	}
	pick := func(under bool, yes, no string) string {
		if under {
			return yes
		}
		return no
	}
	readyReason, readyMsg := "KubeletReady", "tug agent is posting ready status"
	if !f.Ready {
		readyReason, readyMsg = "KubeletNotReady", f.NotReadyMessage
	}
	spReason, spMsg := "ServiceProxyReady", "Services are load-balanced in eBPF on this node"
	if !f.ServiceProxyReady {
		spReason, spMsg = "ServiceProxyNotReady", f.ServiceProxyMessage
	}
	st.Conditions = []v1.NodeCondition{
		cond(v1.NodeMemoryPressure, f.MemoryPressure,
			pick(f.MemoryPressure, "KubeletHasInsufficientMemory", "KubeletHasSufficientMemory"),
			pick(f.MemoryPressure, "less than 100Mi of memory is available", "tug agent has sufficient memory available")),
		cond(v1.NodeDiskPressure, f.DiskPressure,
			pick(f.DiskPressure, "KubeletHasDiskPressure", "KubeletHasNoDiskPressure"),
			pick(f.DiskPressure, "less than 10% of the data directory's file system is free", "tug agent has no disk pressure")),
		cond(v1.NodePIDPressure, f.PIDPressure,
			pick(f.PIDPressure, "KubeletHasInsufficientPID", "KubeletHasSufficientPID"),
			pick(f.PIDPressure, "more than 90% of the process IDs are in use", "tug agent has sufficient PID available")),
		cond(v1.NodeReady, f.Ready, readyReason, readyMsg),
		cond(NodeConditionServiceProxyReady, f.ServiceProxyReady, spReason, spMsg),
	}
	return st
}

// nodeLabels are the well-known labels the agent sets on its Node.
func nodeLabels(name string) map[string]string {
	return map[string]string{
		"kubernetes.io/hostname":  name,
		"kubernetes.io/os":        runtime.GOOS,
		"kubernetes.io/arch":      runtime.GOARCH,
		"beta.kubernetes.io/os":   runtime.GOOS,
		"beta.kubernetes.io/arch": runtime.GOARCH,
	}
}

// usageAnnotations are the scheduler's measured-usage annotations
// (control/controller/scheduler: tug.sh/cpu-usage-nanocores,
// tug.sh/memory-working-set-bytes, tug.sh/usage-timestamp).
func usageAnnotations(cpuNanoCores, memoryWorkingSet uint64, at time.Time) map[string]string {
	return map[string]string{
		"tug.sh/cpu-usage-nanocores":      fmt.Sprint(cpuNanoCores),
		"tug.sh/memory-working-set-bytes": fmt.Sprint(memoryWorkingSet),
		"tug.sh/usage-timestamp":          at.UTC().Format(time.RFC3339),
	}
}
