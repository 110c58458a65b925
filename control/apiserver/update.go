package apiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tug-sh/tug/control/registry"
	"github.com/tug-sh/tug/control/storage"
)

// updateKind says which rules an update follows.
type updateKind int

const (
	// updateMain: PUT/PATCH of the object (PrepareForUpdate, Default,
	// ValidateUpdate, generation bump on spec changes).
	updateMain updateKind = iota
	// updateStatus: PUT/PATCH of /status (PrepareForStatusUpdate,
	// ValidateStatusUpdate).
	updateStatus
	// updateFinalize: PUT of namespaces/finalize (PrepareForFinalize,
	// ValidateFinalize).
	updateFinalize
	// updateRaw: a server-side change computed by the handler itself
	// (binding); no strategy runs.
	updateRaw
)

// updateSpec describes one guaranteed update.
type updateSpec struct {
	res      *resource
	ns, name string
	kind     updateKind
	// mutate returns the desired object from a private copy of the current
	// one. A resourceVersion left in the result that differs from the
	// current one is a precondition failure (409).
	mutate func(cur registry.Object) (registry.Object, error)
	dryRun bool
	// createMissing, when set, is created if the object does not exist
	// (PUT on resources with createOnUpdate).
	createMissing registry.Object
}

// update is the read-modify-write loop behind every change of an existing
// object: it retries when another writer got there first, unless the
// client pinned a resourceVersion. An update that removes the last
// finalizer of an object being deleted deletes it, as in Kubernetes. The
// boolean reports whether the object was created.
func (s *Server) update(ctx context.Context, u updateSpec) (registry.Object, bool, error) {
	res := u.res
	key := res.key(u.ns, u.name)
	for attempt := 1; ; attempt++ {
		cur, kv, err := s.getObject(ctx, res, u.ns, u.name)
		if err != nil {
			if apierrors.IsNotFound(err) && u.createMissing != nil {
				obj, err := s.create(ctx, res, u.createMissing.DeepCopyObject().(registry.Object), u.dryRun)
				if apierrors.IsAlreadyExists(err) && attempt < maxWriteAttempts {
					continue
				}
				return obj, err == nil, err
			}
			return nil, false, err
		}
		obj, err := u.mutate(cur.DeepCopyObject().(registry.Object))
		if err != nil {
			return nil, false, err
		}
		if rv := obj.GetResourceVersion(); rv != "" && rv != cur.GetResourceVersion() {
			return nil, false, storageError(storage.ErrConflict, res.gr, u.name)
		}
		obj.SetResourceVersion(cur.GetResourceVersion())
		if err := prepareUpdate(res, u.kind, obj, cur); err != nil {
			return nil, false, err
		}
		var ops []storage.Op
		if shouldDeleteDuringUpdate(obj, cur) {
			ops, err = s.removeOps(ctx, res, cur, kv.Revision)
		} else {
			ops, err = s.updateOps(ctx, res, obj, cur, kv)
		}
		if err != nil {
			return nil, false, err
		}
		if u.dryRun || ops == nil {
			return obj, false, nil
		}
		rev, err := s.store.Apply(ctx, ops...)
		if err == nil {
			obj.SetResourceVersion(strconv.FormatInt(rev, 10))
			return obj, false, nil
		}
		if retryable(res, err, key) && attempt < maxWriteAttempts {
			continue
		}
		return nil, false, storageError(err, res.gr, u.name)
	}
}

// updateOps are the writes that take cur to obj, or nil when obj is
// stored exactly as cur is (a no-op update keeps its resourceVersion, as
// in Kubernetes).
func (s *Server) updateOps(ctx context.Context, res *resource, obj, cur registry.Object, kv storage.KV) ([]storage.Op, error) {
	var extra []storage.Op
	if res.tx != nil {
		var err error
		if extra, err = res.tx.update(ctx, obj, cur); err != nil {
			return nil, err
		}
	}
	data, err := res.encodeStored(obj)
	if err != nil {
		return nil, err
	}
	if len(extra) == 0 && bytes.Equal(data, kv.Value) {
		return nil, nil
	}
	op := storage.Update(kv.Key, data, kv.Revision)
	op.TTL = res.ttl
	return append([]storage.Op{op}, extra...), nil
}

// removeOps are the writes that delete cur for good at revision rev.
func (s *Server) removeOps(ctx context.Context, res *resource, cur registry.Object, rev int64) ([]storage.Op, error) {
	ops := []storage.Op{storage.Delete(res.key(cur.GetNamespace(), cur.GetName()), rev)}
	if res.tx != nil {
		extra, err := res.tx.remove(ctx, cur)
		if err != nil {
			return nil, err
		}
		ops = append(ops, extra...)
	}
	return ops, nil
}

// retryable reports whether a failed write should be retried from a fresh
// read: the object or the resource's extra state changed meanwhile.
func retryable(res *resource, err error, key string) bool {
	failed := failedKey(err)
	if !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
		return false
	}
	return failed == key || (res.tx != nil && res.tx.retryable(failed))
}

// prepareUpdate applies the update rules of kind and validates the result.
func prepareUpdate(res *resource, kind updateKind, obj, old registry.Object) error {
	keepServerMetadata(obj, old)
	switch kind {
	case updateMain:
		res.Strategy.PrepareForUpdate(obj, old)
		res.Strategy.Default(obj)
	case updateStatus:
		res.Strategy.PrepareForStatusUpdate(obj, old)
	case updateFinalize:
		registry.PrepareForFinalize(obj.(*corev1.Namespace), old.(*corev1.Namespace))
	}
	if kind == updateMain && res.Strategy.SpecChanged(obj, old) {
		obj.SetGeneration(old.GetGeneration() + 1)
	}
	var errs field.ErrorList
	if old.GetDeletionTimestamp() != nil {
		errs = append(errs, apivalidation.ValidateNoNewFinalizers(obj.GetFinalizers(), old.GetFinalizers(), field.NewPath("metadata", "finalizers"))...)
	}
	switch kind {
	case updateMain:
		errs = append(errs, res.Strategy.ValidateUpdate(obj, old)...)
	case updateStatus:
		errs = append(errs, res.Strategy.ValidateStatusUpdate(obj, old)...)
	case updateFinalize:
		errs = append(errs, registry.ValidateFinalize(obj.(*corev1.Namespace), old.(*corev1.Namespace))...)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(res.gvk.GroupKind(), obj.GetName(), errs)
	}
	return nil
}

// keepServerMetadata copies from old what only the server sets: uid (when
// left out), creation and deletion timestamps, generation.
func keepServerMetadata(obj, old registry.Object) {
	if obj.GetUID() == "" {
		obj.SetUID(old.GetUID())
	}
	obj.SetCreationTimestamp(old.GetCreationTimestamp())
	obj.SetDeletionTimestamp(old.GetDeletionTimestamp())
	obj.SetDeletionGracePeriodSeconds(old.GetDeletionGracePeriodSeconds())
	obj.SetGeneration(old.GetGeneration())
	obj.SetManagedFields(nil)
	obj.SetSelfLink("")
	obj.GetObjectKind().SetGroupVersionKind(old.GetObjectKind().GroupVersionKind())
}

// shouldDeleteDuringUpdate: an update that leaves an object being deleted
// without finalizers deletes it, unless a graceful deletion (a pod waiting
// for its node) is still pending. Namespaces also wait for their
// spec.finalizers.
func shouldDeleteDuringUpdate(obj, old registry.Object) bool {
	if old.GetDeletionTimestamp() == nil || len(obj.GetFinalizers()) > 0 {
		return false
	}
	if ns, ok := obj.(*corev1.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
		return false
	}
	g := old.GetDeletionGracePeriodSeconds()
	return g == nil || *g == 0
}

// serveUpdate answers PUT of an object or its status.
func (s *Server) serveUpdate(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	wr, err := s.readWrite(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	validation, dryRun, body := wr.validation, wr.dryRun, wr.body
	in := ri.res.New()
	warnings, err := decodeBody(body, r.Header.Get("Content-Type"), in, ri.res.gvk, validation)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkBodyIdentity(ri, in); err != nil {
		s.writeError(w, r, err)
		return
	}
	u := updateSpec{
		res: ri.res, ns: ri.namespace, name: ri.name, kind: updateMain, dryRun: dryRun,
		mutate: func(registry.Object) (registry.Object, error) {
			return in.DeepCopyObject().(registry.Object), nil
		},
	}
	if ri.subresource == registry.SubStatus {
		u.kind = updateStatus
	} else if ri.res.createOnUpdate {
		u.createMissing = in
	}
	obj, created, err := s.update(r.Context(), u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, obj)
}

// checkBodyIdentity makes the name and namespace of a PUT body agree with
// the URL (filling the namespace when left out).
func checkBodyIdentity(ri *requestInfo, obj registry.Object) error {
	if err := setNamespace(ri.res, obj, ri.namespace); err != nil {
		return err
	}
	if obj.GetName() != ri.name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", obj.GetName(), ri.name))
	}
	return nil
}
