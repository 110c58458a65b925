package scheduler

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"
)

// Reasons a node is not feasible, worded as kube-scheduler words them.
const (
	ReasonNotReady         = "node(s) were not ready"
	ReasonUnschedulable    = "node(s) were unschedulable"
	ReasonNodeSelector     = "node(s) didn't match Pod's node affinity/selector"
	ReasonHostPorts        = "node(s) didn't have free ports for the requested pod ports"
	ReasonInsufficientCPU  = "Insufficient cpu"
	ReasonInsufficientMem  = "Insufficient memory"
	ReasonTooManyPods      = "Too many pods"
	reasonUntoleratedTaint = "node(s) had untolerated taint {%s: %s}"
)

// Filter returns why the pod cannot run on the node: nil when it can. The
// checks run in a fixed order and stop at the first failing one, except the
// resource check, which reports every insufficient resource.
func Filter(pi *PodInfo, ni *NodeInfo) []string {
	node := ni.Node
	if !nodeReady(node) {
		return []string{ReasonNotReady}
	}
	if node.Spec.Unschedulable {
		return []string{ReasonUnschedulable}
	}
	if taint := untoleratedTaint(pi.Pod.Spec.Tolerations, node.Spec.Taints); taint != nil {
		return []string{fmt.Sprintf(reasonUntoleratedTaint, taint.Key, taint.Value)}
	}
	if len(pi.Pod.Spec.NodeSelector) > 0 &&
		!labels.SelectorFromSet(pi.Pod.Spec.NodeSelector).Matches(labels.Set(node.Labels)) {
		return []string{ReasonNodeSelector}
	}
	if portsConflict(pi.HostPorts, ni.HostPorts) {
		return []string{ReasonHostPorts}
	}
	return insufficientResources(pi, ni)
}

func nodeReady(node *v1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// untoleratedTaint returns the first NoSchedule or NoExecute taint no
// toleration matches (PreferNoSchedule only matters to scoring in
// Kubernetes; tug ignores it).
func untoleratedTaint(tolerations []v1.Toleration, taints []v1.Taint) *v1.Taint {
	for i := range taints {
		taint := &taints[i]
		if taint.Effect != v1.TaintEffectNoSchedule && taint.Effect != v1.TaintEffectNoExecute {
			continue
		}
		tolerated := false
		for j := range tolerations {
			if tolerations[j].ToleratesTaint(klog.Background(), taint, false) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return taint
		}
	}
	return nil
}

func portsConflict(want, used []HostPort) bool {
	for _, w := range want {
		for _, u := range used {
			if w.conflicts(u) {
				return true
			}
		}
	}
	return false
}

func insufficientResources(pi *PodInfo, ni *NodeInfo) []string {
	var reasons []string
	if ni.Pods+1 > ni.MaxPods {
		reasons = append(reasons, ReasonTooManyPods)
	}
	if pi.Requests.MilliCPU > 0 && pi.Requests.MilliCPU > ni.Allocatable.MilliCPU-ni.Requested.MilliCPU {
		reasons = append(reasons, ReasonInsufficientCPU)
	}
	if pi.Requests.Memory > 0 && pi.Requests.Memory > ni.Allocatable.Memory-ni.Requested.Memory {
		reasons = append(reasons, ReasonInsufficientMem)
	}
	return reasons
}

// FitError says why a pod fits no node. Its message is Kubernetes':
// "0/3 nodes are available: 1 node(s) were not ready, 2 Insufficient memory."
type FitError struct {
	Pod      *v1.Pod
	NumNodes int
	// Reasons counts, per reason, the nodes that failed with it.
	Reasons map[string]int
}

func (e *FitError) Error() string {
	if e.NumNodes == 0 {
		return "no nodes available to schedule pods"
	}
	parts := make([]string, 0, len(e.Reasons))
	for reason, n := range e.Reasons {
		parts = append(parts, fmt.Sprintf("%d %s", n, reason))
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s.", e.NumNodes, strings.Join(parts, ", "))
}
