package manager_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/control/controller/internal/ctrltest"
	"github.com/tug-sh/tug/control/controller/manager"
)

func TestGarbageCollection(t *testing.T) {
	ctx := context.Background()
	c := ctrltest.Start(t)
	c.AddNodes(ctx, ctrltest.Name("node"), 2, ctrltest.NodeOptions{Heartbeat: time.Second})
	c.RunControllers(manager.Options{Controllers: []string{"scheduler", "replication", "gc"}})

	start := func(t *testing.T, name string) (string, types.UID) {
		ns := c.Namespace(ctx, "gc")
		rc, err := c.Client.CoreV1().ReplicationControllers(ns).Create(ctx, ctrltest.RC(ns, name, 3), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitRunning(t, ctx, c, ns, name, 3)
		return ns, rc.UID
	}
	remove := func(t *testing.T, ns, name string, policy metav1.DeletionPropagation) {
		err := c.Client.CoreV1().ReplicationControllers(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy})
		if err != nil {
			t.Fatalf("deleting rc with %s: %v", policy, err)
		}
	}

	t.Run("Background", func(t *testing.T) {
		ns, _ := start(t, "bg")
		remove(t, ns, "bg", metav1.DeletePropagationBackground)
		ctrltest.Eventually(t, 15*time.Second, func() (bool, string) {
			n := len(c.Pods(ctx, ns, "app=bg"))
			return n == 0, fmt.Sprintf("%d pods left", n)
		})
	})

	t.Run("Foreground", func(t *testing.T) {
		ns, _ := start(t, "fg")
		remove(t, ns, "fg", metav1.DeletePropagationForeground)
		sawWaiting := false
		ctrltest.Eventually(t, 15*time.Second, func() (bool, string) {
			pods := len(c.Pods(ctx, ns, "app=fg"))
			rc, err := c.Client.CoreV1().ReplicationControllers(ns).Get(ctx, "fg", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				if pods != 0 {
					t.Fatalf("the RC went before its %d pods (foreground deletion must wait)", pods)
				}
				return true, ""
			}
			if err != nil {
				return false, err.Error()
			}
			if rc.DeletionTimestamp != nil && len(rc.Finalizers) > 0 && rc.Finalizers[0] == metav1.FinalizerDeleteDependents {
				sawWaiting = true
			}
			return false, fmt.Sprintf("rc still there (finalizers %v), %d pods", rc.Finalizers, pods)
		})
		if !sawWaiting {
			t.Log("the RC was never seen waiting with foregroundDeletion (the pods went fast)")
		}
	})

	t.Run("Orphan", func(t *testing.T) {
		ns, uid := start(t, "orph")
		before := c.Pods(ctx, ns, "app=orph")
		remove(t, ns, "orph", metav1.DeletePropagationOrphan)
		ctrltest.Eventually(t, 15*time.Second, func() (bool, string) {
			_, err := c.Client.CoreV1().ReplicationControllers(ns).Get(ctx, "orph", metav1.GetOptions{})
			return apierrors.IsNotFound(err), fmt.Sprintf("rc get: %v", err)
		})
		// The pods stay, without a reference to the deleted RC.
		time.Sleep(time.Second) // a wrong deletion would show by now
		after := c.Pods(ctx, ns, "app=orph")
		if len(after) != len(before) {
			t.Fatalf("%d pods after orphaning, want %d", len(after), len(before))
		}
		for i, p := range after {
			if p.UID != before[i].UID || p.DeletionTimestamp != nil {
				t.Errorf("pod %s replaced or being deleted", p.Name)
			}
			for _, r := range p.OwnerReferences {
				if r.UID == uid {
					t.Errorf("pod %s still references the deleted RC", p.Name)
				}
			}
		}
	})

	t.Run("DanglingOwnerAtStart", func(t *testing.T) {
		// A pod created with an ownerReference to an RC that does not
		// exist is collected; one whose owner exists is not.
		ns := c.Namespace(ctx, "gc")
		yes := true
		owner, err := c.Client.CoreV1().ReplicationControllers(ns).Create(ctx, ctrltest.RC(ns, "alive", 0), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mk := func(name string, ref metav1.OwnerReference) {
			p := podRequesting(ns, name, "10m", "1Mi")
			p.Labels = map[string]string{"test": "dangling"}
			p.OwnerReferences = []metav1.OwnerReference{ref}
			if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		mk("orphaned", metav1.OwnerReference{APIVersion: "v1", Kind: "ReplicationController", Name: "ghost", UID: "0b0e5f4e-0000-4000-8000-000000000001", BlockOwnerDeletion: &yes})
		mk("owned", metav1.OwnerReference{APIVersion: "v1", Kind: "ReplicationController", Name: "alive", UID: owner.UID})
		ctrltest.Eventually(t, 15*time.Second, func() (bool, string) {
			var names []string
			for _, p := range c.Pods(ctx, ns, "test=dangling") {
				if p.DeletionTimestamp == nil {
					names = append(names, p.Name)
				}
			}
			return fmt.Sprint(names) == "[owned]", fmt.Sprintf("pods %v, want [owned]", names)
		})
	})
}
