package manager_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/controller/internal/ctrltest"
	"github.com/tug-sh/tug/control/controller/manager"
)

func readyCondition(n *v1.Node) v1.NodeCondition {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c
		}
	}
	return v1.NodeCondition{}
}

func hasTaint(n *v1.Node, key string, effect v1.TaintEffect) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key && t.Effect == effect {
			return true
		}
	}
	return false
}

// TestDeadNodePodsRecreated stops one of two nodes' heartbeats: the node
// goes Unknown and tainted, its pods are recreated on the other node after
// grace + eviction timeout, and the taints go when it comes back.
func TestDeadNodePodsRecreated(t *testing.T) {
	const grace, eviction = 2 * time.Second, 2 * time.Second
	ctx := context.Background()
	c := ctrltest.Start(t)
	nodes := c.AddNodes(ctx, ctrltest.Name("node"), 2, ctrltest.NodeOptions{Heartbeat: 200 * time.Millisecond})
	c.RunControllers(manager.Options{
		Controllers:            []string{"scheduler", "replication", "nodelifecycle"},
		NodeMonitorGracePeriod: grace, PodEvictionTimeout: eviction, NodeMonitorPeriod: 100 * time.Millisecond,
	})
	ns := c.Namespace(ctx, "dead")
	if _, err := c.Client.CoreV1().ReplicationControllers(ns).Create(ctx, ctrltest.RC(ns, "web", 6), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, ctx, c, ns, "web", 6)
	dead, alive := nodes[0], nodes[1]
	var onDead []v1.Pod
	for _, p := range c.Pods(ctx, ns, "app=web") {
		if p.Spec.NodeName == dead.Name() {
			onDead = append(onDead, p)
		}
	}
	if len(onDead) != 3 {
		t.Fatalf("%d pods on %s before the failure, want 3", len(onDead), dead.Name())
	}

	dead.Pause()
	stopped := time.Now()
	ctrltest.Eventually(t, grace+10*time.Second, func() (bool, string) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, dead.Name(), metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		rc := readyCondition(n)
		return rc.Status == v1.ConditionUnknown && rc.Reason == "NodeStatusUnknown" && rc.Message == "Kubelet stopped posting node status." &&
				hasTaint(n, v1.TaintNodeUnreachable, v1.TaintEffectNoSchedule) && hasTaint(n, v1.TaintNodeUnreachable, v1.TaintEffectNoExecute),
			fmt.Sprintf("Ready %s/%s, taints %v", rc.Status, rc.Reason, n.Spec.Taints)
	})
	unknownAfter := time.Since(stopped)

	ctrltest.Eventually(t, grace+eviction+15*time.Second, func() (bool, string) {
		pods, perNode := activePods(ctx, c, ns, "web")
		running := 0
		for _, p := range pods {
			if p.Status.Phase == v1.PodRunning && p.Spec.NodeName == alive.Name() {
				running++
			}
		}
		return running == 6 && len(pods) == 6, fmt.Sprintf("per node %v, %d running on %s", perNode, running, alive.Name())
	})
	recovered := time.Since(stopped)
	t.Logf("node Unknown after %v; 6 pods running on the healthy node %v after heartbeats stopped (grace %v + eviction %v)",
		unknownAfter.Round(time.Millisecond), recovered.Round(time.Millisecond), grace, eviction)
	if recovered < grace+eviction {
		t.Errorf("pods were moved after %v, before grace + eviction timeout (%v)", recovered, grace+eviction)
	}
	for _, p := range onDead {
		if _, err := c.Client.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{}); err == nil {
			t.Errorf("pod %s of the dead node still exists", p.Name)
		}
	}

	// Back: taints removed, Ready again, usable.
	dead.Resume()
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, dead.Name(), metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return readyCondition(n).Status == v1.ConditionTrue && len(n.Spec.Taints) == 0,
			fmt.Sprintf("Ready %s, taints %v", readyCondition(n).Status, n.Spec.Taints)
	})
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		for _, e := range c.Events(ctx, "default", "Node", dead.Name()) {
			if e.Reason == "NodeReady" && e.Source.Component == "node-controller" {
				return true, ""
			}
		}
		return false, "no NodeReady event"
	})
}
