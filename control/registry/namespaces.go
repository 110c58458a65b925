package registry

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// namespaceStrategy: pkg/registry/core/namespace/strategy.go.
// spec.finalizers holds "kubernetes" from creation until the namespace
// controller has emptied a deleted namespace and removes it through
// namespaces/finalize; only then does the namespace go away.
type namespaceStrategy struct{}

// LabelMetadataName is the label every namespace carries with its own name,
// so that selectors can pick namespaces by name.
const LabelMetadataName = "kubernetes.io/metadata.name"

func (namespaceStrategy) prepareForCreate(ns *corev1.Namespace) {
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return
		}
	}
	ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
}

func (namespaceStrategy) prepareForUpdate(ns, old *corev1.Namespace) {
	ns.Spec.Finalizers = append([]corev1.FinalizerName(nil), old.Spec.Finalizers...)
	ns.Status = *old.Status.DeepCopy()
}

func (namespaceStrategy) prepareForStatusUpdate(ns, old *corev1.Namespace) {
	ns.Spec = *old.Spec.DeepCopy()
}

func (namespaceStrategy) setDefaults(ns *corev1.Namespace) {
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[LabelMetadataName] = ns.Name
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
}

func (namespaceStrategy) validate(ns *corev1.Namespace) field.ErrorList {
	errs := validateMeta(&ns.ObjectMeta, false, apivalidation.NameIsDNSLabel)
	return append(errs, validateNamespaceFinalizers(ns.Spec.Finalizers, field.NewPath("spec", "finalizers"))...)
}

// validateNamespaceFinalizers: each a qualified name, and unprefixed ones
// must be standard ("kubernetes").
func validateNamespaceFinalizers(finalizers []corev1.FinalizerName, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range finalizers {
		errs = append(errs, metavalidation.ValidateLabelName(string(f), fldPath)...)
		if !strings.Contains(string(f), "/") && f != corev1.FinalizerKubernetes {
			errs = append(errs, field.Invalid(fldPath, f, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

func (s namespaceStrategy) validateUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, s.validate(ns)...)
}

func (namespaceStrategy) validateStatusUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	phase := field.NewPath("status", "Phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			errs = append(errs, field.Invalid(phase, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty"))
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		errs = append(errs, field.Invalid(phase, ns.Status.Phase, "may only be in terminating status if `deletionTimestamp` is not empty"))
	}
	return errs
}

func (namespaceStrategy) specChanged(ns, old *corev1.Namespace) bool {
	return !equality.Semantic.DeepEqual(ns.Spec, old.Spec)
}

func (namespaceStrategy) fields(ns *corev1.Namespace) fields.Set {
	s := metaFields(ns, false)
	s["status.phase"] = string(ns.Status.Phase)
	// Kubernetes also accepts "name" (a historical mistake kept for
	// compatibility).
	s["name"] = ns.Name
	return s
}

func (namespaceStrategy) columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Status", Type: "string", Description: "The status of the namespace"},
		ageColumn(),
	}
}

func (namespaceStrategy) row(ns *corev1.Namespace, now time.Time) []interface{} {
	return []interface{}{ns.Name, string(ns.Status.Phase), translateTimestampSince(ns.CreationTimestamp, now)}
}

// PrepareForFinalize prepares an update through namespaces/finalize: the
// client's spec.finalizers are taken, everything else but metadata comes
// from old. Follow it with ValidateFinalize.
func PrepareForFinalize(ns, old *corev1.Namespace) {
	ns.Status = *old.Status.DeepCopy()
}

// ValidateFinalize checks an update through namespaces/finalize.
func ValidateFinalize(ns, old *corev1.Namespace) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, validateNamespaceFinalizers(ns.Spec.Finalizers, field.NewPath("spec", "finalizers"))...)
}

// MarkNamespaceTerminating applies a DELETE to ns. A namespace whose
// spec.finalizers is empty is deleted at once (it returns true). Otherwise
// it gets a deletionTimestamp (kept if already set) and phase Terminating,
// the caller stores it, and the namespace controller finalizes it later;
// it returns false.
func MarkNamespaceTerminating(ns *corev1.Namespace, now time.Time) (deleteNow bool) {
	if len(ns.Spec.Finalizers) == 0 {
		return true
	}
	if ns.DeletionTimestamp == nil {
		t := metav1.NewTime(now)
		ns.DeletionTimestamp = &t
	}
	ns.Status.Phase = corev1.NamespaceTerminating
	return false
}
