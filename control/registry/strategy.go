package registry

import (
	"fmt"
	"time"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// typedStrategy is a Strategy written against one concrete type; adapt
// turns it into a Strategy. Each resource file implements one.
type typedStrategy[T Object] interface {
	prepareForCreate(obj T)
	prepareForUpdate(obj, old T)
	prepareForStatusUpdate(obj, old T)
	setDefaults(obj T)
	validate(obj T) field.ErrorList
	validateUpdate(obj, old T) field.ErrorList
	validateStatusUpdate(obj, old T) field.ErrorList
	specChanged(obj, old T) bool
	fields(obj T) fields.Set
	columns() []metav1.TableColumnDefinition
	row(obj T, now time.Time) []interface{}
}

// adapter implements Strategy over a typedStrategy. Passing an object of
// another type is a programming error in the API server and panics with a
// message naming both types.
type adapter[T Object] struct{ s typedStrategy[T] }

func adapt[T Object](s typedStrategy[T]) Strategy { return adapter[T]{s} }

func cast[T Object](obj Object) T {
	t, ok := obj.(T)
	if !ok {
		var want T
		panic(fmt.Sprintf("registry: strategy for %T called with %T", want, obj))
	}
	return t
}

func (a adapter[T]) PrepareForCreate(obj Object) { a.s.prepareForCreate(cast[T](obj)) }
func (a adapter[T]) PrepareForUpdate(obj, old Object) {
	a.s.prepareForUpdate(cast[T](obj), cast[T](old))
}
func (a adapter[T]) PrepareForStatusUpdate(obj, old Object) {
	a.s.prepareForStatusUpdate(cast[T](obj), cast[T](old))
}
func (a adapter[T]) Default(obj Object)                  { a.s.setDefaults(cast[T](obj)) }
func (a adapter[T]) Validate(obj Object) field.ErrorList { return a.s.validate(cast[T](obj)) }
func (a adapter[T]) ValidateUpdate(obj, old Object) field.ErrorList {
	return a.s.validateUpdate(cast[T](obj), cast[T](old))
}
func (a adapter[T]) ValidateStatusUpdate(obj, old Object) field.ErrorList {
	return a.s.validateStatusUpdate(cast[T](obj), cast[T](old))
}
func (a adapter[T]) SpecChanged(obj, old Object) bool {
	return a.s.specChanged(cast[T](obj), cast[T](old))
}
func (a adapter[T]) Fields(obj Object) fields.Set { return a.s.fields(cast[T](obj)) }
func (a adapter[T]) Columns() []metav1.TableColumnDefinition {
	return a.s.columns()
}
func (a adapter[T]) Row(obj Object, now time.Time) []interface{} {
	return a.s.row(cast[T](obj), now)
}

// metaFields is the field set every object has.
func metaFields(obj Object, namespaced bool) fields.Set {
	s := fields.Set{"metadata.name": obj.GetName()}
	if namespaced {
		s["metadata.namespace"] = obj.GetNamespace()
	}
	return s
}

// validateMeta checks metadata on create, as Kubernetes' ValidateObjectMeta.
func validateMeta(meta *metav1.ObjectMeta, namespaced bool, name apivalidation.ValidateNameFunc) field.ErrorList {
	return apivalidation.ValidateObjectMeta(meta, namespaced, name, field.NewPath("metadata"))
}

// nameColumn is the NAME column every table starts with.
func nameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]}
}

// ageColumn is the AGE column.
func ageColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]}
}

// translateTimestampSince formats the age of t as kubectl does ("5m",
// "3h20m", "<unknown>" for a zero time).
func translateTimestampSince(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}
