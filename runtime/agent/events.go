package agent

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
)

// event records an event about the pod.
func (a *Agent) event(pod *v1.Pod, eventType, reason, format string, args ...any) {
	if pod == nil || pod.UID == "" {
		return
	}
	ref := &v1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
		UID: pod.UID, ResourceVersion: pod.ResourceVersion,
	}
	a.recorder.Eventf(ref, eventType, reason, format, args...)
}

// containerEvent records an event about one container of the pod: the
// reference's fieldPath names it, as kubectl describe shows.
func (a *Agent) containerEvent(pod *v1.Pod, c *v1.Container, eventType, reason, format string, args ...any) {
	if pod == nil || c == nil || pod.UID == "" {
		return
	}
	ref := &v1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
		UID: pod.UID, ResourceVersion: pod.ResourceVersion, FieldPath: containerFieldPath(pod, c.Name),
	}
	a.recorder.Eventf(ref, eventType, reason, format, args...)
}

func containerFieldPath(pod *v1.Pod, name string) string {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return fmt.Sprintf("spec.initContainers{%s}", name)
		}
	}
	return fmt.Sprintf("spec.containers{%s}", name)
}
