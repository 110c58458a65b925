package scheduler

import (
	"reflect"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/controller/internal/podstate"
)

// nodeMayFitMore reports whether a node update can make a pod that did not
// fit fit now; heartbeats and status noise do not.
func nodeMayFitMore(old, cur *v1.Node) bool {
	return old.Spec.Unschedulable != cur.Spec.Unschedulable ||
		!reflect.DeepEqual(old.Labels, cur.Labels) ||
		!apiequality.Semantic.DeepEqual(old.Spec.Taints, cur.Spec.Taints) ||
		!apiequality.Semantic.DeepEqual(old.Status.Allocatable, cur.Status.Allocatable) ||
		nodeReady(old) != nodeReady(cur)
}

// podMayFitMore reports whether a pending pod's update can change where it
// fits: its spec or labels changed, not merely its status.
func podMayFitMore(old, cur *v1.Pod) bool {
	return !apiequality.Semantic.DeepEqual(old.Spec, cur.Spec) || !reflect.DeepEqual(old.Labels, cur.Labels)
}

// withUnschedulableCondition returns a copy of pod with PodScheduled=False
// (reason Unschedulable, the fit error as message), or nil when the pod
// already says exactly that.
func withUnschedulableCondition(pod *v1.Pod, message string, now time.Time) *v1.Pod {
	if c := podstate.Condition(pod, v1.PodScheduled); c != nil &&
		c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable && c.Message == message {
		return nil
	}
	cp := pod.DeepCopy()
	cond := v1.PodCondition{
		Type:               v1.PodScheduled,
		Status:             v1.ConditionFalse,
		Reason:             v1.PodReasonUnschedulable,
		Message:            message,
		LastProbeTime:      metav1.NewTime(now),
		LastTransitionTime: metav1.NewTime(now),
	}
	if c := podstate.Condition(cp, v1.PodScheduled); c != nil {
		if c.Status == v1.ConditionFalse {
			cond.LastTransitionTime = c.LastTransitionTime
		}
		*c = cond
		return cp
	}
	cp.Status.Conditions = append(cp.Status.Conditions, cond)
	return cp
}
