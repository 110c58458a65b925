package manager_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/control/controller/internal/ctrltest"
	"github.com/tug-sh/tug/control/controller/internal/podstate"
	"github.com/tug-sh/tug/control/controller/manager"
)

// activePods returns the RC's active pods and how many sit on each node.
func activePods(ctx context.Context, c *ctrltest.Cluster, ns, app string) ([]v1.Pod, map[string]int) {
	var out []v1.Pod
	perNode := map[string]int{}
	for _, p := range c.Pods(ctx, ns, "app="+app) {
		if podstate.IsActive(&p) {
			out = append(out, p)
			perNode[p.Spec.NodeName]++
		}
	}
	return out, perNode
}

// waitRunning waits for exactly n active pods, all bound and Running.
func waitRunning(t *testing.T, ctx context.Context, c *ctrltest.Cluster, ns, app string, n int) []v1.Pod {
	t.Helper()
	var pods []v1.Pod
	ctrltest.Eventually(t, 30*time.Second, func() (bool, string) {
		var perNode map[string]int
		pods, perNode = activePods(ctx, c, ns, app)
		running := 0
		for _, p := range pods {
			if p.Spec.NodeName != "" && p.Status.Phase == v1.PodRunning {
				running++
			}
		}
		return len(pods) == n && running == n, fmt.Sprintf("%d active pods (%d running, per node %v), want %d", len(pods), running, perNode, n)
	})
	return pods
}

func TestReplicationEndToEnd(t *testing.T) {
	ctx := context.Background()
	c := ctrltest.Start(t)
	c.AddNodes(ctx, ctrltest.Name("node"), 2, ctrltest.NodeOptions{Heartbeat: time.Second})
	c.RunControllers(manager.Options{Controllers: []string{"scheduler", "replication"}})
	ns := c.Namespace(ctx, "rc")
	rcs := c.Client.CoreV1().ReplicationControllers(ns)

	if _, err := rcs.Create(ctx, ctrltest.RC(ns, "nginxs", 10), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := waitRunning(t, ctx, c, ns, "nginxs", 10)
	_, perNode := activePods(ctx, c, ns, "nginxs")
	if len(perNode) != 2 {
		t.Fatalf("pods per node %v, want both nodes used", perNode)
	}
	for node, n := range perNode {
		if n != 5 {
			t.Errorf("node %s has %d pods, want 5 (spread)", node, n)
		}
	}
	for _, p := range pods {
		ref := metav1.GetControllerOf(&p)
		if ref == nil || ref.Kind != "ReplicationController" || ref.Name != "nginxs" || !strings.HasPrefix(p.Name, "nginxs-") {
			t.Errorf("pod %s: controller %+v", p.Name, ref)
		}
	}

	// Status reflects the pods.
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		rc, err := rcs.Get(ctx, "nginxs", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		s := rc.Status
		return s.Replicas == 10 && s.ReadyReplicas == 10 && s.AvailableReplicas == 10 && s.FullyLabeledReplicas == 10 &&
				s.ObservedGeneration == rc.Generation,
			fmt.Sprintf("status %+v generation %d", s, rc.Generation)
	})

	// Deleting a pod (as `stop pods` does) brings a new one with a new name.
	victim := pods[3]
	if err := c.Client.CoreV1().Pods(ns).Delete(ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	pods = waitRunning(t, ctx, c, ns, "nginxs", 10)
	for _, p := range pods {
		if p.Name == victim.Name || p.UID == victim.UID {
			t.Fatalf("deleted pod %s still active", victim.Name)
		}
	}

	// Scale up, then down, through the scale subresource (kubectl scale).
	for _, n := range []int32{15, 4} {
		patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n)
		if _, err := rcs.Patch(ctx, "nginxs", types.MergePatchType, patch, metav1.PatchOptions{}, "scale"); err != nil {
			t.Fatalf("scaling to %d: %v", n, err)
		}
		waitRunning(t, ctx, c, ns, "nginxs", int(n))
	}

	// Events: SuccessfulCreate from replication-controller, and deletes.
	// The recorder's spam filter lets 25 events per object through in a
	// burst (Kubernetes' default): all 16 creations, some deletions.
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		created, deleted := 0, 0
		for _, e := range c.Events(ctx, ns, "ReplicationController", "nginxs") {
			if e.Source.Component != "replication-controller" {
				continue
			}
			switch e.Reason {
			case "SuccessfulCreate":
				if strings.Contains(e.Message, "Created pod: nginxs-") {
					created += int(e.Count)
				}
			case "SuccessfulDelete":
				deleted += int(e.Count)
			}
		}
		return created >= 16 && deleted >= 1, fmt.Sprintf("SuccessfulCreate count %d (want >= 16), SuccessfulDelete %d (want >= 1)", created, deleted)
	})
	// kubectl describe rc shows them.
	out, err := exec.CommandContext(ctx, "/usr/bin/kubectl", "-s", c.Env.URL, "-n", ns, "describe", "rc", "nginxs").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl describe rc: %v\n%s", err, out)
	}
	for _, want := range []string{"SuccessfulCreate", "replication-controller", "Created pod: nginxs-", "4 current / 4 desired"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("kubectl describe rc output lacks %q:\n%s", want, out)
		}
	}
	// Every pod was scheduled with an event.
	p := c.Pods(ctx, ns, "app=nginxs")[0]
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		for _, e := range c.Events(ctx, ns, "Pod", p.Name) {
			if e.Reason == "Scheduled" && e.Source.Component == "default-scheduler" &&
				e.Message == fmt.Sprintf("Successfully assigned %s/%s to %s", ns, p.Name, p.Spec.NodeName) {
				return true, ""
			}
		}
		return false, "no Scheduled event for " + p.Name
	})
}

// TestReplicationAdoptsAndReleases: a matching orphan is adopted (and
// counted), a pod relabeled out of the selector is released (its
// ownerReference removed) and replaced.
func TestReplicationAdoptsAndReleases(t *testing.T) {
	ctx := context.Background()
	c := ctrltest.Start(t)
	c.AddNodes(ctx, ctrltest.Name("node"), 1, ctrltest.NodeOptions{Heartbeat: time.Second})
	c.RunControllers(manager.Options{Controllers: []string{"scheduler", "replication"}})
	ns := c.Namespace(ctx, "adopt")
	pods := c.Client.CoreV1().Pods(ns)

	// The orphan exists before the RC.
	orphan := podRequesting(ns, "orphan", "10m", "1Mi")
	orphan.Labels = map[string]string{"app": "web"}
	if _, err := pods.Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, err := c.Client.CoreV1().ReplicationControllers(ns).Create(ctx, ctrltest.RC(ns, "web", 3), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	running := waitRunning(t, ctx, c, ns, "web", 3)
	adopted := false
	for _, p := range running {
		if p.Name == "orphan" {
			ref := metav1.GetControllerOf(&p)
			adopted = ref != nil && ref.UID == rc.UID
		}
	}
	if !adopted {
		t.Fatalf("orphan not adopted: running pods %v", running)
	}

	// Relabel one of the RC's pods out of the selector.
	p, err := pods.Get(ctx, "orphan", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Labels = map[string]string{"app": "debugging"}
	if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, ctx, c, ns, "web", 3)
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		p, err := pods.Get(ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(p.OwnerReferences) == 0 && p.DeletionTimestamp == nil, fmt.Sprintf("released pod: owners %v", p.OwnerReferences)
	})
}
