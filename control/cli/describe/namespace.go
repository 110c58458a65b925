package describe

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Namespace describes a namespace. kubectl appends the namespace's
// resource quotas and limit ranges when the server serves them; tug's does
// not, so neither section is printed.
func Namespace(ns *corev1.Namespace) string {
	w := newWriter()
	w.write(0, "Name:\t%s\n", ns.Name)
	w.labelsMultiline("Labels", ns.Labels)
	w.annotationsMultiline("Annotations", ns.Annotations)
	w.write(0, "Status:\t%s\n", string(ns.Status.Phase))
	if len(ns.Status.Conditions) > 0 {
		w.write(0, "Conditions:\n")
		w.write(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
		w.write(1, "----\t------\t------------------\t------\t-------\n")
		for _, c := range ns.Status.Conditions {
			w.write(1, "%v\t%v\t%s\t%v\t%v\n", c.Type, c.Status, c.LastTransitionTime.Time.Format(time.RFC1123Z), c.Reason, c.Message)
		}
	}
	return w.String()
}
