package scheduler

import (
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Annotations through which node agents report measured usage (see the
// package documentation).
const (
	AnnotationCPUUsage       = "tug.sh/cpu-usage-nanocores"
	AnnotationMemoryUsage    = "tug.sh/memory-working-set-bytes"
	AnnotationUsageTimestamp = "tug.sh/usage-timestamp"
)

// UsageMaxAge is how old a usage sample may be and still count.
const UsageMaxAge = 2 * time.Minute

// DefaultMaxPods is the pod capacity assumed for a node whose allocatable
// does not say (the Kubernetes kubelet's default --max-pods).
const DefaultMaxPods = 110

// Usage is a node's measured resource use.
type Usage struct {
	Resources
	At time.Time
}

// NodeInfo is a node and the aggregate of the pods assigned to it. The
// scheduler's cache keeps one per node and updates it incrementally.
type NodeInfo struct {
	// Node is nil while pods are known on a node the cache has not seen.
	Node        *v1.Node
	Allocatable Resources
	MaxPods     int64
	// Usage is the measured usage, if the agent reports it.
	Usage *Usage

	// Requested sums the pods' requests; NonZero the same with scoring
	// defaults for pods requesting nothing.
	Requested Resources
	NonZero   Resources
	Pods      int64
	HostPorts []HostPort
	// Owners counts the node's pods per controller UID.
	Owners map[types.UID]int
}

// NewNodeInfo builds the NodeInfo of a node without pods.
func NewNodeInfo(node *v1.Node) *NodeInfo {
	ni := &NodeInfo{Owners: map[types.UID]int{}}
	ni.SetNode(node)
	return ni
}

// SetNode replaces the node object, keeping the pod aggregates.
func (ni *NodeInfo) SetNode(node *v1.Node) {
	ni.Node = node
	if ni.Owners == nil {
		ni.Owners = map[types.UID]int{}
	}
	if node == nil {
		ni.Allocatable, ni.MaxPods, ni.Usage = Resources{}, 0, nil
		return
	}
	alloc := node.Status.Allocatable
	if len(alloc) == 0 {
		alloc = node.Status.Capacity
	}
	ni.Allocatable = Resources{}
	if q, ok := alloc[v1.ResourceCPU]; ok {
		ni.Allocatable.MilliCPU = q.MilliValue()
	}
	if q, ok := alloc[v1.ResourceMemory]; ok {
		ni.Allocatable.Memory = q.Value()
	}
	ni.MaxPods = DefaultMaxPods
	if q, ok := alloc[v1.ResourcePods]; ok {
		ni.MaxPods = q.Value()
	}
	ni.Usage = ParseUsage(node.Annotations)
}

// ParseUsage reads the usage annotations; nil when absent or malformed.
func ParseUsage(ann map[string]string) *Usage {
	ts, ok := ann[AnnotationUsageTimestamp]
	if !ok {
		return nil
	}
	at, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return nil
	}
	u := &Usage{At: at}
	if s, ok := ann[AnnotationCPUUsage]; ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil
		}
		u.MilliCPU = n / 1_000_000
	}
	if s, ok := ann[AnnotationMemoryUsage]; ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil
		}
		u.Memory = n
	}
	return u
}

// AddPod counts a pod on this node.
func (ni *NodeInfo) AddPod(pi *PodInfo) {
	ni.Requested.add(pi.Requests)
	ni.NonZero.add(pi.NonZero)
	ni.Pods++
	ni.HostPorts = append(ni.HostPorts, pi.HostPorts...)
	if pi.Owner != "" {
		ni.Owners[pi.Owner]++
	}
}

// RemovePod uncounts a pod added with AddPod.
func (ni *NodeInfo) RemovePod(pi *PodInfo) {
	ni.Requested.sub(pi.Requests)
	ni.NonZero.sub(pi.NonZero)
	ni.Pods--
	for _, hp := range pi.HostPorts {
		for i, have := range ni.HostPorts {
			if have == hp {
				ni.HostPorts = append(ni.HostPorts[:i], ni.HostPorts[i+1:]...)
				break
			}
		}
	}
	if pi.Owner != "" {
		if ni.Owners[pi.Owner]--; ni.Owners[pi.Owner] <= 0 {
			delete(ni.Owners, pi.Owner)
		}
	}
}

// Name is the node's name ("" while the node is unknown).
func (ni *NodeInfo) Name() string {
	if ni.Node == nil {
		return ""
	}
	return ni.Node.Name
}
