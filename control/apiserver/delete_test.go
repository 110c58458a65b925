package apiserver_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

func TestDeleteWithFinalizers(t *testing.T) {
	env := apitest.Start(t)
	rcs := env.Client.CoreV1().ReplicationControllers("default")
	rc := testRC("fin", 1)
	rc.Finalizers = []string{"example.com/hold"}
	if _, err := rcs.Create(ctx(t), rc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := call(t, env, "DELETE", "/api/v1/namespaces/default/replicationcontrollers/fin", nil)
	var deleted corev1.ReplicationController
	r.into(t, &deleted)
	if r.code != 200 || deleted.DeletionTimestamp == nil || deleted.DeletionGracePeriodSeconds == nil || *deleted.DeletionGracePeriodSeconds != 0 || deleted.Kind != "ReplicationController" {
		t.Fatalf("delete with a finalizer: %d %+v", r.code, deleted.ObjectMeta)
	}
	cur, err := rcs.Get(ctx(t), "fin", metav1.GetOptions{})
	if err != nil || cur.DeletionTimestamp == nil {
		t.Fatalf("object with a finalizer gone or unmarked: %v", err)
	}
	// No new finalizers once deleting; other updates are fine.
	cur.Finalizers = append(cur.Finalizers, "example.com/late")
	if _, err := rcs.Update(ctx(t), cur, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("adding a finalizer while deleting: %v", err)
	}
	if _, err := rcs.Patch(ctx(t), "fin", types.MergePatchType, []byte(`{"metadata":{"labels":{"still":"here"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// A second delete changes nothing.
	again := call(t, env, "DELETE", "/api/v1/namespaces/default/replicationcontrollers/fin", nil)
	var second corev1.ReplicationController
	again.into(t, &second)
	if again.code != 200 || !second.DeletionTimestamp.Equal(deleted.DeletionTimestamp) {
		t.Errorf("second delete: %d %+v", again.code, second.ObjectMeta)
	}
	// Removing the last finalizer deletes the object.
	if _, err := rcs.Patch(ctx(t), "fin", types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/finalizers"}]`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rcs.Get(ctx(t), "fin", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("object still there after its last finalizer went: %v", err)
	}
}

func TestDeletePropagationPolicies(t *testing.T) {
	env := apitest.Start(t)
	rcs := env.Client.CoreV1().ReplicationControllers("default")
	for _, tt := range []struct {
		policy    metav1.DeletionPropagation
		finalizer string
	}{
		{metav1.DeletePropagationForeground, metav1.FinalizerDeleteDependents},
		{metav1.DeletePropagationOrphan, metav1.FinalizerOrphanDependents},
	} {
		name := strings.ToLower(string(tt.policy))
		if _, err := rcs.Create(ctx(t), testRC(name, 1), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := rcs.Delete(ctx(t), name, metav1.DeleteOptions{PropagationPolicy: &tt.policy}); err != nil {
			t.Fatal(err)
		}
		got, err := rcs.Get(ctx(t), name, metav1.GetOptions{})
		if err != nil || got.DeletionTimestamp == nil || len(got.Finalizers) != 1 || got.Finalizers[0] != tt.finalizer {
			t.Fatalf("%s: %v %+v", tt.policy, err, got.ObjectMeta)
		}
		// The garbage collector's work done, it removes the finalizer.
		got.Finalizers = nil
		if _, err := rcs.Update(ctx(t), got, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := rcs.Get(ctx(t), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: still there after the finalizer went: %v", tt.policy, err)
		}
	}
	// Background (what kubectl sends, and the default) deletes at once and
	// leaves dependents, which keep their ownerReferences, to the GC.
	owner, err := rcs.Create(ctx(t), testRC("owner", 1), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep := testPod("dependent")
	dep.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ReplicationController", Name: "owner", UID: owner.UID, Controller: ptr(true)}}
	if _, err := env.Client.CoreV1().Pods("default").Create(ctx(t), dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := rcs.Delete(ctx(t), "owner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rcs.Get(ctx(t), "owner", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("background delete left the owner: %v", err)
	}
	p, err := env.Client.CoreV1().Pods("default").Get(ctx(t), "dependent", metav1.GetOptions{})
	if err != nil || len(p.OwnerReferences) != 1 || p.OwnerReferences[0].UID != owner.UID {
		t.Errorf("dependent: %v %+v", err, p.OwnerReferences)
	}
}

func TestDeletePreconditionsAndDryRun(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	p, err := pods.Create(ctx(t), testPod("pre"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = pods.Delete(ctx(t), "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr(types.UID("other"))}})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "Precondition failed: UID in precondition: other") {
		t.Errorf("uid precondition: %v", err)
	}
	err = pods.Delete(ctx(t), "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: ptr("1")}})
	if !apierrors.IsConflict(err) {
		t.Errorf("resourceVersion precondition: %v", err)
	}
	if err := pods.Delete(ctx(t), "pre", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx(t), "pre", metav1.GetOptions{}); err != nil {
		t.Fatalf("dry-run delete removed the pod: %v", err)
	}
	if err := pods.Delete(ctx(t), "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID, ResourceVersion: &p.ResourceVersion}}); err != nil {
		t.Fatalf("matching preconditions: %v", err)
	}
	if err := pods.Delete(ctx(t), "pre", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("second delete: %v", err)
	}
	// Options in the query work as well as in the body.
	if _, err := pods.Create(ctx(t), testPod("q"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := call(t, env, "DELETE", "/api/v1/namespaces/default/pods/q?dryRun=All&propagationPolicy=Background", nil); r.code != 200 {
		t.Errorf("query options: %d %s", r.code, r.body)
	}
	if _, err := pods.Get(ctx(t), "q", metav1.GetOptions{}); err != nil {
		t.Errorf("dryRun in the query removed the pod: %v", err)
	}
}

// TestGracefulPodDeletion follows a pod bound to a node: DELETE gives it
// a deadline, a later delete may shorten it, and the node agent's delete
// with grace 0 removes it.
func TestGracefulPodDeletion(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	pod := testPod("running")
	pod.Spec.TerminationGracePeriodSeconds = ptr[int64](60)
	if _, err := pods.Create(ctx(t), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind(t, env, "default", "running", "node-1")
	before := time.Now().Truncate(time.Second)
	if err := pods.Delete(ctx(t), "running", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(ctx(t), "running", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("bound pod removed without waiting for its node: %v", err)
	}
	if p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 60 || p.DeletionTimestamp.Time.Before(before.Add(60*time.Second)) {
		t.Fatalf("graceful deletion marks: %v %v", p.DeletionTimestamp, p.DeletionGracePeriodSeconds)
	}
	// A longer grace period is ignored, a shorter one moves the deadline.
	if err := pods.Delete(ctx(t), "running", metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](120)}); err != nil {
		t.Fatal(err)
	}
	if q, _ := pods.Get(ctx(t), "running", metav1.GetOptions{}); *q.DeletionGracePeriodSeconds != 60 {
		t.Errorf("longer grace period applied: %d", *q.DeletionGracePeriodSeconds)
	}
	if err := pods.Delete(ctx(t), "running", metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](10)}); err != nil {
		t.Fatal(err)
	}
	q, err := pods.Get(ctx(t), "running", metav1.GetOptions{})
	if err != nil || *q.DeletionGracePeriodSeconds != 10 || !q.DeletionTimestamp.Time.Equal(p.DeletionTimestamp.Add(-50*time.Second)) {
		t.Fatalf("shortened: %v %v %v (was %v)", err, q.DeletionTimestamp, q.DeletionGracePeriodSeconds, p.DeletionTimestamp)
	}
	// The agent reports the pod stopped, then confirms.
	q.Status.Phase = corev1.PodSucceeded
	if _, err := pods.UpdateStatus(ctx(t), q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx(t), "running", metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0), Preconditions: &metav1.Preconditions{UID: &q.UID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx(t), "running", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("pod still there after the agent's confirmation: %v", err)
	}
	// An unbound pod goes at once.
	if _, err := pods.Create(ctx(t), testPod("pending"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx(t), "pending", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx(t), "pending", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("unbound pod still there: %v", err)
	}
}

// TestNamespaceTermination plays the namespace controller's part: a
// deleted namespace turns Terminating, refuses new content, and goes once
// /finalize removes the "kubernetes" finalizer.
func TestNamespaceTermination(t *testing.T) {
	env := apitest.Start(t)
	nss := env.Client.CoreV1().Namespaces()
	ns, err := nss.Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Status.Phase != corev1.NamespaceActive || len(ns.Spec.Finalizers) != 1 || ns.Spec.Finalizers[0] != corev1.FinalizerKubernetes {
		t.Fatalf("new namespace: %+v %+v", ns.Spec, ns.Status)
	}
	if _, err := env.Client.CoreV1().Pods("doomed").Create(ctx(t), testPod("content"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := nss.Delete(ctx(t), "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ns, err = nss.Get(ctx(t), "doomed", metav1.GetOptions{})
	if err != nil || ns.Status.Phase != corev1.NamespaceTerminating || ns.DeletionTimestamp == nil {
		t.Fatalf("deleted namespace: %v %+v", err, ns)
	}
	err = nss.Delete(ctx(t), "doomed", metav1.DeleteOptions{})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "will automatically be purged") {
		t.Errorf("second delete: %v", err)
	}
	// The namespace controller empties it, then finalizes.
	if err := env.Client.CoreV1().Pods("doomed").Delete(ctx(t), "content", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ns.Spec.Finalizers = nil
	ns.Status.Phase = corev1.NamespaceActive // status cannot change through finalize
	out, err := nss.Finalize(ctx(t), ns, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Spec.Finalizers) != 0 || out.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("finalize answered %+v", out)
	}
	if _, err := nss.Get(ctx(t), "doomed", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("finalized namespace still there: %v", err)
	}
	for _, name := range []string{"default", "kube-system"} {
		err := nss.Delete(ctx(t), name, metav1.DeleteOptions{})
		if !apierrors.IsForbidden(err) || err.Error() != `namespaces "`+name+`" is forbidden: this namespace may not be deleted` {
			t.Errorf("deleting %s: %v", name, err)
		}
	}
}

func TestDeleteCollection(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	for _, n := range []string{"a", "b", "c"} {
		p := testPod(n)
		if n == "c" {
			p.Labels["keep"] = "yes"
		}
		if _, err := pods.Create(ctx(t), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pods.DeleteCollection(ctx(t), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "!keep"}); err != nil {
		t.Fatal(err)
	}
	list, err := pods.List(ctx(t), metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Name != "c" {
		t.Fatalf("after deletecollection: %v %v", err, names(list.Items))
	}
}
