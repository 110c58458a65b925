package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tug-sh/tug/control/controller/manager"
	"github.com/tug-sh/tug/runtime/agent"
	"github.com/tug-sh/tug/runtime/agent/agenttest"
)

func getNode(t testing.TB, ctx context.Context, c *cluster, name string) *v1.Node {
	t.Helper()
	node, err := c.client().CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return node
}

func nodeCondition(node *v1.Node, t v1.NodeConditionType) *v1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == t {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

func TestNodeRegistrationAndHeartbeat(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, time.Minute)
	var node *v1.Node
	waitFor(t, ctx, "the node Ready", func() bool {
		var err error
		node, err = c.client().CoreV1().Nodes().Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return false
		}
		r := nodeCondition(node, v1.NodeReady)
		return r != nil && r.Status == v1.ConditionTrue
	})
	st := node.Status
	if cpu := st.Capacity.Cpu().Value(); cpu < 1 {
		t.Errorf("capacity cpu %d", cpu)
	}
	if st.Capacity.Memory().Value() <= 0 || st.Allocatable.Memory().Cmp(*st.Capacity.Memory()) >= 0 || st.Capacity.Pods().Value() != 110 {
		t.Errorf("capacity %v allocatable %v", st.Capacity, st.Allocatable)
	}
	if len(st.Addresses) == 0 || st.Addresses[0].Type != v1.NodeInternalIP || st.Addresses[0].Address != "127.0.0.1" {
		t.Errorf("addresses %v", st.Addresses)
	}
	if st.DaemonEndpoints.KubeletEndpoint.Port != int32(n.agent.Port()) {
		t.Errorf("kubelet endpoint port %d, agent listens on %d", st.DaemonEndpoints.KubeletEndpoint.Port, n.agent.Port())
	}
	info := st.NodeInfo
	// (Test binaries carry no module versions: runc's shows as "unknown".)
	if info.KubeletVersion != "v1.32.0-tug" || !strings.HasPrefix(info.ContainerRuntimeVersion, "libcontainer://runc-") ||
		info.OperatingSystem != "linux" || info.Architecture == "" || info.KernelVersion == "" || info.OSImage == "" {
		t.Errorf("nodeInfo %+v", info)
	}
	for _, ct := range []v1.NodeConditionType{v1.NodeMemoryPressure, v1.NodeDiskPressure, v1.NodePIDPressure} {
		if cond := nodeCondition(node, ct); cond == nil || cond.Status != v1.ConditionFalse {
			t.Errorf("condition %s = %+v, want False", ct, cond)
		}
	}
	if sp := nodeCondition(node, agent.NodeConditionServiceProxyReady); sp == nil || sp.Status != v1.ConditionFalse || sp.Message == "" {
		t.Errorf("ServiceProxyReady = %+v, want False with a message", sp)
	}
	if node.Labels["kubernetes.io/hostname"] != n.cfg.NodeName || node.Labels["kubernetes.io/os"] != "linux" {
		t.Errorf("labels %v", node.Labels)
	}
	// Heartbeats move lastHeartbeatTime (1s interval in tests), not
	// lastTransitionTime.
	first := nodeCondition(node, v1.NodeReady).DeepCopy()
	waitFor(t, ctx, "a newer heartbeat", func() bool {
		r := nodeCondition(getNode(t, ctx, c, n.cfg.NodeName), v1.NodeReady)
		return r.LastHeartbeatTime.After(first.LastHeartbeatTime.Time) && r.LastTransitionTime.Equal(&first.LastTransitionTime)
	})
	// Measured usage for the scheduler.
	waitFor(t, ctx, "usage annotations", func() bool {
		a := getNode(t, ctx, c, n.cfg.NodeName).Annotations
		_, err1 := strconv.ParseUint(a["tug.sh/cpu-usage-nanocores"], 10, 64)
		ws, err2 := strconv.ParseUint(a["tug.sh/memory-working-set-bytes"], 10, 64)
		_, err3 := time.Parse(time.RFC3339, a["tug.sh/usage-timestamp"])
		return err1 == nil && err2 == nil && err3 == nil && ws > 0
	})
	// A deleted Node registers again.
	if err := c.client().CoreV1().Nodes().Delete(ctx, n.cfg.NodeName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "re-registration", func() bool {
		node, err := c.client().CoreV1().Nodes().Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		return err == nil && nodeCondition(node, v1.NodeReady) != nil
	})
}

func TestStatsSummary(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, time.Minute)
	createPod(t, c, n.pod("busy", c.busybox("main", "while true; do :; done")))
	waitPod(t, ctx, c, "default", "busy", "Running", running)
	var sum statsapi.Summary
	waitFor(t, ctx, "CPU rates of the pod", func() bool {
		res, err := http.Get(n.url(t) + "/stats/summary")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		sum = statsapi.Summary{}
		if err := json.NewDecoder(res.Body).Decode(&sum); err != nil {
			return false
		}
		for _, p := range sum.Pods {
			if p.PodRef.Name == "busy" && p.CPU != nil && p.CPU.UsageNanoCores != nil && len(p.Containers) == 1 {
				return true
			}
		}
		time.Sleep(time.Second) // rates need two samples apart
		return false
	})
	if sum.Node.NodeName != n.cfg.NodeName || sum.Node.CPU == nil || sum.Node.CPU.UsageCoreNanoSeconds == nil ||
		sum.Node.Memory == nil || sum.Node.Memory.WorkingSetBytes == nil || *sum.Node.Memory.WorkingSetBytes == 0 {
		t.Fatalf("node stats %+v", sum.Node)
	}
	for _, p := range sum.Pods {
		if p.PodRef.Name != "busy" {
			continue
		}
		ctr := p.Containers[0]
		// A busy loop uses a good share of a core.
		if ctr.Name != "main" || *ctr.CPU.UsageNanoCores < 100_000_000 || *ctr.Memory.WorkingSetBytes == 0 {
			t.Fatalf("container stats: cpu %d nanocores, memory %d", *ctr.CPU.UsageNanoCores, *ctr.Memory.WorkingSetBytes)
		}
	}
	res, err := http.Get(n.url(t) + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
}

// TestAgentRestartAdoptsContainers: stopping and starting the agent does
// not restart containers: the same processes keep running, with the same
// address, and the new agent manages them (deletion works).
func TestAgentRestartAdoptsContainers(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	side := c.busybox("side", "exec httpd -f -p 80 -h /www")
	side.ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(80)}}, PeriodSeconds: 1}
	createPod(t, c, n.pod("steady", c.busybox("main", counterScript), side))
	p := waitPod(t, ctx, c, "default", "steady", "Running and Ready", func(p *v1.Pod) bool { return running(p) && ready(p) })
	readySince := podCondition(p, v1.PodReady).LastTransitionTime
	pids := map[string]int{}
	for _, name := range []string{"main", "side"} {
		pids[name] = n.containerPID(t, containerStatus(p, name))
	}
	ip := p.Status.PodIP

	n.stop()
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("container %s (pid %d) died with the agent: %v", name, pid, err)
		}
	}
	n.start()
	// The new agent serves the running container's logs (it adopted it).
	waitFor(t, ctx, "logs from the new agent", func() bool {
		res, err := http.Get(n.url(t) + "/containerLogs/default/steady/main?tailLines=1")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	time.Sleep(2 * time.Second) // let the new agent sync and write status
	p = waitPod(t, ctx, c, "default", "steady", "Running", running)
	for name, pid := range pids {
		cs := containerStatus(p, name)
		if got := n.containerPID(t, cs); got != pid || cs.RestartCount != 0 {
			t.Fatalf("container %s: pid %d → %d, restarts %d", name, pid, got, cs.RestartCount)
		}
	}
	if p.Status.PodIP != ip {
		t.Fatalf("pod IP %s → %s", ip, p.Status.PodIP)
	}
	// Ready never flapped: the condition did not transition.
	if r := podCondition(p, v1.PodReady); r.Status != v1.ConditionTrue || !r.LastTransitionTime.Equal(&readySince) {
		t.Fatalf("Ready %+v, was True since %s", r, readySince)
	}
	if body, err := httpGetIn(ctx, n.netns, "http://"+ip+"/"); err != nil || body != indexHTML {
		t.Fatalf("the pod's server after the restart: %q, %v", body, err)
	}
	if err := c.client().CoreV1().Pods("default").Delete(ctx, "steady", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ctx, c, "default", "steady")
	for name, pid := range pids {
		waitFor(t, ctx, "container "+name+" gone", func() bool { return syscall.Kill(pid, 0) != nil })
	}
}

// TestDeletionLeavesNothing counts namespaces, links, cgroups, mounts and
// addresses before pods and after their deletion.
func TestDeletionLeavesNothing(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	waitFor(t, ctx, "the bridge", func() bool { return slices.Contains(links(t, n.netns), n.cfg.Bridge) })
	beforeLinks := links(t, n.netns)
	beforeMounts := agenttest.MountsUnder(t, n.dir)
	beforeCgroups := containerCgroups(t, n.cfg.CgroupParent)

	graceful := c.busybox("main", `trap 'echo got TERM; exit 0' TERM; while true; do sleep 0.1; done`)
	for i := range 3 {
		pod := n.pod(fmt.Sprintf("gone-%d", i), graceful, c.busybox("side", "exec sleep 3600"))
		pod.Spec.Volumes = []v1.Volume{{Name: "mem", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory}}}}
		pod.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "mem", MountPath: "/mem"}}
		createPod(t, c, pod)
	}
	for i := range 3 {
		waitPod(t, ctx, c, "default", fmt.Sprintf("gone-%d", i), "Running", running)
	}
	if got := len(links(t, n.netns)) - len(beforeLinks); got != 3 {
		t.Fatalf("%d new links for 3 pods, want 3 host veths", got)
	}
	if got := len(containerCgroups(t, n.cfg.CgroupParent)); got == 0 {
		t.Fatal("no container cgroups while pods run")
	}
	// Two graceful deletions (the agent stops the pods and confirms) and a
	// forced one (the pod leaves the API at once; the agent cleans up
	// after a pod it no longer sees).
	zero := int64(0)
	for i, opts := range []metav1.DeleteOptions{{}, {}, {GracePeriodSeconds: &zero}} {
		if err := c.client().CoreV1().Pods("default").Delete(ctx, fmt.Sprintf("gone-%d", i), opts); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		waitGone(t, ctx, c, "default", fmt.Sprintf("gone-%d", i))
	}
	if !hasEvent(c, "default", "gone-0", "Killing", "Stopping container main") {
		t.Errorf("no Killing event:\n%s", events(c, "default", "gone-0"))
	}
	// The agent removed everything (confirmation of the deletion comes
	// after the cleanup; the directory goes with the informer's delete).
	waitFor(t, ctx, "pod directories removed", func() bool {
		ents, _ := os.ReadDir(filepath.Join(n.cfg.DataDir, "pods"))
		return len(ents) == 0
	})
	if got := links(t, n.netns); !slices.Equal(got, beforeLinks) {
		t.Errorf("links %v, before %v", got, beforeLinks)
	}
	// The pin directory itself becomes a shared mount with the first pod
	// (as /run/netns does with `ip netns add`) and stays: node state, not
	// a pod's.
	pinDir := filepath.Join(n.cfg.RunDir, "netns")
	if got := slices.DeleteFunc(agenttest.MountsUnder(t, n.dir), func(m string) bool { return m == pinDir }); !slices.Equal(got, beforeMounts) {
		t.Errorf("mounts %v, before %v", got, beforeMounts)
	}
	if got := containerCgroups(t, n.cfg.CgroupParent); len(got) != len(beforeCgroups) {
		t.Errorf("cgroups %v, before %v", got, beforeCgroups)
	}
	if pins := n.netnsPins(t); len(pins) != 0 {
		t.Errorf("netns pins left: %v", pins)
	}
	ents, _ := os.ReadDir(filepath.Join(n.cfg.DataDir, "containers", "containers"))
	if len(ents) != 0 {
		t.Errorf("container state left: %d", len(ents))
	}
	state, _ := os.ReadFile(filepath.Join(n.cfg.DataDir, "ipam", "state.json"))
	if strings.Contains(string(state), "gone-") {
		t.Errorf("addresses still allocated: %s", state)
	}
}

// TestReplicationController: with the scheduler and the replication
// controller running, an RC of 3 gets 3 Running pods on the node, each
// reachable at its address from the node.
func TestReplicationController(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- manager.RunControllers(mctx, manager.Options{
			Config:      c.api.Config,
			Controllers: []string{manager.Scheduler, manager.Replication},
			Logger:      agenttest.Logger(t),
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	replicas := int32(3)
	rc := &v1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: v1.ReplicationControllerSpec{
			Replicas: &replicas,
			Selector: map[string]string{"app": "web"},
			Template: &v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: v1.PodSpec{Containers: []v1.Container{{
					Name: "web", Image: c.image, Command: []string{"httpd", "-f", "-p", "80", "-h", "/www"},
					Ports: []v1.ContainerPort{{ContainerPort: 80}},
				}}},
			},
		},
	}
	if _, err := c.client().CoreV1().ReplicationControllers("default").Create(ctx, rc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pods []v1.Pod
	waitFor(t, ctx, "3 running pods", func() bool {
		list, err := c.client().CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: labels.Set{"app": "web"}.String()})
		if err != nil {
			return false
		}
		pods = nil
		for _, p := range list.Items {
			if running(&p) && ready(&p) {
				pods = append(pods, p)
			}
		}
		return len(pods) == 3
	})
	seen := map[string]bool{}
	for _, p := range pods {
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil || !n.cfg.PodCIDR.Contains(ip) || seen[p.Status.PodIP] || p.Spec.NodeName != n.cfg.NodeName {
			t.Fatalf("pod %s: ip %s node %s", p.Name, p.Status.PodIP, p.Spec.NodeName)
		}
		seen[p.Status.PodIP] = true
		body, err := httpGetIn(ctx, n.netns, "http://"+p.Status.PodIP+"/")
		if err != nil || body != indexHTML {
			t.Fatalf("GET %s from the node: %q, %v", p.Status.PodIP, body, err)
		}
	}
	// Scale to 0: the pods go away through the agent.
	zero := int32(0)
	cur, err := c.client().CoreV1().ReplicationControllers("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.Replicas = &zero
	if _, err := c.client().CoreV1().ReplicationControllers("default").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		waitGone(t, ctx, c, "default", p.Name)
	}
}

// TestAddressExhaustion: a /30 pod CIDR has one pod address; a second pod
// gets a warning and stays Pending until the first is gone.
func TestAddressExhaustion(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c, func(cfg *agent.Config) { cfg.PodCIDR = netip.MustParsePrefix("10.250.0.0/30") })
	ctx := testCtx(t, 2*time.Minute)
	createPod(t, c, n.pod("first", c.busybox("main", "exec sleep 3600")))
	waitPod(t, ctx, c, "default", "first", "Running", running)
	createPod(t, c, n.pod("second", c.busybox("main", "exec sleep 3600")))
	waitFor(t, ctx, "a FailedCreatePodSandBox event", func() bool {
		return hasEvent(c, "default", "second", "FailedCreatePodSandBox", "no IP address available")
	})
	p, err := c.client().CoreV1().Pods("default").Get(ctx, "second", metav1.GetOptions{})
	if err != nil || p.Status.Phase != v1.PodPending {
		t.Fatalf("second pod: %s, %v", statusString(p), err)
	}
	if err := c.client().CoreV1().Pods("default").Delete(ctx, "first", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p = waitPod(t, ctx, c, "default", "second", "Running", running)
	if p.Status.PodIP != "10.250.0.2" {
		t.Fatalf("second pod IP %s", p.Status.PodIP)
	}
}

// TestReset: after the agent stops with pods running, Reset removes
// every process, cgroup, mount, namespace, link and file it made; a second
// Reset is harmless.
func TestReset(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	createPod(t, c, n.pod("doomed", c.busybox("main", "exec sleep 3600")))
	p := waitPod(t, ctx, c, "default", "doomed", "Running", running)
	pid := n.containerPID(t, containerStatus(p, "main"))
	n.stop()
	rc := agent.ResetConfig{DataDir: n.cfg.DataDir, RunDir: n.cfg.RunDir, CgroupParent: n.cfg.CgroupParent, Bridge: n.cfg.Bridge, HostNetns: n.netns, Logger: agenttest.Logger(t)}
	for range 2 {
		if err := agent.Reset(ctx, rc); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("container process %d survived the reset", pid)
	}
	if d := agenttest.CgroupDirs(t, n.cfg.CgroupParent); len(d) != 0 {
		t.Errorf("cgroups left: %v", d)
	}
	if m := agenttest.MountsUnder(t, n.dir); len(m) != 1 || m[0] != n.netns {
		t.Errorf("mounts left: %v", m)
	}
	if l := links(t, n.netns); !slices.Equal(l, []string{"lo"}) {
		t.Errorf("links left: %v", l)
	}
	for _, d := range []string{n.cfg.DataDir, n.cfg.RunDir} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			ents, _ := os.ReadDir(d)
			t.Errorf("%s left with %d entries", d, len(ents))
		}
	}
}

func podCondition(p *v1.Pod, t v1.PodConditionType) *v1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return &v1.PodCondition{}
}
