package scheduler

import (
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Defaults used for scoring pods that request nothing, as Kubernetes does
// (pkg/scheduler/util: DefaultMilliCPURequest, DefaultMemoryRequest).
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024
)

// Resources is an amount of the resources the scheduler accounts for.
type Resources struct {
	MilliCPU int64
	Memory   int64
}

func (r *Resources) add(o Resources) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
}

func (r *Resources) sub(o Resources) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
}

// HostPort is one port a pod binds on its node.
type HostPort struct {
	Protocol v1.Protocol
	HostIP   string // "" or "0.0.0.0" means every address
	Port     int32
}

// conflicts reports whether two host ports cannot coexist on one node.
func (p HostPort) conflicts(o HostPort) bool {
	if p.Protocol != o.Protocol || p.Port != o.Port {
		return false
	}
	return isWildcard(p.HostIP) || isWildcard(o.HostIP) || p.HostIP == o.HostIP
}

func isWildcard(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }

// PodInfo is what the scheduler needs of a pod, computed once.
type PodInfo struct {
	Pod *v1.Pod
	// Requests is what the pod requests (the larger of the sum over its
	// containers and any one init container, plus overhead).
	Requests Resources
	// NonZero is Requests with each zero replaced by the scoring default.
	NonZero Resources
	// HostPorts lists the pod's host ports.
	HostPorts []HostPort
	// Owner is the UID of the pod's controller, or "".
	Owner types.UID
}

// NewPodInfo computes a PodInfo.
func NewPodInfo(pod *v1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, Requests: podRequests(pod)}
	pi.NonZero = pi.Requests
	if pi.NonZero.MilliCPU == 0 {
		pi.NonZero.MilliCPU = DefaultMilliCPURequest
	}
	if pi.NonZero.Memory == 0 {
		pi.NonZero.Memory = DefaultMemoryRequest
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort <= 0 {
				continue
			}
			proto := p.Protocol
			if proto == "" {
				proto = v1.ProtocolTCP
			}
			pi.HostPorts = append(pi.HostPorts, HostPort{Protocol: proto, HostIP: p.HostIP, Port: p.HostPort})
		}
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		pi.Owner = ref.UID
	}
	return pi
}

func podRequests(pod *v1.Pod) Resources {
	var sum Resources
	for _, c := range pod.Spec.Containers {
		sum.add(containerRequests(c))
	}
	// Init containers run one at a time before the others: the pod needs
	// the largest of them, if that exceeds the sum of the app containers.
	for _, c := range pod.Spec.InitContainers {
		r := containerRequests(c)
		sum.MilliCPU = max(sum.MilliCPU, r.MilliCPU)
		sum.Memory = max(sum.Memory, r.Memory)
	}
	if q, ok := pod.Spec.Overhead[v1.ResourceCPU]; ok {
		sum.MilliCPU += q.MilliValue()
	}
	if q, ok := pod.Spec.Overhead[v1.ResourceMemory]; ok {
		sum.Memory += q.Value()
	}
	return sum
}

// containerRequests reads a container's requests; as in Kubernetes, a limit
// without a request is the request.
func containerRequests(c v1.Container) Resources {
	var r Resources
	if q, ok := c.Resources.Requests[v1.ResourceCPU]; ok {
		r.MilliCPU = q.MilliValue()
	} else if q, ok := c.Resources.Limits[v1.ResourceCPU]; ok {
		r.MilliCPU = q.MilliValue()
	}
	if q, ok := c.Resources.Requests[v1.ResourceMemory]; ok {
		r.Memory = q.Value()
	} else if q, ok := c.Resources.Limits[v1.ResourceMemory]; ok {
		r.Memory = q.Value()
	}
	return r
}
