package gc

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Finalizers the API server sets for the propagation policies.
const (
	FinalizerForeground = metav1.FinalizerDeleteDependents // "foregroundDeletion"
	FinalizerOrphan     = metav1.FinalizerOrphanDependents // "orphan"
)

// OwnerState is what an ownerReference points at.
type OwnerState int

const (
	// Solid: the owner exists and is not waiting for its dependents.
	Solid OwnerState = iota
	// Dangling: no object with that UID exists any more.
	Dangling
	// Waiting: the owner is being deleted in the foreground, waiting for
	// its dependents to go.
	Waiting
)

// Classify sorts a dependent's ownerReferences by the state of the owner
// each points at.
func Classify(refs []metav1.OwnerReference, state func(metav1.OwnerReference) OwnerState) (solid, dangling, waiting []metav1.OwnerReference) {
	for _, r := range refs {
		switch state(r) {
		case Dangling:
			dangling = append(dangling, r)
		case Waiting:
			waiting = append(waiting, r)
		default:
			solid = append(solid, r)
		}
	}
	return solid, dangling, waiting
}

// ActionKind says what to do with a dependent.
type ActionKind int

const (
	// Keep the dependent as it is.
	Keep ActionKind = iota
	// RemoveRefs removes the ownerReferences with UIDs in Action.UIDs.
	RemoveRefs
	// Delete deletes the dependent with Action.Policy.
	Delete
)

// Action is the decision about one dependent.
type Action struct {
	Kind   ActionKind
	UIDs   []types.UID
	Policy metav1.DeletionPropagation
}

// DecideDependent decides about an object (not being deleted) with
// ownerReferences, given how its owners were classified, its own
// finalizers and whether it has dependents of its own. It is Kubernetes'
// attemptToDeleteItem:
//
//   - with at least one solid owner, only references to dangling and
//     waiting owners are removed (the object survives);
//   - with an owner waiting for its dependents and dependents of its own,
//     it is deleted in the foreground (so that the wait propagates);
//   - otherwise (every owner gone or waiting) it is deleted, propagating
//     as its own finalizers ask (orphan, foreground, else background).
func DecideDependent(finalizers []string, hasDependents bool, solid, dangling, waiting []metav1.OwnerReference) Action {
	switch {
	case len(dangling) == 0 && len(waiting) == 0:
		return Action{Kind: Keep}
	case len(solid) > 0:
		var uids []types.UID
		for _, r := range dangling {
			uids = append(uids, r.UID)
		}
		for _, r := range waiting {
			uids = append(uids, r.UID)
		}
		return Action{Kind: RemoveRefs, UIDs: uids}
	case len(waiting) > 0 && hasDependents:
		return Action{Kind: Delete, Policy: metav1.DeletePropagationForeground}
	}
	policy := metav1.DeletePropagationBackground
	switch {
	case hasString(finalizers, FinalizerOrphan):
		policy = metav1.DeletePropagationOrphan
	case hasString(finalizers, FinalizerForeground):
		policy = metav1.DeletePropagationForeground
	}
	return Action{Kind: Delete, Policy: policy}
}

// Dependent is what BlockingDependents needs of a dependent.
type Dependent struct {
	UID       types.UID
	OwnerRefs []metav1.OwnerReference
}

// BlockingDependents returns the dependents of owner whose reference to it
// has blockOwnerDeletion: the ones a foreground deletion waits for.
func BlockingDependents(owner types.UID, deps []Dependent) []types.UID {
	var out []types.UID
	for _, d := range deps {
		for _, r := range d.OwnerRefs {
			if r.UID == owner && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
				out = append(out, d.UID)
				break
			}
		}
	}
	return out
}

// WithoutOwners returns refs minus those with the given UIDs.
func WithoutOwners(refs []metav1.OwnerReference, uids []types.UID) []metav1.OwnerReference {
	var out []metav1.OwnerReference
	for _, r := range refs {
		drop := false
		for _, u := range uids {
			if r.UID == u {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, r)
		}
	}
	return out
}

// WithoutString returns list minus every s.
func WithoutString(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
