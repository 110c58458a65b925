package describe

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// EventSelector is the field selector kubectl sends to find the events of
// an object: involvedObject name and namespace, and kind and uid when
// known (kubectl leaves the kind out for pods).
func EventSelector(name, namespace, kind, uid string) string {
	terms := []string{
		"involvedObject.name=" + fields.EscapeValue(name),
		"involvedObject.namespace=" + fields.EscapeValue(namespace),
	}
	if kind != "" {
		terms = append(terms, "involvedObject.kind="+fields.EscapeValue(kind))
	}
	if uid != "" {
		terms = append(terms, "involvedObject.uid="+fields.EscapeValue(uid))
	}
	return strings.Join(terms, ",")
}

// events writes the Events table. A nil list (events not fetched) writes
// nothing; an empty one writes "Events: <none>".
func (w *writer) events(list *corev1.EventList, now time.Time) {
	if list == nil {
		return
	}
	if len(list.Items) == 0 {
		w.write(0, "Events:\t<none>\n")
		return
	}
	w.flush()
	items := append([]corev1.Event(nil), list.Items...)
	sort.SliceStable(items, func(i, j int) bool { return eventTime(items[i]).Before(eventTime(items[j])) })
	w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
	w.write(1, "----\t------\t----\t----\t-------\n")
	for _, e := range items {
		first := sinceMicro(e.EventTime, now)
		if e.EventTime.IsZero() {
			first = since(e.FirstTimestamp, now)
		}
		interval := first
		switch {
		case e.Series != nil:
			interval = fmt.Sprintf("%s (x%d over %s)", sinceMicro(e.Series.LastObservedTime, now), e.Series.Count, first)
		case e.Count > 1:
			interval = fmt.Sprintf("%s (x%d over %s)", since(e.LastTimestamp, now), e.Count, first)
		}
		source := e.Source.Component
		if source == "" {
			source = e.ReportingController
		}
		w.write(1, "%v\t%v\t%s\t%v\t%v\n", e.Type, e.Reason, interval, source, strings.TrimSpace(e.Message))
	}
}

// eventTime orders events like kubectl: by the last time they were seen.
func eventTime(e corev1.Event) time.Time {
	if e.Series != nil {
		return e.Series.LastObservedTime.Time
	}
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	return e.EventTime.Time
}
