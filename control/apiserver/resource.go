package apiserver

import (
	"context"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tug-sh/tug/control/registry"
	"github.com/tug-sh/tug/control/storage"
)

// eventTTL is how long events live, as kube-apiserver's --event-ttl.
const eventTTL = time.Hour

// resource is a registry.Resource plus what the generic handlers derive
// from it once.
type resource struct {
	registry.Resource
	gvk schema.GroupVersionKind
	gr  schema.GroupResource
	// fieldKeys are the field-selector keys the resource supports.
	fieldKeys map[string]bool
	// ttl, when positive, makes stored objects expire (events).
	ttl time.Duration
	// createOnUpdate lets PUT create a missing object (kube's
	// AllowCreateOnUpdate, true for endpoints).
	createOnUpdate bool
	// tx, when set, takes part in the storage transaction of every write.
	tx txHooks
}

// txHooks lets a resource add writes to the transaction of its own: the
// Service allocator changes its bitmaps together with the Service. The
// hooks run inside the retry loop of each write, on a fresh copy of the
// object each attempt, and have no side effects of their own (so dry runs
// simply drop their ops).
type txHooks interface {
	// create may change obj (assign values) and returns extra ops.
	create(ctx context.Context, obj registry.Object) ([]storage.Op, error)
	// update may change obj and returns extra ops for going from old to
	// obj; it runs after validation.
	update(ctx context.Context, obj, old registry.Object) ([]storage.Op, error)
	// remove returns extra ops for deleting old for good.
	remove(ctx context.Context, old registry.Object) ([]storage.Op, error)
	// retryable reports whether a conflict on key means "read the extra
	// state again and retry" (the bitmaps changed under us).
	retryable(key string) bool
}

func newResource(r registry.Resource) *resource {
	res := &resource{
		Resource:  r,
		gvk:       schema.GroupVersionKind{Version: "v1", Kind: r.Kind},
		gr:        schema.GroupResource{Resource: r.Name},
		fieldKeys: map[string]bool{"metadata.name": true},
	}
	if r.Namespaced {
		res.fieldKeys["metadata.namespace"] = true
	}
	for k := range r.Strategy.Fields(r.New()) {
		res.fieldKeys[k] = true
	}
	switch r.Name {
	case "events":
		res.ttl = eventTTL
	case "endpoints":
		res.createOnUpdate = true
	case "nodes":
		// nodes/proxy is the server's own (an agent passthrough), not
		// a rule of the resource.
		res.Subresources = append(slices.Clone(r.Subresources), subProxy)
	}
	return res
}

// key is where the object ns/name is stored.
func (r *resource) key(ns, name string) string {
	if r.Namespaced {
		return "/registry/" + r.Name + "/" + ns + "/" + name
	}
	return "/registry/" + r.Name + "/" + name
}

// prefix covers every object of the resource in ns ("" = all namespaces).
// It always ends in "/" so that one namespace's prefix never covers another
// whose name it starts.
func (r *resource) prefix(ns string) string {
	if r.Namespaced && ns != "" {
		return "/registry/" + r.Name + "/" + ns + "/"
	}
	return "/registry/" + r.Name + "/"
}

// setTypeMeta sets the object's kind and apiVersion.
func (r *resource) setTypeMeta(obj registry.Object) {
	obj.GetObjectKind().SetGroupVersionKind(r.gvk)
}

// listKind is the kind of the resource's list.
func (r *resource) listKind() metav1.TypeMeta {
	return metav1.TypeMeta{Kind: r.Kind + "List", APIVersion: "v1"}
}
