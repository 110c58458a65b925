package hollow

import (
	"fmt"
	"net/netip"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// heartbeatStatus returns the node status a healthy agent posts at now:
// capacity, allocatable, Ready True (its transition time kept if it was
// already True) and the pressure conditions False.
func heartbeatStatus(cur v1.NodeStatus, capacity v1.ResourceList, hostIP string, now time.Time) v1.NodeStatus {
	st := cur.DeepCopy()
	st.Capacity = capacity.DeepCopy()
	st.Allocatable = capacity.DeepCopy()
	st.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: hostIP}}
	st.NodeInfo.KubeletVersion = "v1.32.0-tug-hollow"
	st.NodeInfo.ContainerRuntimeVersion = "hollow://0"
	st.NodeInfo.OperatingSystem = "linux"
	st.NodeInfo.Architecture = "amd64"
	st.Phase = ""
	hb := metav1.NewTime(now)
	want := []struct {
		t       v1.NodeConditionType
		status  v1.ConditionStatus
		reason  string
		message string
	}{
		{v1.NodeReady, v1.ConditionTrue, "KubeletReady", "hollow node is posting ready status"},
		{v1.NodeMemoryPressure, v1.ConditionFalse, "KubeletHasSufficientMemory", "hollow node has sufficient memory available"},
		{v1.NodeDiskPressure, v1.ConditionFalse, "KubeletHasNoDiskPressure", "hollow node has no disk pressure"},
		{v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID", "hollow node has sufficient PID available"},
	}
	var conds []v1.NodeCondition
	for _, w := range want {
		c := v1.NodeCondition{Type: w.t, Status: w.status, Reason: w.reason, Message: w.message, LastHeartbeatTime: hb, LastTransitionTime: hb}
		for _, old := range cur.Conditions {
			if old.Type == w.t && old.Status == w.status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		conds = append(conds, c)
	}
	st.Conditions = conds
	return *st
}

// runningStatus returns the status of a pod whose containers all started
// at now on a node at hostIP, with pod IP ip.
func runningStatus(pod *v1.Pod, ip, hostIP string, now time.Time) v1.PodStatus {
	t := metav1.NewTime(now)
	st := v1.PodStatus{
		Phase:     v1.PodRunning,
		HostIP:    hostIP,
		HostIPs:   []v1.HostIP{{IP: hostIP}},
		PodIP:     ip,
		PodIPs:    []v1.PodIP{{IP: ip}},
		StartTime: &t,
		QOSClass:  pod.Status.QOSClass,
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled {
			st.Conditions = append(st.Conditions, c)
		}
	}
	for _, ct := range []v1.PodConditionType{v1.PodInitialized, v1.ContainersReady, v1.PodReady} {
		st.Conditions = append(st.Conditions, v1.PodCondition{Type: ct, Status: v1.ConditionTrue, LastTransitionTime: t})
	}
	started := true
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, v1.ContainerStatus{
			Name:        c.Name,
			Image:       c.Image,
			ImageID:     "hollow://" + c.Image,
			ContainerID: fmt.Sprintf("hollow://%s/%s", pod.UID, c.Name),
			Ready:       true,
			Started:     &started,
			State:       v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: t}},
		})
	}
	return st
}

// ipPool hands out the host addresses of a pod CIDR, skipping the network
// address and the first host (the node's own, hostIP), reusing released
// ones last.
type ipPool struct {
	prefix netip.Prefix
	next   netip.Addr
	free   []netip.Addr
	inUse  map[netip.Addr]bool
}

func newIPPool(prefix netip.Prefix) *ipPool {
	p := prefix.Masked()
	return &ipPool{prefix: p, next: p.Addr().Next().Next(), inUse: map[netip.Addr]bool{}}
}

// hostIP is the node's own address: the first host of the pod CIDR.
func (p *ipPool) hostIP() netip.Addr { return p.prefix.Addr().Next() }

func (p *ipPool) allocate() (netip.Addr, error) {
	for p.next.IsValid() && p.prefix.Contains(p.next) {
		a := p.next
		p.next = a.Next()
		if !p.inUse[a] && !isBroadcast(p.prefix, a) {
			p.inUse[a] = true
			return a, nil
		}
	}
	for len(p.free) > 0 {
		a := p.free[0]
		p.free = p.free[1:]
		if !p.inUse[a] {
			p.inUse[a] = true
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("hollow: pod CIDR %s has no free address", p.prefix)
}

func (p *ipPool) release(a netip.Addr) {
	if p.inUse[a] {
		delete(p.inUse, a)
		p.free = append(p.free, a)
	}
}

func isBroadcast(p netip.Prefix, a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	return !p.Contains(a.Next())
}
