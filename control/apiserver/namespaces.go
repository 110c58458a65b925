package apiserver

import (
	"context"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/registry"
)

// ensureSystemNamespaces creates default and kube-system if missing.
func (s *Server) ensureSystemNamespaces(ctx context.Context) error {
	res := s.resources["namespaces"]
	for _, name := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := s.create(ctx, res, ns, false); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// serveFinalize answers PUT namespaces/{name}/finalize, the only way to
// change spec.finalizers (status is kept, as in kube). When the namespace
// is being deleted and no finalizer is left, it is removed.
func (s *Server) serveFinalize(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	wr, err := s.readWrite(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	validation, dryRun, body := wr.validation, wr.dryRun, wr.body
	in := &corev1.Namespace{}
	warnings, err := decodeBody(body, r.Header.Get("Content-Type"), in, ri.res.gvk, validation)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkBodyIdentity(ri, in); err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, _, err := s.update(r.Context(), updateSpec{
		res: ri.res, name: ri.name, kind: updateFinalize, dryRun: dryRun,
		mutate: func(registry.Object) (registry.Object, error) {
			return in.DeepCopy(), nil
		},
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	writeJSON(w, http.StatusOK, obj)
}
