package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/tug-sh/tug/control/registry"
	"github.com/tug-sh/tug/control/storage"
)

// maxWriteAttempts bounds the retries of one write against concurrent
// writers (each retry means another writer succeeded, so progress is made).
const maxWriteAttempts = 64

// serveCreate answers POST on a collection.
func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	wr, err := s.readWrite(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	validation, dryRun, body := wr.validation, wr.dryRun, wr.body
	obj := ri.res.New()
	warnings, err := decodeBody(body, r.Header.Get("Content-Type"), obj, ri.res.gvk, validation)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := setNamespace(ri.res, obj, ri.namespace); err != nil {
		s.writeError(w, r, err)
		return
	}
	created, err := s.create(r.Context(), ri.res, obj, dryRun)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	writeJSON(w, http.StatusCreated, created)
}

// setNamespace fills an object's namespace from the URL, or rejects a
// different one, as kube does.
func setNamespace(res *resource, obj registry.Object, ns string) error {
	if !res.Namespaced {
		obj.SetNamespace("")
		return nil
	}
	switch obj.GetNamespace() {
	case "":
		obj.SetNamespace(ns)
	case ns:
	default:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

// writeRequest is what every write handler reads first from its request.
type writeRequest struct {
	validation string // fieldValidation: Ignore, Warn or Strict
	dryRun     bool
	body       []byte
}

// readWrite reads the query options every write takes and the body (413
// beyond the limit), in the order kube-apiserver rejects them.
func (s *Server) readWrite(w http.ResponseWriter, r *http.Request) (writeRequest, error) {
	validation, err := fieldValidation(r)
	if err != nil {
		return writeRequest{}, err
	}
	dryRun, err := parseDryRun(r)
	if err != nil {
		return writeRequest{}, err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return writeRequest{}, err
	}
	return writeRequest{validation: validation, dryRun: dryRun, body: body}, nil
}

// parseDryRun accepts dryRun=All (the only value Kubernetes defines).
func parseDryRun(r *http.Request) (bool, error) {
	vals := r.URL.Query()["dryRun"]
	for _, v := range vals {
		if v != metav1.DryRunAll {
			return false, apierrors.NewBadRequest(fmt.Sprintf("unsupported dryRun value %q: the only value is All", v))
		}
	}
	return len(vals) > 0, nil
}

// create stores a new object after the server-managed metadata, the
// resource's strategy and its transaction hooks have run. With dryRun
// everything but the write happens.
func (s *Server) create(ctx context.Context, res *resource, in registry.Object, dryRun bool) (registry.Object, error) {
	if res.Namespaced {
		if err := s.checkNamespaceOpen(ctx, res, in.GetNamespace(), in.GetName()); err != nil {
			return nil, err
		}
	}
	generate := in.GetName() == "" && in.GetGenerateName() != ""
	for attempt := 1; ; attempt++ {
		obj := in.DeepCopyObject().(registry.Object)
		if generate {
			obj.SetName(generateName(obj.GetGenerateName()))
		}
		prepareCreate(res, obj, time.Now())
		if errs := res.Strategy.Validate(obj); len(errs) > 0 {
			return nil, apierrors.NewInvalid(res.gvk.GroupKind(), obj.GetName(), errs)
		}
		var ops []storage.Op
		if res.tx != nil {
			extra, err := res.tx.create(ctx, obj)
			if err != nil {
				return nil, err
			}
			ops = extra
		}
		if dryRun {
			return obj, nil
		}
		data, err := res.encodeStored(obj)
		if err != nil {
			return nil, err
		}
		key := res.key(obj.GetNamespace(), obj.GetName())
		op := storage.Create(key, data)
		op.TTL = res.ttl
		rev, err := s.store.Apply(ctx, append([]storage.Op{op}, ops...)...)
		if err == nil {
			obj.SetResourceVersion(strconv.FormatInt(rev, 10))
			return obj, nil
		}
		failed := failedKey(err)
		switch {
		case errors.Is(err, storage.ErrExists) && failed == key && generate && attempt < 8:
			continue // a generated name collided: draw another
		case errors.Is(err, storage.ErrConflict) && res.tx != nil && res.tx.retryable(failed) && attempt < maxWriteAttempts:
			continue
		}
		return nil, storageError(err, res.gr, obj.GetName())
	}
}

// prepareCreate sets the server-managed metadata of a new object and runs
// the strategy's create preparation and defaults.
func prepareCreate(res *resource, obj registry.Object, now time.Time) {
	obj.SetUID(uuid.NewUUID())
	obj.SetCreationTimestamp(metav1.NewTime(now))
	obj.SetGeneration(1)
	obj.SetResourceVersion("")
	obj.SetDeletionTimestamp(nil)
	obj.SetDeletionGracePeriodSeconds(nil)
	obj.SetManagedFields(nil)
	obj.SetSelfLink("")
	res.Strategy.PrepareForCreate(obj)
	res.Strategy.Default(obj)
	res.setTypeMeta(obj)
}

// generateName appends kube's 5-character random suffix to base, cut so
// that the name fits 63 characters.
func generateName(base string) string {
	const maxNameLength, randomLength = 63, 5
	if len(base) > maxNameLength-randomLength {
		base = base[:maxNameLength-randomLength]
	}
	return base + utilrand.String(randomLength)
}

// failedKey is the key a storage error names, if any.
func failedKey(err error) string {
	var ke *storage.KeyError
	if errors.As(err, &ke) {
		return ke.Key
	}
	return ""
}

var namespacesGR = schema.GroupResource{Resource: "namespaces"}

// checkNamespaceOpen refuses creation in a missing namespace (404) or one
// being deleted (403), as kube's NamespaceLifecycle admission does.
func (s *Server) checkNamespaceOpen(ctx context.Context, res *resource, ns, name string) error {
	nsRes := s.resources["namespaces"]
	obj, _, err := s.getObject(ctx, nsRes, "", ns)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return apierrors.NewNotFound(namespacesGR, ns)
		}
		return err
	}
	if obj.GetDeletionTimestamp() != nil || obj.(*corev1.Namespace).Status.Phase == corev1.NamespaceTerminating {
		msg := fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", ns)
		e := apierrors.NewForbidden(res.gr, name, errors.New(msg))
		e.ErrStatus.Details.Causes = append(e.ErrStatus.Details.Causes, metav1.StatusCause{
			Type: corev1.NamespaceTerminatingCause, Message: msg, Field: "metadata.namespace",
		})
		return e
	}
	return nil
}
