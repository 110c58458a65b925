package agent_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/runtime/agent"
	"github.com/tug-sh/tug/runtime/image"
	"github.com/tug-sh/tug/runtime/image/imagebuild"
	"github.com/tug-sh/tug/runtime/image/imagetest"
)

// TestTwoContainerPod runs busybox httpd and a client that reaches it on
// localhost: the containers share the pod's network namespace.
func TestTwoContainerPod(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)

	server := c.busybox("web", "exec httpd -f -p 8080 -h /www")
	client := c.busybox("client", `until wget -q -O - http://127.0.0.1:8080/; do sleep 0.1; done; echo "hostname $(hostname)"; touch /tmp/fetched; exec sleep 3600`)
	// Ready once it has fetched the page: an exec probe.
	client.ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"test", "-f", "/tmp/fetched"}}}, PeriodSeconds: 1}
	pod := createPod(t, c, n.pod("two", server, client))

	p := waitPod(t, ctx, c, "default", pod.Name, "Running and Ready", func(p *v1.Pod) bool { return running(p) && ready(p) })
	ip, err := netip.ParseAddr(p.Status.PodIP)
	if err != nil || !n.cfg.PodCIDR.Contains(ip) {
		t.Fatalf("pod IP %q is not in the node's pod CIDR %s", p.Status.PodIP, n.cfg.PodCIDR)
	}
	if p.Status.HostIP != "127.0.0.1" || p.Status.StartTime == nil {
		t.Errorf("hostIP %q startTime %v", p.Status.HostIP, p.Status.StartTime)
	}
	for _, name := range []string{"web", "client"} {
		cs := containerStatus(p, name)
		if !strings.HasPrefix(cs.ContainerID, "tug://") || cs.ImageID == "" || cs.RestartCount != 0 || !cs.Ready || cs.Started == nil || !*cs.Started {
			t.Errorf("container %s status %+v", name, cs)
		}
	}
	want := map[v1.PodConditionType]v1.ConditionStatus{
		v1.PodScheduled: v1.ConditionTrue, v1.PodInitialized: v1.ConditionTrue, v1.ContainersReady: v1.ConditionTrue,
		v1.PodReady: v1.ConditionTrue, v1.PodReadyToStartContainers: v1.ConditionTrue,
	}
	for _, cond := range p.Status.Conditions {
		if w, ok := want[cond.Type]; ok && cond.Status != w {
			t.Errorf("condition %s = %s, want %s", cond.Type, cond.Status, w)
		}
		delete(want, cond.Type)
	}
	if len(want) > 0 {
		t.Errorf("missing conditions %v", want)
	}

	// The client fetched the page over localhost, and its hostname is the
	// pod's name.
	var logs string
	for {
		raw, err := c.client().CoreV1().Pods("default").GetLogs(pod.Name, &v1.PodLogOptions{Container: "client"}).DoRaw(ctx)
		logs = string(raw)
		if err == nil && strings.Contains(logs, "hostname") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("client log %q: %v", logs, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !strings.Contains(logs, strings.TrimSpace(indexHTML)) || !strings.Contains(logs, "hostname two") {
		t.Fatalf("client log = %q, want the page and the pod's hostname", logs)
	}

	// Reachable from the node over the bridge.
	body, err := httpGetIn(ctx, n.netns, "http://"+p.Status.PodIP+":8080/")
	if err != nil || body != indexHTML {
		t.Fatalf("GET from the node: %q, %v", body, err)
	}

	for _, reason := range []string{"Pulled", "Created", "Started"} {
		if !hasEvent(c, "default", pod.Name, reason, "") {
			t.Errorf("no %s event; events:\n%s", reason, events(c, "default", pod.Name))
		}
	}
	if err := c.client().CoreV1().Pods("default").Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ctx, c, "default", pod.Name)
}

// TestHostNetworkPod: a pod on the node's network namespace gets the
// node's address; its server is reachable on the node's loopback.
func TestHostNetworkPod(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	pod := n.pod("hostnet", c.busybox("web", "exec httpd -f -p 127.0.0.1:18080 -h /www"))
	pod.Spec.HostNetwork = true
	createPod(t, c, pod)
	p := waitPod(t, ctx, c, "default", "hostnet", "Running", running)
	if p.Status.PodIP != "127.0.0.1" {
		t.Fatalf("pod IP %s, want the node's", p.Status.PodIP)
	}
	var body string
	var err error
	for {
		body, err = httpGetIn(ctx, n.netns, "http://127.0.0.1:18080/")
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if body != indexHTML {
		t.Fatalf("GET on the node's loopback: %q, %v", body, err)
	}
	if pins := n.netnsPins(t); len(pins) != 0 {
		t.Fatalf("a host-network pod got a namespace: %v", pins)
	}
}

// TestImageUpdateRestartsContainer: changing a running container's image
// replaces it, as the kubelet does when a container's spec hash changes.
func TestImageUpdateRestartsContainer(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	createPod(t, c, n.pod("upd", c.busybox("main", "exec sleep 3600")))
	waitPod(t, ctx, c, "default", "upd", "Running", running)
	img := imagetest.MustBusyboxImage(t, imagebuild.BusyboxOptions{IndexHTML: "version two\n"})
	v2 := imagetest.Push(t, c.host, "busybox:2", img)
	pods := c.client().CoreV1().Pods("default")
	cur, err := pods.Get(ctx, "upd", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.Containers[0].Image = v2
	if _, err := pods.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, ctx, c, "default", "upd", "running the new image", func(p *v1.Pod) bool {
		cs := containerStatus(p, "main")
		return cs.State.Running != nil && cs.RestartCount == 1 && strings.HasSuffix(cs.Image, "busybox:2")
	})
	if !hasEvent(c, "default", "upd", "Killing", "definition changed") {
		t.Errorf("no Killing event:\n%s", events(c, "default", "upd"))
	}
	if p.Status.PodIP == "" {
		t.Fatal("no pod IP")
	}
}

// TestImageGC: with a policy that collects everything unused, the image
// of a completed pod is removed and the image of a running pod stays
// (seen in the Node's status.images).
func TestImageGC(t *testing.T) {
	c := newCluster(t)
	other := imagetest.Push(t, c.host, "other:1", imagetest.MustBusyboxImage(t, imagebuild.BusyboxOptions{IndexHTML: "other\n"}))
	n := newNode(t, c, func(cfg *agent.Config) {
		cfg.ImageGCInterval = time.Second
		cfg.ImageGCPolicy = image.GCPolicy{HighThresholdPercent: 1, LowThresholdPercent: 1, MinAge: time.Nanosecond}
	})
	ctx := testCtx(t, 2*time.Minute)
	createPod(t, c, n.pod("keep", c.busybox("main", "exec sleep 3600")))
	done := n.pod("done", v1.Container{Name: "main", Image: other, Command: []string{"true"}})
	done.Spec.RestartPolicy = v1.RestartPolicyNever
	createPod(t, c, done)
	waitPod(t, ctx, c, "default", "keep", "Running", running)
	waitPod(t, ctx, c, "default", "done", "Succeeded", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodSucceeded })
	hasImage := func(node *v1.Node, ref string) bool {
		for _, img := range node.Status.Images {
			for _, name := range img.Names {
				if name == ref {
					return true
				}
			}
		}
		return false
	}
	waitFor(t, ctx, "the unused image collected", func() bool {
		node, err := c.client().CoreV1().Nodes().Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		return err == nil && hasImage(node, c.image) && !hasImage(node, other)
	})
}
