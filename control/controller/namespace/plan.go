package namespace

import (
	"sort"

	v1 "k8s.io/api/core/v1"

	"github.com/tug-sh/tug/control/controller/internal/apiresources"
)

// FinalizerKubernetes is the spec finalizer this controller owns.
const FinalizerKubernetes = v1.FinalizerKubernetes // "kubernetes"

// Step is what to do next for a namespace.
type Step int

const (
	// Skip: not being deleted, or already finalized.
	Skip Step = iota
	// DeleteContent: delete what is left and look again.
	DeleteContent
	// Finalize: empty; remove the "kubernetes" finalizer.
	Finalize
)

func (s Step) String() string { return [...]string{"Skip", "DeleteContent", "Finalize"}[s] }

// Terminating reports whether ns is being deleted.
func Terminating(ns *v1.Namespace) bool {
	return ns.DeletionTimestamp != nil || ns.Status.Phase == v1.NamespaceTerminating
}

// Plan decides the next step for ns given how many objects were left in it
// at the last look (-1: not looked yet).
func Plan(ns *v1.Namespace, remaining int) Step {
	if !Terminating(ns) || !hasFinalizer(ns) {
		return Skip
	}
	if remaining != 0 {
		return DeleteContent
	}
	return Finalize
}

func hasFinalizer(ns *v1.Namespace) bool {
	for _, f := range ns.Spec.Finalizers {
		if f == FinalizerKubernetes {
			return true
		}
	}
	return false
}

// Finalized returns a copy of ns without the "kubernetes" spec finalizer.
func Finalized(ns *v1.Namespace) *v1.Namespace {
	cp := ns.DeepCopy()
	cp.Spec.Finalizers = nil
	for _, f := range ns.Spec.Finalizers {
		if f != FinalizerKubernetes {
			cp.Spec.Finalizers = append(cp.Spec.Finalizers, f)
		}
	}
	return cp
}

// Deletable keeps the namespaced resources whose objects can be listed and
// deleted, ordered for deletion: pods last (their controllers first, so
// that no controller recreates a pod just deleted), the rest by name.
func Deletable(rs []apiresources.Resource) []apiresources.Resource {
	var out []apiresources.Resource
	for _, r := range rs {
		if r.Namespaced && r.Has("list", "delete") {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		pi, pj := out[i].GVR.Resource == "pods", out[j].GVR.Resource == "pods"
		if pi != pj {
			return pj
		}
		return out[i].GVR.String() < out[j].GVR.String()
	})
	return out
}
