package apiserver

import (
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tug-sh/tug/control/registry"
)

// The decisions behind DELETE, as pure functions of the object, the
// request's options and the time.

// defaultPodGracePeriod is a pod's grace period when neither the request
// nor the pod gives one.
const defaultPodGracePeriod = 30

// deleteDecision is what a DELETE does to an existing object.
type deleteDecision struct {
	// remove: delete the object from storage now.
	remove bool
	// updated, when not nil, is the object with its deletion marks
	// (deletionTimestamp, finalizers, phase) to write instead.
	updated registry.Object
}

// decideDelete is the pure core of DELETE, following Kubernetes: bound,
// running pods are deleted gracefully (deletionTimestamp = now + grace
// period, which a later delete may only shorten); objects with finalizers
// (after applying the propagation policy) get a deletionTimestamp and stay
// until their finalizers are gone; namespaces go Terminating until
// finalized; everything else is removed at once. Neither decision set
// means "nothing changes" (a pending deletion).
func decideDelete(cur registry.Object, opts *metav1.DeleteOptions, now time.Time) (deleteDecision, error) {
	obj := cur.DeepCopyObject().(registry.Object)
	if ns, ok := obj.(*corev1.Namespace); ok {
		return decideNamespaceDelete(ns, opts, now)
	}
	graceful, pending := beforeDelete(obj, opts, now)
	if pending {
		return deleteDecision{}, nil
	}
	finalizers, err := propagationFinalizers(obj.GetFinalizers(), opts)
	if err != nil {
		return deleteDecision{}, err
	}
	obj.SetFinalizers(finalizers)
	if len(finalizers) == 0 && !graceful {
		return deleteDecision{remove: true}, nil
	}
	if !graceful && obj.GetDeletionTimestamp() == nil {
		markDeleting(obj, now)
	}
	if apiequality.Semantic.DeepEqual(obj, cur) {
		return deleteDecision{}, nil // already waiting for its finalizers
	}
	return deleteDecision{updated: obj}, nil
}

// beforeDelete applies graceful deletion (pods only) to obj, like kube's
// rest.BeforeDelete: graceful means obj now carries a (new or shortened)
// deletionTimestamp to write; pending means a graceful deletion is already
// under way and this request changes nothing.
func beforeDelete(obj registry.Object, opts *metav1.DeleteOptions, now time.Time) (graceful, pending bool) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return false, false
	}
	period := podGracePeriod(pod, opts)
	if ts := obj.GetDeletionTimestamp(); ts != nil {
		cur := obj.GetDeletionGracePeriodSeconds()
		if cur == nil || *cur == 0 {
			return false, false // finalizers, or a delete that never completed
		}
		if opts.GracePeriodSeconds == nil || period >= *cur {
			return false, true
		}
		// Only shortening is allowed: move the deadline forward. Zero (the
		// node agent's confirmation) ends the graceful part: the pod goes
		// now, or when its finalizers are gone.
		deadline := metav1.NewTime(ts.Add(-time.Duration(*cur) * time.Second).Add(time.Duration(period) * time.Second))
		obj.SetDeletionTimestamp(&deadline)
		obj.SetDeletionGracePeriodSeconds(&period)
		return period > 0, false
	}
	if period == 0 {
		return false, false
	}
	deadline := metav1.NewTime(now.Add(time.Duration(period) * time.Second))
	obj.SetDeletionTimestamp(&deadline)
	obj.SetDeletionGracePeriodSeconds(&period)
	return true, false
}

// podGracePeriod is the grace period a delete gives pod: from the request,
// else the pod's terminationGracePeriodSeconds, else 30; 0 for a pod no
// node runs (unbound, or finished).
func podGracePeriod(pod *corev1.Pod, opts *metav1.DeleteOptions) int64 {
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	switch {
	case opts.GracePeriodSeconds != nil:
		if *opts.GracePeriodSeconds < 0 {
			return 1 // kube treats negative values as 1s
		}
		return *opts.GracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return *pod.Spec.TerminationGracePeriodSeconds
	}
	return defaultPodGracePeriod
}

// markDeleting sets the marks of an object waiting for its finalizers.
func markDeleting(obj registry.Object, now time.Time) {
	ts := metav1.NewTime(now)
	zero := int64(0)
	obj.SetDeletionTimestamp(&ts)
	obj.SetDeletionGracePeriodSeconds(&zero)
}

// propagationFinalizers adds or removes the garbage collector's finalizers
// as the propagation policy asks: Orphan → "orphan", Foreground →
// "foregroundDeletion", Background → neither. No policy keeps them as they
// are (Background semantics for objects without them).
func propagationFinalizers(finalizers []string, opts *metav1.DeleteOptions) ([]string, error) {
	policy := opts.PropagationPolicy
	if opts.OrphanDependents != nil {
		if policy != nil {
			return nil, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("DeleteOptions").GroupKind(), "", field.ErrorList{
				field.Invalid(field.NewPath("propagationPolicy"), *policy, "orphanDependents and propagationPolicy cannot both be set"),
			})
		}
		p := metav1.DeletePropagationBackground
		if *opts.OrphanDependents {
			p = metav1.DeletePropagationOrphan
		}
		policy = &p
	}
	if policy == nil {
		return finalizers, nil
	}
	out := slices.DeleteFunc(slices.Clone(finalizers), func(f string) bool {
		return f == metav1.FinalizerOrphanDependents || f == metav1.FinalizerDeleteDependents
	})
	switch *policy {
	case metav1.DeletePropagationOrphan:
		out = append(out, metav1.FinalizerOrphanDependents)
	case metav1.DeletePropagationForeground:
		out = append(out, metav1.FinalizerDeleteDependents)
	case metav1.DeletePropagationBackground:
	default:
		return nil, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("DeleteOptions").GroupKind(), "", field.ErrorList{
			field.NotSupported(field.NewPath("propagationPolicy"), *policy, []string{
				string(metav1.DeletePropagationForeground), string(metav1.DeletePropagationBackground), string(metav1.DeletePropagationOrphan)}),
		})
	}
	if len(out) == 0 {
		out = nil
	}
	return out, nil
}

// namespacePurgeMessage is kube's answer to deleting a namespace that is
// already terminating.
const namespacePurgeMessage = "The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system."

// decideNamespaceDelete: the first delete makes the namespace Terminating
// (the namespace controller empties it and finalizes it); a finalized
// namespace is removed; deleting a terminating one again is a Conflict.
func decideNamespaceDelete(ns *corev1.Namespace, opts *metav1.DeleteOptions, now time.Time) (deleteDecision, error) {
	finalized := func() bool { return len(ns.Spec.Finalizers) == 0 && len(ns.Finalizers) == 0 }
	if ns.DeletionTimestamp != nil {
		if finalized() {
			return deleteDecision{remove: true}, nil
		}
		return deleteDecision{}, apierrors.NewConflict(namespacesGR, ns.Name, errors.New(namespacePurgeMessage))
	}
	finalizers, err := propagationFinalizers(ns.Finalizers, opts)
	if err != nil {
		return deleteDecision{}, err
	}
	ns.Finalizers = finalizers
	if finalized() {
		return deleteDecision{remove: true}, nil
	}
	markDeleting(ns, now)
	ns.Status.Phase = corev1.NamespaceTerminating
	return deleteDecision{updated: ns}, nil
}

// checkPreconditions enforces DeleteOptions.preconditions.
func checkPreconditions(res *resource, cur registry.Object, p *metav1.Preconditions) error {
	if p == nil {
		return nil
	}
	if p.UID != nil && *p.UID != cur.GetUID() {
		return apierrors.NewConflict(res.gr, cur.GetName(), fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, cur.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != cur.GetResourceVersion() {
		return apierrors.NewConflict(res.gr, cur.GetName(), fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, cur.GetResourceVersion()))
	}
	return nil
}
