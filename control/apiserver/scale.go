package apiserver

import (
	"encoding/json"
	"net/http"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/control/registry"
)

var scaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

// serveScale answers GET, PUT and PATCH of replicationcontrollers/scale.
func (s *Server) serveScale(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	if r.Method == http.MethodGet {
		obj, _, err := s.getObject(r.Context(), ri.res, ri.namespace, ri.name)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, registry.ScaleFromRC(obj.(*corev1.ReplicationController)))
		return
	}
	validation, err := fieldValidation(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dryRun, err := parseDryRun(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var pt types.PatchType // empty for PUT
	if r.Method == http.MethodPatch {
		if pt, err = patchType(r); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var warnings []string
	obj, _, err := s.update(r.Context(), updateSpec{
		res: ri.res, ns: ri.namespace, name: ri.name, kind: updateMain, dryRun: dryRun,
		mutate: func(cur registry.Object) (registry.Object, error) {
			rc := cur.(*corev1.ReplicationController)
			doc, contentType := body, r.Header.Get("Content-Type")
			if pt != "" {
				original, err := json.Marshal(registry.ScaleFromRC(rc))
				if err != nil {
					return nil, err
				}
				if doc, err = applyPatch(pt, original, body, &autoscalingv1.Scale{}); err != nil {
					return nil, err
				}
				contentType = mediaJSON
			}
			sc := &autoscalingv1.Scale{}
			warns, err := decodeBody(doc, contentType, sc, scaleGVK, validation)
			if err != nil {
				return nil, err
			}
			warnings = warns
			if sc.Namespace != "" && sc.Namespace != ri.namespace {
				return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
			}
			if errs := registry.ApplyScale(rc, sc); len(errs) > 0 {
				return nil, apierrors.NewInvalid(scaleGVK.GroupKind(), ri.name, errs)
			}
			return rc, nil
		},
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	writeJSON(w, http.StatusOK, registry.ScaleFromRC(obj.(*corev1.ReplicationController)))
}
