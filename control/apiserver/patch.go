package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/tug-sh/tug/control/registry"
)

// patchType reads the patch flavour from Content-Type. Server-side apply
// is refused with a message saying what to do instead.
func patchType(r *http.Request) (types.PatchType, error) {
	media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch pt := types.PatchType(media); pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
		return pt, nil
	case types.ApplyYAMLPatchType, types.ApplyCBORPatchType:
		return "", unsupportedMediaType("server-side apply is not supported by tug; use `kubectl apply` without --server-side (client-side apply)")
	}
	return "", unsupportedMediaType(fmt.Sprintf("the body of the request was in an unknown format (%q) - accepted media types include: %s, %s, %s",
		media, types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType))
}

func unsupportedMediaType(msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusUnsupportedMediaType,
		Reason:  metav1.StatusReasonUnsupportedMediaType,
		Message: msg,
	}}
}

// applyPatch applies a patch of type pt to the JSON document original.
// schema is an empty value of the document's Go type, which strategic
// merge patches read their list merge keys and directives from.
func applyPatch(pt types.PatchType, original, patch []byte, schema any) ([]byte, error) {
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid JSON patch: %v", err))
		}
		out, err := p.Apply(original)
		if err != nil {
			return nil, unprocessable(fmt.Sprintf("the JSON patch cannot be applied: %v", err))
		}
		return out, nil
	case types.MergePatchType:
		out, err := jsonpatch.MergePatch(original, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid merge patch: %v", err))
		}
		return out, nil
	case types.StrategicMergePatchType:
		out, err := strategicpatch.StrategicMergePatch(original, patch, schema)
		if err != nil {
			if errors.Is(err, mergepatch.ErrNoListOfLists) || errors.Is(err, mergepatch.ErrPatchContentNotMatchRetainKeys) {
				return nil, unprocessable(err.Error())
			}
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid strategic merge patch: %v", err))
		}
		return out, nil
	}
	return nil, unsupportedMediaType(fmt.Sprintf("unsupported patch type %q", pt))
}

func unprocessable(msg string) error {
	return apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", msg, 0, false)
}

// patchObject applies a patch to cur and decodes the result as a new
// object of cur's kind, with the same field validation as a PUT body.
func patchObject(res *resource, pt types.PatchType, cur registry.Object, patch []byte, validation string) (registry.Object, []string, error) {
	original, err := json.Marshal(cur)
	if err != nil {
		return nil, nil, err
	}
	patched, err := applyPatch(pt, original, patch, res.New())
	if err != nil {
		return nil, nil, err
	}
	obj := res.New()
	warnings, err := decodeJSON(patched, obj, res.gvk, validation)
	if err != nil {
		return nil, nil, err
	}
	return obj, warnings, nil
}

// servePatch answers PATCH of an object or its status. The patch is
// applied to the current object inside the update loop, so it is
// re-applied when a concurrent write wins (unless it pins a
// resourceVersion).
func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	pt, err := patchType(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	wr, err := s.readWrite(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	validation, dryRun, body := wr.validation, wr.dryRun, wr.body
	var warnings []string
	u := updateSpec{
		res: ri.res, ns: ri.namespace, name: ri.name, kind: updateMain, dryRun: dryRun,
		mutate: func(cur registry.Object) (registry.Object, error) {
			obj, warns, err := patchObject(ri.res, pt, cur, body, validation)
			if err != nil {
				return nil, err
			}
			warnings = warns
			return obj, checkBodyIdentity(ri, obj)
		},
	}
	if ri.subresource == registry.SubStatus {
		u.kind = updateStatus
	}
	obj, _, err := s.update(r.Context(), u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	writeJSON(w, http.StatusOK, obj)
}
