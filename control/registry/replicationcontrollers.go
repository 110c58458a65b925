package registry

import (
	"bytes"
	"strconv"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// rcStrategy: pkg/registry/core/replicationcontroller/strategy.go.
type rcStrategy struct{}

func (rcStrategy) prepareForCreate(rc *corev1.ReplicationController) {
	rc.Status = corev1.ReplicationControllerStatus{}
}

func (rcStrategy) prepareForUpdate(rc, old *corev1.ReplicationController) {
	rc.Status = *old.Status.DeepCopy()
}

func (rcStrategy) prepareForStatusUpdate(rc, old *corev1.ReplicationController) {
	rc.Spec = *old.Spec.DeepCopy()
}

// setDefaults follows SetDefaults_ReplicationController: the selector and
// the RC's own labels default to the template's labels, replicas to 1.
// The template's pod spec gets pod spec defaults, but not the pod-only
// ones (requests from limits, enableServiceLinks).
func (rcStrategy) setDefaults(rc *corev1.ReplicationController) {
	if t := rc.Spec.Template; t != nil && t.Labels != nil {
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = copyMap(t.Labels)
		}
		if len(rc.Labels) == 0 {
			rc.Labels = copyMap(t.Labels)
		}
	}
	if rc.Spec.Replicas == nil {
		rc.Spec.Replicas = ptrTo(int32(1))
	}
	if rc.Spec.Template != nil {
		setPodSpecDefaults(&rc.Spec.Template.Spec)
	}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (rcStrategy) validate(rc *corev1.ReplicationController) field.ErrorList {
	errs := validateMeta(&rc.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
	return append(errs, validateRCSpec(&rc.Spec, field.NewPath("spec"))...)
}

func validateRCSpec(spec *corev1.ReplicationControllerSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.Replicas != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.Replicas), fldPath.Child("replicas"))...)
	}
	if len(spec.Selector) == 0 {
		errs = append(errs, field.Required(fldPath.Child("selector"), ""))
	} else {
		errs = append(errs, metavalidation.ValidateLabels(spec.Selector, fldPath.Child("selector"))...)
	}
	t := spec.Template
	if t == nil {
		return append(errs, field.Required(fldPath.Child("template"), ""))
	}
	tPath := fldPath.Child("template")
	if len(spec.Selector) > 0 && !labels.SelectorFromSet(spec.Selector).Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(tPath.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, validatePodTemplateSpec(t, tPath)...)
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(tPath.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tPath.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}

func (s rcStrategy) validateUpdate(rc, old *corev1.ReplicationController) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, s.validate(rc)...)
}

func (rcStrategy) validateStatusUpdate(rc, old *corev1.ReplicationController) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, validateRCStatus(&rc.Status, field.NewPath("status"))...)
}

func validateRCStatus(st *corev1.ReplicationControllerStatus, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		name  string
		value int64
	}{
		{"replicas", int64(st.Replicas)}, {"fullyLabeledReplicas", int64(st.FullyLabeledReplicas)},
		{"readyReplicas", int64(st.ReadyReplicas)}, {"availableReplicas", int64(st.AvailableReplicas)},
		{"observedGeneration", st.ObservedGeneration},
	} {
		errs = append(errs, apivalidation.ValidateNonnegativeField(f.value, fldPath.Child(f.name))...)
	}
	const tooMany = "cannot be greater than status.replicas"
	if st.FullyLabeledReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("fullyLabeledReplicas"), st.FullyLabeledReplicas, tooMany))
	}
	if st.ReadyReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("readyReplicas"), st.ReadyReplicas, tooMany))
	}
	if st.AvailableReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), st.AvailableReplicas, tooMany))
	}
	if st.AvailableReplicas > st.ReadyReplicas {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), st.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

func (rcStrategy) specChanged(rc, old *corev1.ReplicationController) bool {
	return !equality.Semantic.DeepEqual(rc.Spec, old.Spec)
}

func (rcStrategy) fields(rc *corev1.ReplicationController) fields.Set {
	s := metaFields(rc, true)
	s["status.replicas"] = strconv.Itoa(int(rc.Status.Replicas))
	return s
}

func (rcStrategy) columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Desired", Type: "integer", Description: corev1.ReplicationControllerSpec{}.SwaggerDoc()["replicas"]},
		{Name: "Current", Type: "integer", Description: corev1.ReplicationControllerStatus{}.SwaggerDoc()["replicas"]},
		{Name: "Ready", Type: "integer", Description: corev1.ReplicationControllerStatus{}.SwaggerDoc()["readyReplicas"]},
		ageColumn(),
		{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."},
		{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."},
		{Name: "Selector", Type: "string", Priority: 1, Description: corev1.ReplicationControllerSpec{}.SwaggerDoc()["selector"]},
	}
}

func (rcStrategy) row(rc *corev1.ReplicationController, now time.Time) []interface{} {
	desired := int64(0)
	if rc.Spec.Replicas != nil {
		desired = int64(*rc.Spec.Replicas)
	}
	var containers []corev1.Container
	if rc.Spec.Template != nil {
		containers = rc.Spec.Template.Spec.Containers
	}
	names, images := containerCells(containers)
	return []interface{}{
		rc.Name, desired, int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas),
		translateTimestampSince(rc.CreationTimestamp, now),
		names, images, labels.FormatLabels(rc.Spec.Selector),
	}
}

// containerCells lays out container names and images, comma-separated.
func containerCells(containers []corev1.Container) (names, images string) {
	var n, i bytes.Buffer
	for k, c := range containers {
		if k > 0 {
			n.WriteByte(',')
			i.WriteByte(',')
		}
		n.WriteString(c.Name)
		i.WriteString(c.Image)
	}
	return n.String(), i.String()
}

// ScaleFromRC returns the autoscaling/v1 Scale that
// replicationcontrollers/scale serves for rc.
func ScaleFromRC(rc *corev1.ReplicationController) *autoscalingv1.Scale {
	replicas := int32(0)
	if rc.Spec.Replicas != nil {
		replicas = *rc.Spec.Replicas
	}
	return &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              rc.Name,
			Namespace:         rc.Namespace,
			UID:               rc.UID,
			ResourceVersion:   rc.ResourceVersion,
			CreationTimestamp: rc.CreationTimestamp,
		},
		Spec: autoscalingv1.ScaleSpec{Replicas: replicas},
		Status: autoscalingv1.ScaleStatus{
			Replicas: rc.Status.Replicas,
			Selector: labels.SelectorFromSet(rc.Spec.Selector).String(),
		},
	}
}

// ApplyScale sets rc's desired replicas from a Scale written to
// replicationcontrollers/scale. It validates the Scale first (nothing
// changes on error). A resourceVersion in the Scale becomes rc's, so that
// the update is conditional on it, as in Kubernetes. The caller then stores
// rc as a regular update (PrepareForUpdate, Default, ValidateUpdate).
func ApplyScale(rc *corev1.ReplicationController, scale *autoscalingv1.Scale) field.ErrorList {
	var errs field.ErrorList
	if scale.Name != "" && scale.Name != rc.Name {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), scale.Name, "must match the replication controller's name "+strconv.Quote(rc.Name)))
	}
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(scale.Spec.Replicas), field.NewPath("spec", "replicas"))...)
	if len(errs) > 0 {
		return errs
	}
	rc.Spec.Replicas = ptrTo(scale.Spec.Replicas)
	if scale.ResourceVersion != "" {
		rc.ResourceVersion = scale.ResourceVersion
	}
	return nil
}
