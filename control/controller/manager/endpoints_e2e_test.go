package manager_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tug-sh/tug/control/controller/internal/ctrltest"
	"github.com/tug-sh/tug/control/controller/manager"
)

func service(ns, name string, selector map[string]string) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.ServiceSpec{
			Selector: selector,
			Ports:    []v1.ServicePort{{Name: "web", Port: 80, TargetPort: intstr.FromString("http"), Protocol: v1.ProtocolTCP}},
		},
	}
}

func setReady(ctx context.Context, t *testing.T, c *ctrltest.Cluster, pod v1.Pod, ready bool) {
	t.Helper()
	status := v1.ConditionFalse
	if ready {
		status = v1.ConditionTrue
	}
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == v1.PodReady {
			pod.Status.Conditions[i].Status = status
			pod.Status.Conditions[i].LastTransitionTime = metav1.Now()
		}
	}
	if _, err := c.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, &pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("setting pod %s ready=%v: %v", pod.Name, ready, err)
	}
}

// addressesOf returns the ready and not-ready IPs of an Endpoints, and
// whether every address names its pod and node.
func addressesOf(ep *v1.Endpoints) (ready, notReady map[string]bool, port int32, complete bool) {
	ready, notReady, complete = map[string]bool{}, map[string]bool{}, true
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			ready[a.IP] = true
			complete = complete && a.TargetRef != nil && a.TargetRef.Kind == "Pod" && a.NodeName != nil
		}
		for _, a := range s.NotReadyAddresses {
			notReady[a.IP] = true
		}
		for _, p := range s.Ports {
			port = p.Port
		}
	}
	return ready, notReady, port, complete
}

func TestEndpointsFollowReadiness(t *testing.T) {
	ctx := context.Background()
	c := ctrltest.Start(t)
	c.AddNodes(ctx, ctrltest.Name("node"), 2, ctrltest.NodeOptions{Heartbeat: time.Second})
	c.RunControllers(manager.Options{Controllers: []string{"scheduler", "replication", "endpoints"}})
	ns := c.Namespace(ctx, "ep")
	eps := c.Client.CoreV1().Endpoints(ns)

	// A Service that selects nothing has an Endpoints without subsets.
	if _, err := c.Client.CoreV1().Services(ns).Create(ctx, service(ns, "nobody", map[string]string{"app": "nobody"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		ep, err := eps.Get(ctx, "nobody", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(ep.Subsets) == 0, fmt.Sprintf("subsets %+v", ep.Subsets)
	})

	if _, err := c.Client.CoreV1().Services(ns).Create(ctx, service(ns, "web", map[string]string{"app": "web"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().ReplicationControllers(ns).Create(ctx, ctrltest.RC(ns, "web", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := waitRunning(t, ctx, c, ns, "web", 3)
	ips := map[string]bool{}
	for _, p := range pods {
		ips[p.Status.PodIP] = true
	}
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		ep, err := eps.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ready, notReady, port, complete := addressesOf(ep)
		return fmt.Sprint(ready) == fmt.Sprint(ips) && len(notReady) == 0 && port == 8080 && complete,
			fmt.Sprintf("ready %v notReady %v port %d (targetPort http = 8080), want ready %v", ready, notReady, port, ips)
	})

	// Readiness flips move the address; measure how long Endpoints take.
	p := pods[0]
	for _, ready := range []bool{false, true} {
		fresh, err := c.Client.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		setReady(ctx, t, c, *fresh, ready)
		ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
			ep, err := eps.Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			r, nr, _, _ := addressesOf(ep)
			return r[p.Status.PodIP] == ready && nr[p.Status.PodIP] == !ready, fmt.Sprintf("ready %v notReady %v", r, nr)
		})
		t.Logf("pod ready=%v → Endpoints updated (seen by a polling client) in %v", ready, time.Since(start).Round(time.Millisecond))
	}

	// An unchanged Service is not rewritten: touching it causes no
	// Endpoints write. The Endpoints of a Service created afterwards are a
	// barrier: once they exist, the touched Service was seen before.
	writes := func() int { return c.Requests("PUT", "endpoints") + c.Requests("POST", "endpoints") }
	before := writes()
	svc, err := c.Client.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Annotations = map[string]string{"touched": "yes"}
	if _, err := c.Client.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().Services(ns).Create(ctx, service(ns, "barrier", map[string]string{"app": "none"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		_, err := eps.Get(ctx, "barrier", metav1.GetOptions{})
		return err == nil, fmt.Sprintf("barrier endpoints: %v", err)
	})
	if n := writes() - before; n != 1 {
		t.Errorf("%d Endpoints writes after touching a Service and creating another, want 1 (the new one's)", n)
	}

	// Deleting the Service deletes its Endpoints.
	if err := c.Client.CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		_, err := eps.Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("get endpoints after service deletion: %v", err)
	})
}
