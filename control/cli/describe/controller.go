package describe

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// PodCounts is the "Pods Status" line of a controller.
type PodCounts struct{ Running, Waiting, Succeeded, Failed int }

// CountPods counts by phase the pods whose controller owner reference is
// the controller with uid: pods that only match the selector are not its
// pods (kubectl counts the same way).
func CountPods(pods []corev1.Pod, uid types.UID) PodCounts {
	var c PodCounts
	for i := range pods {
		ref := metav1.GetControllerOf(&pods[i])
		if ref == nil || ref.UID != uid {
			continue
		}
		switch pods[i].Status.Phase {
		case corev1.PodRunning:
			c.Running++
		case corev1.PodPending:
			c.Waiting++
		case corev1.PodSucceeded:
			c.Succeeded++
		case corev1.PodFailed:
			c.Failed++
		}
	}
	return c
}

// ReplicationController describes a replication controller, the counts of
// its pods and its events (nil: not fetched).
func ReplicationController(rc *corev1.ReplicationController, pods PodCounts, events *corev1.EventList, now time.Time) string {
	w := newWriter()
	w.write(0, "Name:\t%s\n", rc.Name)
	w.write(0, "Namespace:\t%s\n", rc.Namespace)
	w.write(0, "Selector:\t%s\n", labels.FormatLabels(rc.Spec.Selector))
	w.labelsMultiline("Labels", rc.Labels)
	w.annotationsMultiline("Annotations", rc.Annotations)
	desired := int32(1) // the API default when unset
	if rc.Spec.Replicas != nil {
		desired = *rc.Spec.Replicas
	}
	w.write(0, "Replicas:\t%d current / %d desired\n", rc.Status.Replicas, desired)
	w.write(0, "Pods Status:\t%d Running / %d Waiting / %d Succeeded / %d Failed\n", pods.Running, pods.Waiting, pods.Succeeded, pods.Failed)
	w.podTemplate(rc.Spec.Template)
	if len(rc.Status.Conditions) > 0 {
		w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
		w.write(1, "----\t------\t------\n")
		for _, c := range rc.Status.Conditions {
			w.write(1, "%v \t%v\t%v\n", c.Type, c.Status, c.Reason)
		}
	}
	w.events(events, now)
	return w.String()
}
