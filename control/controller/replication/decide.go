package replication

import (
	"fmt"
	"maps"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tug-sh/tug/control/controller/internal/podstate"
)

// Kind and API version of the owner, as written in ownerReferences.
const (
	Kind       = "ReplicationController"
	APIVersion = "v1"
)

// ControllerRef is the ownerReference an RC puts on its pods.
func ControllerRef(rc *v1.ReplicationController) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{
		APIVersion:         APIVersion,
		Kind:               Kind,
		Name:               rc.Name,
		UID:                rc.UID,
		Controller:         &t,
		BlockOwnerDeletion: &t,
	}
}

// Claim is how ClaimPods sorted a namespace's pods for one RC.
type Claim struct {
	// Owned pods are controlled by the RC and match its selector.
	Owned []*v1.Pod
	// Adopt are orphans the RC should take: they match, have no
	// controller and are not being deleted.
	Adopt []*v1.Pod
	// Release are controlled by the RC but no longer match.
	Release []*v1.Pod
}

// ClaimPods sorts pods for rc. A pod controlled by another owner is left
// alone; while rc is being deleted it adopts and releases nothing.
func ClaimPods(rc *v1.ReplicationController, pods []*v1.Pod) Claim {
	var c Claim
	if len(rc.Spec.Selector) == 0 {
		return c // an empty selector would claim every pod; validation forbids it
	}
	sel := labels.SelectorFromSet(rc.Spec.Selector)
	deleting := rc.DeletionTimestamp != nil
	for _, pod := range pods {
		matches := sel.Matches(labels.Set(pod.Labels))
		ref := metav1.GetControllerOf(pod)
		switch {
		case ref != nil && ref.UID != rc.UID:
			// Someone else's.
		case ref != nil && matches:
			c.Owned = append(c.Owned, pod)
		case ref != nil && !deleting:
			c.Release = append(c.Release, pod)
		case ref == nil && matches && !deleting && pod.DeletionTimestamp == nil:
			c.Adopt = append(c.Adopt, pod)
		}
	}
	return c
}

// ActivePods keeps the pods that count towards replicas.
func ActivePods(pods []*v1.Pod) []*v1.Pod {
	var out []*v1.Pod
	for _, p := range pods {
		if podstate.IsActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// RankForDeletion returns the pods ordered from the first to delete to
// the last (a new slice; pods is not modified).
func RankForDeletion(pods []*v1.Pod) []*v1.Pod {
	out := append([]*v1.Pod(nil), pods...)
	sort.SliceStable(out, func(i, j int) bool { return deleteBefore(out[i], out[j]) })
	return out
}

// phaseRank orders phases for deletion: Pending, then Unknown, then Running.
func phaseRank(p v1.PodPhase) int {
	switch p {
	case v1.PodPending:
		return 0
	case v1.PodUnknown:
		return 1
	case v1.PodRunning:
		return 2
	}
	return 0
}

func deleteBefore(a, b *v1.Pod) bool {
	// Unscheduled pods cost nothing to delete.
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if ra, rb := phaseRank(a.Status.Phase), phaseRank(b.Status.Phase); ra != rb {
		return ra < rb
	}
	if podstate.IsReady(a) != podstate.IsReady(b) {
		return !podstate.IsReady(a)
	}
	// Among ready pods, the one ready for less time goes first.
	if podstate.IsReady(a) {
		ta, tb := readySince(a), readySince(b)
		if !ta.Equal(tb) {
			return ta.After(tb)
		}
	}
	if ra, rb := restarts(a), restarts(b); ra != rb {
		return ra > rb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.After(b.CreationTimestamp.Time)
	}
	return a.Name < b.Name
}

func readySince(p *v1.Pod) time.Time {
	if c := podstate.Condition(p, v1.PodReady); c != nil {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

func restarts(p *v1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n = max(n, cs.RestartCount)
	}
	return n
}

// NewPod builds a pod of rc from its template, to be created with
// generateName.
func NewPod(rc *v1.ReplicationController) (*v1.Pod, error) {
	tmpl := rc.Spec.Template
	if tmpl == nil {
		return nil, fmt.Errorf("replicationcontroller %s/%s has no pod template; set spec.template", rc.Namespace, rc.Name)
	}
	if len(tmpl.Labels) == 0 {
		return nil, fmt.Errorf("replicationcontroller %s/%s: the pod template has no labels; give spec.template.metadata.labels matching spec.selector", rc.Namespace, rc.Name)
	}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       rc.Namespace,
			GenerateName:    rc.Name + "-",
			Labels:          maps.Clone(tmpl.Labels),
			Annotations:     maps.Clone(tmpl.Annotations),
			Finalizers:      append([]string(nil), tmpl.Finalizers...),
			OwnerReferences: []metav1.OwnerReference{ControllerRef(rc)},
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
	return pod, nil
}

// BatchSizes splits n creations into slow-start batches starting at
// initial and doubling: BatchSizes(10, 1) = [1 2 4 3].
func BatchSizes(n, initial int) []int {
	var out []int
	for size := max(initial, 1); n > 0; size *= 2 {
		b := min(size, n)
		out = append(out, b)
		n -= b
	}
	return out
}

// CalculateStatus computes an RC's status from its active owned pods as of
// now; manageErr, if not nil, is the failure of the last create or delete
// round (ReplicaFailure condition).
func CalculateStatus(rc *v1.ReplicationController, active []*v1.Pod, manageErr error, failureReason string, now time.Time) v1.ReplicationControllerStatus {
	st := v1.ReplicationControllerStatus{
		Replicas:           int32(len(active)),
		ObservedGeneration: rc.Generation,
	}
	var tmplLabels labels.Selector = labels.Nothing()
	if rc.Spec.Template != nil {
		tmplLabels = labels.SelectorFromSet(rc.Spec.Template.Labels)
	}
	minReady := time.Duration(rc.Spec.MinReadySeconds) * time.Second
	for _, p := range active {
		if tmplLabels.Matches(labels.Set(p.Labels)) {
			st.FullyLabeledReplicas++
		}
		if podstate.IsReady(p) {
			st.ReadyReplicas++
			if minReady == 0 || !readySince(p).Add(minReady).After(now) {
				st.AvailableReplicas++
			}
		}
	}
	// Keep the other conditions; set or clear ReplicaFailure.
	for _, c := range rc.Status.Conditions {
		if c.Type != v1.ReplicationControllerReplicaFailure {
			st.Conditions = append(st.Conditions, c)
		}
	}
	if manageErr != nil {
		cond := v1.ReplicationControllerCondition{
			Type:               v1.ReplicationControllerReplicaFailure,
			Status:             v1.ConditionTrue,
			Reason:             failureReason,
			Message:            manageErr.Error(),
			LastTransitionTime: metav1.NewTime(now),
		}
		for _, c := range rc.Status.Conditions {
			if c.Type == cond.Type && c.Reason == cond.Reason && c.Message == cond.Message {
				cond.LastTransitionTime = c.LastTransitionTime
			}
		}
		st.Conditions = append(st.Conditions, cond)
	}
	return st
}

// StatusChanged reports whether the status must be written.
func StatusChanged(old, cur v1.ReplicationControllerStatus) bool {
	return !apiequality.Semantic.DeepEqual(old, cur)
}
