package manager_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/controller/internal/ctrltest"
	"github.com/tug-sh/tug/control/controller/manager"
)

func TestNamespaceDeletion(t *testing.T) {
	ctx := context.Background()
	c := ctrltest.Start(t)
	c.AddNodes(ctx, ctrltest.Name("node"), 2, ctrltest.NodeOptions{Heartbeat: time.Second})
	c.RunControllers(manager.Options{Controllers: []string{"*"}})
	ns := c.Namespace(ctx, "doomed")
	other := c.Namespace(ctx, "kept")
	for _, n := range []string{ns, other} {
		if _, err := c.Client.CoreV1().ReplicationControllers(n).Create(ctx, ctrltest.RC(n, "web", 3), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Client.CoreV1().Services(n).Create(ctx, service(n, "web", map[string]string{"app": "web"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitRunning(t, ctx, c, n, "web", 3)
	}
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		ep, err := c.Client.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && len(ep.Subsets) > 0, fmt.Sprintf("endpoints: %v", err)
	})
	if len(c.Events(ctx, ns, "ReplicationController", "web")) == 0 {
		t.Fatal("no events in the namespace before deletion")
	}

	if err := c.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctrltest.Eventually(t, 30*time.Second, func() (bool, string) {
		n, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		return false, fmt.Sprintf("namespace %s phase %s, finalizers %v", ns, n.Status.Phase, n.Spec.Finalizers)
	})
	t.Logf("namespace with an RC, 3 pods, a Service, Endpoints and events deleted in %v", time.Since(start).Round(time.Millisecond))

	// Nothing is left of it.
	for what, n := range map[string]func() (int, error){
		"pods": func() (int, error) {
			l, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"replicationcontrollers": func() (int, error) {
			l, err := c.Client.CoreV1().ReplicationControllers(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"services": func() (int, error) {
			l, err := c.Client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"endpoints": func() (int, error) {
			l, err := c.Client.CoreV1().Endpoints(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"events": func() (int, error) {
			l, err := c.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
	} {
		// Objects created after the namespace went would be a bug too.
		if count, err := n(); err != nil || count != 0 {
			t.Errorf("%s left in deleted namespace: %d (%v)", what, count, err)
		}
	}
	// The other namespace is untouched.
	if pods, _ := activePods(ctx, c, other, "web"); len(pods) != 3 {
		t.Errorf("namespace %s lost pods: %d left", other, len(pods))
	}
}
