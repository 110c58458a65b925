package registry

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// eventStrategy: pkg/registry/core/event/strategy.go with core/v1's
// (legacy) validation. Events have no spec, status or defaults: a count of
// 0 is left as is (kubectl shows it as 1).
type eventStrategy struct{}

// Length limits of events that set eventTime (the events.k8s.io style).
const (
	eventReportingInstanceLimit = 128
	eventActionLimit            = 128
	eventReasonLimit            = 128
	eventNoteLimit              = 1024
)

func (eventStrategy) prepareForCreate(*corev1.Event)                          {}
func (eventStrategy) prepareForUpdate(_, _ *corev1.Event)                     {}
func (eventStrategy) prepareForStatusUpdate(_, _ *corev1.Event)               {}
func (eventStrategy) setDefaults(*corev1.Event)                               {}
func (eventStrategy) specChanged(_, _ *corev1.Event) bool                     { return false }
func (eventStrategy) validateStatusUpdate(_, _ *corev1.Event) field.ErrorList { return nil }

func (eventStrategy) validate(ev *corev1.Event) field.ErrorList {
	errs := validateMeta(&ev.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
	return append(errs, validateEvent(ev)...)
}

func (s eventStrategy) validateUpdate(ev, old *corev1.Event) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&ev.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, s.validate(ev)...)
}

// validateEvent follows legacyValidateEvent for core/v1 requests, and
// requires involvedObject to name something (tug has no use for events
// about nothing).
func validateEvent(ev *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	ref, refPath := ev.InvolvedObject, field.NewPath("involvedObject")
	if ref.Kind == "" && ref.Name == "" {
		errs = append(errs, field.Required(refPath, "must name the object the event is about (kind and name)"))
	}
	nsPath := refPath.Child("namespace")
	if ev.EventTime.IsZero() {
		if ref.Namespace == "" {
			// Cluster-scoped objects' events live in "default" (or nowhere).
			if ev.Namespace != metav1.NamespaceNone && ev.Namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(nsPath, ref.Namespace, "does not match event.namespace"))
			}
		} else if ev.Namespace != ref.Namespace {
			errs = append(errs, field.Invalid(nsPath, ref.Namespace, "does not match event.namespace"))
		}
	} else {
		if ref.Namespace == "" && ev.Namespace != metav1.NamespaceDefault && ev.Namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(nsPath, ref.Namespace, "does not match event.namespace"))
		}
		rc := field.NewPath("reportingComponent")
		if ev.ReportingController == "" {
			errs = append(errs, field.Required(rc, ""))
		}
		errs = append(errs, invalidIf(rc, ev.ReportingController, content.IsLabelKey)...)
		for _, f := range []struct {
			name  string
			value string
			limit int
			req   bool
		}{
			{"reportingInstance", ev.ReportingInstance, eventReportingInstanceLimit, true},
			{"action", ev.Action, eventActionLimit, true},
			{"reason", ev.Reason, eventReasonLimit, true},
			{"message", ev.Message, eventNoteLimit, false},
		} {
			if f.req && f.value == "" {
				errs = append(errs, field.Required(field.NewPath(f.name), ""))
			}
			if len(f.value) > f.limit {
				errs = append(errs, field.Invalid(field.NewPath(f.name), "", fmt.Sprintf("can have at most %d characters", f.limit)))
			}
		}
	}
	errs = append(errs, invalidIf(field.NewPath("namespace"), ev.Namespace, validation.IsDNS1123Subdomain)...)
	return errs
}

func (eventStrategy) fields(ev *corev1.Event) fields.Set {
	s := metaFields(ev, true)
	ref := ev.InvolvedObject
	s["involvedObject.kind"] = ref.Kind
	s["involvedObject.namespace"] = ref.Namespace
	s["involvedObject.name"] = ref.Name
	s["involvedObject.uid"] = string(ref.UID)
	s["involvedObject.apiVersion"] = ref.APIVersion
	s["involvedObject.resourceVersion"] = ref.ResourceVersion
	s["involvedObject.fieldPath"] = ref.FieldPath
	s["reason"] = ev.Reason
	s["reportingComponent"] = ev.ReportingController
	s["source"] = EventSourceComponent(ev)
	s["type"] = ev.Type
	return s
}

// EventSourceComponent is the component that reported ev: source.component,
// or reportingComponent for events written the events.k8s.io way.
func EventSourceComponent(ev *corev1.Event) string {
	if ev.Source.Component != "" {
		return ev.Source.Component
	}
	return ev.ReportingController
}

// InvolvedObjectSelector selects the events about ref, as
// `kubectl describe` asks for them (and in its order).
func InvolvedObjectSelector(ref corev1.ObjectReference) fields.Selector {
	terms := []fields.Selector{
		fields.OneTermEqualSelector("involvedObject.name", ref.Name),
		fields.OneTermEqualSelector("involvedObject.namespace", ref.Namespace),
	}
	if ref.UID != "" {
		terms = append(terms, fields.OneTermEqualSelector("involvedObject.uid", string(ref.UID)))
	}
	if ref.Kind != "" {
		terms = append(terms, fields.OneTermEqualSelector("involvedObject.kind", ref.Kind))
	}
	return fields.AndSelectors(terms...)
}

// EventAggregationKey identifies events that are repeats of one another
// (same object, source, type, reason and message), like client-go's event
// correlator: a recorder bumps count and lastTimestamp on the existing
// event with the same key instead of creating a new one.
func EventAggregationKey(ev *corev1.Event) string {
	r := ev.InvolvedObject
	return strings.Join([]string{
		ev.Source.Component, ev.Source.Host,
		r.Kind, r.Namespace, r.Name, r.FieldPath, string(r.UID), r.APIVersion,
		ev.Type, ev.Reason, ev.Message,
	}, "")
}

func (eventStrategy) columns() []metav1.TableColumnDefinition {
	doc := corev1.Event{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		{Name: "Last Seen", Type: "string", Description: doc["lastTimestamp"]},
		{Name: "Type", Type: "string", Description: doc["type"]},
		{Name: "Reason", Type: "string", Description: doc["reason"]},
		{Name: "Object", Type: "string", Description: doc["involvedObject"]},
		{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
		{Name: "Source", Type: "string", Priority: 1, Description: doc["source"]},
		{Name: "Message", Type: "string", Description: doc["message"]},
		{Name: "First Seen", Type: "string", Priority: 1, Description: doc["firstTimestamp"]},
		// Kubernetes declares Count "string" but sends an integer cell; the
		// type here matches the cell (kubectl prints both the same).
		{Name: "Count", Type: "integer", Priority: 1, Description: doc["count"]},
		{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	}
}

func (eventStrategy) row(ev *corev1.Event, now time.Time) []interface{} {
	since := func(t time.Time) string {
		return translateTimestampSince(metav1.NewTime(t), now)
	}
	first := since(ev.FirstTimestamp.Time)
	if ev.FirstTimestamp.IsZero() {
		first = since(ev.EventTime.Time)
	}
	last := since(ev.LastTimestamp.Time)
	if ev.LastTimestamp.IsZero() {
		last = first
	}
	count := ev.Count
	if ev.Series != nil {
		last = since(ev.Series.LastObservedTime.Time)
		count = ev.Series.Count
	} else if count == 0 {
		count = 1 // singleton events written the new way have no count
	}
	target := strings.ToLower(ev.InvolvedObject.Kind)
	if ev.InvolvedObject.Name != "" {
		target += "/" + ev.InvolvedObject.Name
	}
	component, instance := EventSourceComponent(ev), ev.Source.Host
	if instance == "" {
		instance = ev.ReportingInstance
	}
	source := component
	if instance != "" {
		source += ", " + instance
	}
	return []interface{}{
		last, ev.Type, ev.Reason, target, ev.InvolvedObject.FieldPath, source,
		strings.TrimSpace(ev.Message), first, int64(count), ev.Name,
	}
}
