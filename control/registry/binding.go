package registry

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ErrConflict marks an operation refused because of the object's current
// state (HTTP 409 Conflict): binding an already bound pod, for example.
var ErrConflict = errors.New("conflict")

// ValidateBinding checks a Binding posted to pods/binding for the pod
// named podName.
func ValidateBinding(b *corev1.Binding, podName string) field.ErrorList {
	var errs field.ErrorList
	if b.Name != "" && b.Name != podName {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), b.Name, fmt.Sprintf("must match the pod's name %q", podName)))
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	}
	return errs
}

// BindPod assigns pod to the node b names, as Kubernetes' pods/binding
// does: it sets spec.nodeName, copies b's annotations onto the pod and
// sets the PodScheduled condition. It fails with an error wrapping
// ErrConflict if the pod is already bound, is being deleted, has
// scheduling gates, or b's uid precondition does not match. Call
// ValidateBinding first; store the result as a status-preserving update
// (spec.nodeName cannot otherwise change).
func BindPod(pod *corev1.Pod, b *corev1.Binding, now time.Time) error {
	switch {
	case b.UID != "" && b.UID != pod.UID:
		return fmt.Errorf("%w: precondition failed: UID in precondition: %v, UID in object meta: %v", ErrConflict, b.UID, pod.UID)
	case pod.DeletionTimestamp != nil:
		return fmt.Errorf("%w: pod %s is being deleted, cannot be assigned to a host", ErrConflict, pod.Name)
	case pod.Spec.NodeName != "":
		return fmt.Errorf("%w: pod %s is already assigned to node %q", ErrConflict, pod.Name, pod.Spec.NodeName)
	case len(pod.Spec.SchedulingGates) > 0:
		return fmt.Errorf("%w: pod %s has non-empty .spec.schedulingGates", ErrConflict, pod.Name)
	}
	pod.Spec.NodeName = b.Target.Name
	if len(b.Annotations) > 0 && pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	for k, v := range b.Annotations {
		pod.Annotations[k] = v
	}
	SetPodCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, now)
	return nil
}

// SetPodCondition adds or updates a condition of status. The transition
// time becomes now when the condition's status changes (or is new), and is
// kept otherwise; a zero probe time keeps the previous one.
func SetPodCondition(status *corev1.PodStatus, c corev1.PodCondition, now time.Time) {
	t := metav1.NewTime(now)
	for i := range status.Conditions {
		old := &status.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		} else if c.LastTransitionTime.IsZero() {
			c.LastTransitionTime = t
		}
		if c.LastProbeTime.IsZero() {
			c.LastProbeTime = old.LastProbeTime
		}
		*old = c
		return
	}
	if c.LastTransitionTime.IsZero() {
		c.LastTransitionTime = t
	}
	status.Conditions = append(status.Conditions, c)
}
