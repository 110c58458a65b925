package apiserver

import (
	"errors"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tug-sh/tug/control/registry"
)

var (
	bindingGVK = corev1.SchemeGroupVersion.WithKind("Binding")
	bindingGR  = schema.GroupResource{Resource: "pods/binding"}
)

// serveBinding answers POST pods/{name}/binding and POST bindings: the
// scheduler's way to assign a pod to a node.
func (s *Server) serveBinding(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	wr, err := s.readWrite(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	validation, dryRun, body := wr.validation, wr.dryRun, wr.body
	b := &corev1.Binding{}
	warnings, err := decodeBody(body, r.Header.Get("Content-Type"), b, bindingGVK, validation)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkBinding(ri, b); err != nil {
		s.writeError(w, r, err)
		return
	}
	_, _, err = s.update(r.Context(), updateSpec{
		res: ri.res, ns: b.Namespace, name: b.Name, kind: updateRaw, dryRun: dryRun,
		mutate: func(cur registry.Object) (registry.Object, error) {
			return bindPod(cur.(*corev1.Pod), b, time.Now())
		},
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	writeJSON(w, http.StatusCreated, successStatus(http.StatusCreated))
}

// checkBinding fills and checks a Binding's identity and target.
func checkBinding(ri *requestInfo, b *corev1.Binding) error {
	switch b.Namespace {
	case "":
		b.Namespace = ri.namespace
	case ri.namespace:
	default:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	pod := ri.name
	if pod != "" && b.Name != "" && b.Name != pod {
		return apierrors.NewBadRequest("name in URL does not match name in Binding object")
	}
	if pod == "" { // POST bindings: the Binding names the pod
		if b.Name == "" {
			return apierrors.NewInvalid(bindingGVK.GroupKind(), "", field.ErrorList{field.Required(field.NewPath("metadata", "name"), "the name of the pod to bind")})
		}
		pod = b.Name
	}
	if errs := registry.ValidateBinding(b, pod); len(errs) > 0 {
		return apierrors.NewInvalid(bindingGVK.GroupKind(), b.Name, errs)
	}
	b.Name = pod
	return nil
}

// bindPod assigns pod to the binding's node (registry.BindPod), with its
// refusals as kube's 409 Conflict on pods/binding.
func bindPod(pod *corev1.Pod, b *corev1.Binding, now time.Time) (*corev1.Pod, error) {
	if err := registry.BindPod(pod, b, now); err != nil {
		if errors.Is(err, registry.ErrConflict) {
			msg := strings.TrimPrefix(err.Error(), registry.ErrConflict.Error()+": ")
			return nil, apierrors.NewConflict(bindingGR, pod.Name, errors.New(msg))
		}
		return nil, err
	}
	return pod, nil
}
