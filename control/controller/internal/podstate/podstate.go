package podstate

import (
	v1 "k8s.io/api/core/v1"
)

// IsReady reports whether the pod's Ready condition is True.
func IsReady(pod *v1.Pod) bool {
	c := Condition(pod, v1.PodReady)
	return c != nil && c.Status == v1.ConditionTrue
}

// Condition returns the pod's condition of type t, or nil.
func Condition(pod *v1.Pod, t v1.PodConditionType) *v1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// IsTerminal reports whether the pod has finished for good (Succeeded or
// Failed): its containers will not run again.
func IsTerminal(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed
}

// IsTerminating reports whether the pod has been asked to go away.
func IsTerminating(pod *v1.Pod) bool {
	return pod.DeletionTimestamp != nil
}

// IsActive reports whether the pod counts towards a controller's replicas:
// not finished and not being deleted.
func IsActive(pod *v1.Pod) bool {
	return !IsTerminal(pod) && !IsTerminating(pod)
}
