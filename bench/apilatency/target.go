package apilatency

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/tug-sh/tug/control/storage"
)

// Target is what the workload drives: the API server through client-go, or
// the raw store underneath it.
type Target interface {
	// Create writes a new pod called name and returns a handle to it.
	Create(ctx context.Context, name string) (Handle, error)
	// Update rewrites the pod of h (setting its generation label) at the
	// revision h was written at, and returns the new handle.
	Update(ctx context.Context, h Handle, generation int) (Handle, error)
	// Delete removes the pod of h at the revision h was written at.
	Delete(ctx context.Context, h Handle) error
	// Get reads the pod called name.
	Get(ctx context.Context, name string) error
	// List reads every pod of the target and returns how many there are.
	List(ctx context.Context) (int, error)
}

// Handle is a Target's record of an object it wrote: the object and the
// revision it was written at.
type Handle any

// Pod is the pod the workload writes: one container with a port, requests
// and labels, like a typical replica.
func Pod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: map[string]string{"app": "apilatency", "generation": "0"},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "web",
				Image: "busybox:1.36",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("100m"),
					corev1.ResourceMemory: resource.MustParse("64Mi"),
				}},
			}},
		},
	}
}

// APITarget drives the pods of one namespace through client-go.
type APITarget struct {
	pods typedcorev1.PodInterface
}

// NewAPITarget drives the pods of namespace ns.
func NewAPITarget(cs kubernetes.Interface, ns string) *APITarget {
	return &APITarget{pods: cs.CoreV1().Pods(ns)}
}

func (t *APITarget) Create(ctx context.Context, name string) (Handle, error) {
	return t.pods.Create(ctx, Pod(name), metav1.CreateOptions{})
}

func (t *APITarget) Update(ctx context.Context, h Handle, generation int) (Handle, error) {
	p := h.(*corev1.Pod).DeepCopy()
	p.Labels["generation"] = strconv.Itoa(generation)
	return t.pods.Update(ctx, p, metav1.UpdateOptions{})
}

func (t *APITarget) Delete(ctx context.Context, h Handle) error {
	p := h.(*corev1.Pod)
	// The precondition makes the delete as conditional as the raw one.
	return t.pods.Delete(ctx, p.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &p.UID, ResourceVersion: &p.ResourceVersion},
	})
}

func (t *APITarget) Get(ctx context.Context, name string) error {
	_, err := t.pods.Get(ctx, name, metav1.GetOptions{})
	return err
}

func (t *APITarget) List(ctx context.Context) (int, error) {
	l, err := t.pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	return len(l.Items), nil
}

// StoreTarget makes the same requests straight to the store: one
// conditional Apply per write, one Get, one prefix List, with a value of
// the size the API server stores for the same pod.
type StoreTarget struct {
	store  storage.Store
	prefix string
	value  []byte
}

// NewStoreTarget writes value under prefix (which must end in "/").
func NewStoreTarget(store storage.Store, prefix string, value []byte) (*StoreTarget, error) {
	if prefix == "" || prefix[len(prefix)-1] != '/' {
		return nil, fmt.Errorf("apilatency: store prefix %q must end in /", prefix)
	}
	if len(value) == 0 {
		return nil, fmt.Errorf("apilatency: empty value for the store target")
	}
	return &StoreTarget{store: store, prefix: prefix, value: value}, nil
}

type storeHandle struct {
	key string
	rev int64
}

func (t *StoreTarget) Create(ctx context.Context, name string) (Handle, error) {
	key := t.prefix + name
	rev, err := t.store.Apply(ctx, storage.Create(key, t.value))
	return storeHandle{key, rev}, err
}

func (t *StoreTarget) Update(ctx context.Context, h Handle, _ int) (Handle, error) {
	sh := h.(storeHandle)
	rev, err := t.store.Apply(ctx, storage.Update(sh.key, t.value, sh.rev))
	return storeHandle{sh.key, rev}, err
}

func (t *StoreTarget) Delete(ctx context.Context, h Handle) error {
	sh := h.(storeHandle)
	_, err := t.store.Apply(ctx, storage.Delete(sh.key, sh.rev))
	return err
}

func (t *StoreTarget) Get(ctx context.Context, name string) error {
	_, err := t.store.Get(ctx, t.prefix+name)
	return err
}

func (t *StoreTarget) List(ctx context.Context) (int, error) {
	l, err := t.store.List(ctx, t.prefix, storage.ListOptions{})
	if err != nil {
		return 0, err
	}
	return len(l.Items), nil
}
