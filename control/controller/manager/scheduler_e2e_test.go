package manager_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/controller/internal/ctrltest"
	"github.com/tug-sh/tug/control/controller/manager"
)

func podRequesting(ns, name, cpu, mem string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "main", Image: "busybox",
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
				v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse(mem),
			}},
		}}},
	}
}

// TestTooLargePodStaysPending: a pod requesting more memory than any node
// has stays Pending with a FailedScheduling event in Kubernetes' format,
// and is placed as soon as a large enough node joins.
func TestTooLargePodStaysPending(t *testing.T) {
	ctx := context.Background()
	c := ctrltest.Start(t)
	c.AddNodes(ctx, ctrltest.Name("small"), 2, ctrltest.NodeOptions{CPU: "2", Memory: "4Gi", Heartbeat: time.Second})
	c.RunControllers(manager.Options{Controllers: []string{"scheduler"}})
	ns := c.Namespace(ctx, "big")
	pods := c.Client.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, podRequesting(ns, "huge", "1", "16Gi"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "0/2 nodes are available: 2 Insufficient memory."
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		for _, e := range c.Events(ctx, ns, "Pod", "huge") {
			if e.Reason == "FailedScheduling" && e.Type == v1.EventTypeWarning && e.Source.Component == "default-scheduler" {
				return e.Message == want, fmt.Sprintf("FailedScheduling message %q, want %q", e.Message, want)
			}
		}
		return false, "no FailedScheduling event"
	})
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		p, err := pods.Get(ctx, "huge", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == "Unschedulable" && c.Message == want {
				return p.Spec.NodeName == "" && p.Status.Phase == v1.PodPending, "pod bound or not pending"
			}
		}
		return false, fmt.Sprintf("conditions %+v", p.Status.Conditions)
	})

	// A node that fits joins: the pod is retried and placed there.
	big := c.AddNodes(ctx, ctrltest.Name("big"), 1, ctrltest.NodeOptions{CPU: "8", Memory: "32Gi", Heartbeat: time.Second,
		CIDRBase: mustPrefix("10.201.0.0/24")})[0]
	ctrltest.Eventually(t, 15*time.Second, func() (bool, string) {
		p, err := pods.Get(ctx, "huge", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return p.Spec.NodeName == big.Name(), fmt.Sprintf("pod on %q, want %s", p.Spec.NodeName, big.Name())
	})
}

// TestSchedulerFilters checks taints, node selectors and host ports against
// real nodes.
func TestSchedulerFilters(t *testing.T) {
	ctx := context.Background()
	c := ctrltest.Start(t)
	nodes := c.AddNodes(ctx, ctrltest.Name("n"), 3, ctrltest.NodeOptions{Heartbeat: time.Second})
	// n0 is tainted, n1 labeled disk=ssd, n2 plain.
	mutate := func(name string, f func(*v1.Node)) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f(n)
		if _, err := c.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mutate(nodes[0].Name(), func(n *v1.Node) {
		n.Spec.Taints = []v1.Taint{{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule}}
	})
	mutate(nodes[1].Name(), func(n *v1.Node) { n.Labels["disk"] = "ssd" })
	c.RunControllers(manager.Options{Controllers: []string{"scheduler"}})
	ns := c.Namespace(ctx, "filters")
	pods := c.Client.CoreV1().Pods(ns)

	withSelector := podRequesting(ns, "ssd", "100m", "64Mi")
	withSelector.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	tolerant := podRequesting(ns, "gpu", "100m", "64Mi")
	tolerant.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": nodes[0].Name()}
	tolerant.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "gpu", Effect: v1.TaintEffectNoSchedule}}
	intolerant := podRequesting(ns, "nogpu", "100m", "64Mi")
	intolerant.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": nodes[0].Name()}
	for _, p := range []*v1.Pod{withSelector, tolerant, intolerant} {
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Three pods with the same host port: one per untainted node, the
	// third cannot run anywhere.
	for i := range 3 {
		p := podRequesting(ns, fmt.Sprintf("hp-%d", i), "100m", "64Mi")
		p.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ctrltest.Eventually(t, 15*time.Second, func() (bool, string) {
		got := map[string]string{}
		for _, p := range c.Pods(ctx, ns, "") {
			got[p.Name] = p.Spec.NodeName
		}
		hpBound := 0
		for i := range 3 {
			if got[fmt.Sprintf("hp-%d", i)] != "" {
				hpBound++
			}
		}
		ok := got["ssd"] == nodes[1].Name() && got["gpu"] == nodes[0].Name() && got["nogpu"] == "" && hpBound == 2
		return ok, fmt.Sprintf("placement %v", got)
	})
	wantTaint := "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector."
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		for _, e := range c.Events(ctx, ns, "Pod", "nogpu") {
			if e.Reason == "FailedScheduling" {
				return e.Message == wantTaint, fmt.Sprintf("message %q, want %q", e.Message, wantTaint)
			}
		}
		return false, "no FailedScheduling event for nogpu"
	})
	var unplaced string
	for _, p := range c.Pods(ctx, ns, "") {
		if strings.HasPrefix(p.Name, "hp-") && p.Spec.NodeName == "" {
			unplaced = p.Name
		}
	}
	wantPorts := "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't have free ports for the requested pod ports."
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		for _, e := range c.Events(ctx, ns, "Pod", unplaced) {
			if e.Reason == "FailedScheduling" {
				return e.Message == wantPorts, fmt.Sprintf("message %q, want %q", e.Message, wantPorts)
			}
		}
		return false, "no FailedScheduling event for " + unplaced
	})
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// TestSchedulerAvoidsBusyNode: a node agent reporting high measured usage
// (annotations) gets new pods last, even with nothing requested on it.
func TestSchedulerAvoidsBusyNode(t *testing.T) {
	ctx := context.Background()
	c := ctrltest.Start(t)
	nodes := c.AddNodes(ctx, ctrltest.Name("n"), 2, ctrltest.NodeOptions{CPU: "4", Memory: "8Gi", Heartbeat: time.Second})
	ns := c.Namespace(ctx, "busy")
	for round, busy := range []int{0, 1} {
		// The busy node uses 3.5 of its 4 cores and 7 of its 8 GiB. The
		// scheduler starts after the report, so its cache has it.
		if err := nodes[busy].SetUsage(ctx, 3_500_000_000, 7<<30); err != nil {
			t.Fatal(err)
		}
		if err := nodes[1-busy].SetUsage(ctx, 100_000_000, 1<<30); err != nil {
			t.Fatal(err)
		}
		stop := c.StartControllers(manager.Options{Controllers: []string{"scheduler"}})
		name := fmt.Sprintf("p%d", round)
		if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, podRequesting(ns, name, "100m", "64Mi"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
			p, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return p.Spec.NodeName == nodes[1-busy].Name(), fmt.Sprintf("%s on %q, want the idle %s", name, p.Spec.NodeName, nodes[1-busy].Name())
		})
		stop()
	}
}
