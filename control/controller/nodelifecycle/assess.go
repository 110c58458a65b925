package nodelifecycle

import (
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/tug-sh/tug/control/controller/internal/podstate"
)

// Taint keys, as in Kubernetes.
const (
	TaintUnreachable = v1.TaintNodeUnreachable // node.kubernetes.io/unreachable
	TaintNotReady    = v1.TaintNodeNotReady    // node.kubernetes.io/not-ready
)

// Condition reasons and messages the controller writes (Kubernetes' words:
// kubectl users know them).
const (
	ReasonStatusUnknown      = "NodeStatusUnknown"
	MessageStatusUnknown     = "Kubelet stopped posting node status."
	ReasonStatusNeverUpdated = "NodeStatusNeverUpdated"
	MessageStatusNeverUpdate = "Kubelet never posted node status."
)

// Timing holds the durations the decisions depend on.
type Timing struct {
	// GracePeriod without a heartbeat change makes a node Unknown.
	GracePeriod time.Duration
	// EvictionTimeout of being not ready gets a node's pods deleted.
	EvictionTimeout time.Duration
}

// Health is what the controller remembers about a node between passes.
type Health struct {
	// Heartbeat is the Ready condition's lastHeartbeatTime last seen.
	Heartbeat time.Time
	// ProbeTime is when (controller clock) Heartbeat was seen to change.
	ProbeTime time.Time
	// NotReadySince is when (controller clock) the node was first seen
	// not ready; zero while it is ready.
	NotReadySince time.Time
}

// State is a node's effective readiness.
type State int

const (
	Ready State = iota
	NotReady
	Unreachable
)

func (s State) String() string {
	return [...]string{"Ready", "NotReady", "Unreachable"}[s]
}

// Decision is what one pass should do about one node.
type Decision struct {
	Health Health
	State  State
	// MarkUnknown: write every condition Unknown (the agent went silent).
	MarkUnknown bool
	// Taints are the lifecycle taints the node should carry.
	Taints []v1.Taint
	// Evict: the node has been not ready for the eviction timeout; delete
	// its pods (those PodEvictable allows).
	Evict bool
	// NotReadyFor is how long the node has been not ready (0 when ready).
	NotReadyFor time.Duration
}

// Assess decides about node at now, given what was remembered (the zero
// Health for a node seen for the first time).
func Assess(node *v1.Node, h Health, now time.Time, t Timing) Decision {
	ready := readyCondition(node)
	var hb time.Time
	status := v1.ConditionUnknown
	if ready != nil {
		hb, status = ready.LastHeartbeatTime.Time, ready.Status
	}
	if h.ProbeTime.IsZero() || !hb.Equal(h.Heartbeat) {
		h.Heartbeat, h.ProbeTime = hb, now
	}
	d := Decision{}
	if now.Sub(h.ProbeTime) >= t.GracePeriod && status != v1.ConditionUnknown {
		d.MarkUnknown = true
		status = v1.ConditionUnknown
	}
	switch status {
	case v1.ConditionTrue:
		d.State = Ready
	case v1.ConditionFalse:
		d.State = NotReady
	default:
		if ready == nil && now.Sub(h.ProbeTime) < t.GracePeriod {
			// A new node gets the grace period to post its first status.
			d.State = Ready
			break
		}
		d.State = Unreachable
		d.MarkUnknown = d.MarkUnknown || ready == nil
	}
	switch d.State {
	case Ready:
		h.NotReadySince = time.Time{}
	default:
		if h.NotReadySince.IsZero() {
			h.NotReadySince = now
		}
		d.NotReadyFor = now.Sub(h.NotReadySince)
		d.Evict = d.NotReadyFor >= t.EvictionTimeout
	}
	switch d.State {
	case NotReady:
		d.Taints = lifecycleTaints(TaintNotReady, now)
	case Unreachable:
		d.Taints = lifecycleTaints(TaintUnreachable, now)
	}
	d.Health = h
	return d
}

func lifecycleTaints(key string, now time.Time) []v1.Taint {
	added := metav1.NewTime(now)
	return []v1.Taint{
		{Key: key, Effect: v1.TaintEffectNoSchedule},
		{Key: key, Effect: v1.TaintEffectNoExecute, TimeAdded: &added},
	}
}

func readyCondition(node *v1.Node) *v1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == v1.NodeReady {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

func isLifecycleTaint(t v1.Taint) bool {
	return t.Key == TaintUnreachable || t.Key == TaintNotReady
}

// ReconcileTaints returns the node's taints with the lifecycle taints
// replaced by want (others untouched; a taint already present keeps its
// timeAdded), and whether anything changed.
func ReconcileTaints(current, want []v1.Taint) ([]v1.Taint, bool) {
	var out []v1.Taint
	changed := false
	for _, t := range current {
		if !isLifecycleTaint(t) {
			out = append(out, t)
			continue
		}
		if containsTaint(want, t) {
			out = append(out, t)
		} else {
			changed = true
		}
	}
	for _, w := range want {
		if !containsTaint(current, w) {
			out = append(out, w)
			changed = true
		}
	}
	return out, changed
}

func containsTaint(list []v1.Taint, t v1.Taint) bool {
	for _, x := range list {
		if x.Key == t.Key && x.Effect == t.Effect && x.Value == t.Value {
			return true
		}
	}
	return false
}

// MarkUnknown returns a copy of node whose conditions are all Unknown, as
// written when its agent went silent; lastHeartbeatTime is kept.
func MarkUnknown(node *v1.Node, now time.Time) *v1.Node {
	cp := node.DeepCopy()
	at := metav1.NewTime(now)
	hasReady := false
	for i := range cp.Status.Conditions {
		c := &cp.Status.Conditions[i]
		if c.Type == v1.NodeReady {
			hasReady = true
		}
		if c.Status != v1.ConditionUnknown {
			c.LastTransitionTime = at
		}
		c.Status = v1.ConditionUnknown
		c.Reason = ReasonStatusUnknown
		c.Message = MessageStatusUnknown
	}
	if !hasReady {
		cp.Status.Conditions = append(cp.Status.Conditions, v1.NodeCondition{
			Type:               v1.NodeReady,
			Status:             v1.ConditionUnknown,
			Reason:             ReasonStatusNeverUpdated,
			Message:            MessageStatusNeverUpdate,
			LastHeartbeatTime:  cp.CreationTimestamp,
			LastTransitionTime: at,
		})
	}
	return cp
}

// PodNotReady returns a copy of pod with its Ready condition False, or nil
// when it is not Ready already.
func PodNotReady(pod *v1.Pod, now time.Time) *v1.Pod {
	if !podstate.IsReady(pod) {
		return nil
	}
	cp := pod.DeepCopy()
	for i := range cp.Status.Conditions {
		c := &cp.Status.Conditions[i]
		if c.Type == v1.PodReady || c.Type == v1.ContainersReady {
			c.Status = v1.ConditionFalse
			c.LastTransitionTime = metav1.NewTime(now)
			c.Reason = "NodeNotReady"
			c.Message = "the pod's node stopped posting status"
		}
	}
	return cp
}

// EvictionsAllowed reports whether pods may be evicted at all: not while
// every node is not ready, which points at the control plane's own network
// rather than at the nodes.
func EvictionsAllowed(states []State) bool {
	for _, s := range states {
		if s == Ready {
			return true
		}
	}
	return false
}

// PodEvictable reports whether a pod on a node not ready for notReadyFor
// (carrying the NoExecute taint given) is to be deleted: a pod that
// tolerates the taint stays — forever, or for its tolerationSeconds
// counted from when the node stopped being ready — and any other pod goes
// once the eviction timeout passed (Kubernetes' taint-based eviction, with
// the timeout in place of the default 300s tolerations its admission
// adds).
func PodEvictable(pod *v1.Pod, taint v1.Taint, notReadyFor, evictionTimeout time.Duration) bool {
	for i := range pod.Spec.Tolerations {
		tol := &pod.Spec.Tolerations[i]
		if !tol.ToleratesTaint(klog.Background(), &taint, false) {
			continue
		}
		if tol.TolerationSeconds == nil {
			return false
		}
		return notReadyFor >= time.Duration(*tol.TolerationSeconds)*time.Second
	}
	return notReadyFor >= evictionTimeout
}
