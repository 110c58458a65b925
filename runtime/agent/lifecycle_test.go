package agent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tug-sh/tug/runtime/container"
)

// containerPID returns the host PID of a running container (from the
// runtime's state, as a restarted agent would see it).
func (n *node) containerPID(t testing.TB, cs v1.ContainerStatus) int {
	t.Helper()
	rt, err := container.New(container.Config{StateDir: n.cfg.DataDir + "/containers", CgroupParent: n.cfg.CgroupParent})
	if err != nil {
		t.Fatal(err)
	}
	st, err := rt.State(strings.TrimPrefix(cs.ContainerID, "tug://"))
	if err != nil || st.Pid <= 0 {
		t.Fatalf("state of %s: %+v, %v", cs.ContainerID, st, err)
	}
	return st.Pid
}

func TestKilledContainerRestarts(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	main := c.busybox("main", "echo started; exec sleep 3600")
	// Guaranteed: limits (the requests default to them).
	main.Resources.Limits = v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m"), v1.ResourceMemory: resource.MustParse("64Mi")}
	pod := createPod(t, c, n.pod("crashy", main))
	p := waitPod(t, ctx, c, "default", pod.Name, "Running", running)
	pid := n.containerPID(t, containerStatus(p, "main"))
	checkCgroupLimits(t, n, containerStatus(p, "main"), 25000, 64<<20)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p = waitPod(t, ctx, c, "default", pod.Name, "restarted", func(p *v1.Pod) bool {
		cs := containerStatus(p, "main")
		return cs.RestartCount == 1 && cs.State.Running != nil
	})
	cs := containerStatus(p, "main")
	last := cs.LastTerminationState.Terminated
	if last == nil || last.ExitCode != 137 || last.Reason != "Error" {
		t.Fatalf("last state %+v, want terminated 137 Error", cs.LastTerminationState)
	}
	if newPID := n.containerPID(t, cs); newPID == pid {
		t.Fatalf("same PID %d after the restart", pid)
	}
	// Both instances' logs: the previous one through previous=true.
	prev, err := c.client().CoreV1().Pods("default").GetLogs(pod.Name, &v1.PodLogOptions{Previous: true}).DoRaw(ctx)
	if err != nil || string(prev) != "started\n" {
		t.Fatalf("previous log %q, %v", prev, err)
	}
}

func TestOOMKilled(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	hog := c.busybox("hog", "tail /dev/zero") // tail buffers its whole input looking for newlines
	hog.Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")}
	pod := n.pod("oom", hog)
	pod.Spec.RestartPolicy = v1.RestartPolicyNever
	createPod(t, c, pod)
	p := waitPod(t, ctx, c, "default", "oom", "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	term := containerStatus(p, "hog").State.Terminated
	if term == nil || term.Reason != "OOMKilled" || term.ExitCode != 137 {
		t.Fatalf("state %+v, want terminated OOMKilled 137", containerStatus(p, "hog").State)
	}
}

func TestLivenessProbeFailureRestarts(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	web := c.busybox("web", "exec httpd -f -p 8080 -h /www")
	web.Ports = []v1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	web.LivenessProbe = &v1.Probe{
		ProbeHandler:     v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
		PeriodSeconds:    1,
		FailureThreshold: 2,
	}
	web.ReadinessProbe = &v1.Probe{
		ProbeHandler:  v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
		PeriodSeconds: 1,
	}
	createPod(t, c, n.pod("unhealthy", web))
	p := waitPod(t, ctx, c, "default", "unhealthy", "restarted by its liveness probe", func(p *v1.Pod) bool {
		return containerStatus(p, "web").RestartCount >= 1
	})
	if last := containerStatus(p, "web").LastTerminationState.Terminated; last == nil {
		t.Fatalf("no last state: %s", statusString(p))
	}
	if !hasEvent(c, "default", "unhealthy", "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 404") {
		t.Errorf("no Unhealthy event; events:\n%s", events(c, "default", "unhealthy"))
	}
	if !hasEvent(c, "default", "unhealthy", "Killing", "failed liveness probe, will be restarted") {
		t.Errorf("no Killing event; events:\n%s", events(c, "default", "unhealthy"))
	}
	// The readiness probe passes (tcp 8080): the restarted container
	// becomes ready again.
	waitPod(t, ctx, c, "default", "unhealthy", "ready", ready)
}

// TestLivenessProbeInitialDelay is the seed's kube-ui probe (httpGet / on
// 8080, initialDelaySeconds 30): an httpd that serves / is probed after the
// delay, passes, and is never restarted.
func TestLivenessProbeInitialDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a 30s initial delay")
	}
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	ui := c.busybox("kube-ui", "exec httpd -f -vv -p 8080 -h /www")
	ui.Ports = []v1.ContainerPort{{ContainerPort: 8080}}
	// The seed's limits: a Guaranteed pod (its OOM score is the lowest
	// the node allows).
	ui.Resources.Limits = v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m"), v1.ResourceMemory: resource.MustParse("50Mi")}
	ui.LivenessProbe = &v1.Probe{
		ProbeHandler:        v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}},
		InitialDelaySeconds: 30,
		TimeoutSeconds:      5,
	}
	createPod(t, c, n.pod("kube-ui", ui))
	p := waitPod(t, ctx, c, "default", "kube-ui", "Running", running)
	started := containerStatus(p, "kube-ui").State.Running.StartedAt.Time
	// httpd -vv logs every request: wait for the probe's.
	var log string
	for !strings.Contains(log, "url:/") {
		raw, _ := c.client().CoreV1().Pods("default").GetLogs("kube-ui", &v1.PodLogOptions{Timestamps: true}).DoRaw(ctx)
		log = string(raw)
		select {
		case <-ctx.Done():
			t.Fatalf("the liveness probe never came: log %q", log)
		case <-time.After(500 * time.Millisecond):
		}
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "url:/") {
			ts, _, _ := strings.Cut(line, " ")
			at, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				t.Fatal(err)
			}
			if at.Sub(started) < 29*time.Second {
				t.Fatalf("probe at %s, %s after the start: before initialDelaySeconds", at, at.Sub(started))
			}
			break
		}
	}
	p, err := c.client().CoreV1().Pods("default").Get(ctx, "kube-ui", metav1.GetOptions{})
	if err != nil || containerStatus(p, "kube-ui").RestartCount != 0 || !running(p) {
		t.Fatalf("after the probe: %s, %v", statusString(p), err)
	}
}

func TestNonexistentImage(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	bad := v1.Container{Name: "main", Image: c.host + "/nosuch:1"}
	createPod(t, c, n.pod("badimage", bad))
	p := waitPod(t, ctx, c, "default", "badimage", "ErrImagePull", func(p *v1.Pod) bool {
		w := containerStatus(p, "main").State.Waiting
		return w != nil && w.Reason == "ErrImagePull"
	})
	msg := containerStatus(p, "main").State.Waiting.Message
	if !strings.Contains(msg, "nosuch") || !strings.Contains(msg, "NAME_UNKNOWN") && !strings.Contains(msg, "MANIFEST_UNKNOWN") {
		t.Errorf("ErrImagePull message %q lacks the image or the registry's message", msg)
	}
	waitPod(t, ctx, c, "default", "badimage", "ImagePullBackOff", func(p *v1.Pod) bool {
		w := containerStatus(p, "main").State.Waiting
		return w != nil && w.Reason == "ImagePullBackOff" && strings.Contains(w.Message, "nosuch")
	})
	if p.Status.Phase != v1.PodPending {
		t.Errorf("phase %s, want Pending", p.Status.Phase)
	}
	if !hasEvent(c, "default", "badimage", "Failed", "Failed to pull image") {
		t.Errorf("no Failed event; events:\n%s", events(c, "default", "badimage"))
	}
	// The agent is fine: another pod runs.
	createPod(t, c, n.pod("good", c.busybox("main", "exec sleep 3600")))
	waitPod(t, ctx, c, "default", "good", "Running", running)
}

func TestUnknownCommand(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	ctr := v1.Container{Name: "main", Image: c.image, Command: []string{"no-such-command"}}
	createPod(t, c, n.pod("nocmd", ctr))
	p := waitPod(t, ctx, c, "default", "nocmd", "a start error", func(p *v1.Pod) bool {
		cs := containerStatus(p, "main")
		w := cs.State.Waiting
		last := cs.LastTerminationState.Terminated
		return w != nil && (w.Reason == "RunContainerError" || w.Reason == "CrashLoopBackOff") && last != nil && last.Reason == "StartError"
	})
	cs := containerStatus(p, "main")
	if !strings.Contains(cs.LastTerminationState.Terminated.Message, "no-such-command") {
		t.Errorf("StartError message %q does not name the command", cs.LastTerminationState.Terminated.Message)
	}
	waitPod(t, ctx, c, "default", "nocmd", "CrashLoopBackOff", func(p *v1.Pod) bool {
		w := containerStatus(p, "main").State.Waiting
		return w != nil && w.Reason == "CrashLoopBackOff"
	})
	createPod(t, c, n.pod("fine", c.busybox("main", "exec sleep 3600")))
	waitPod(t, ctx, c, "default", "fine", "Running", running)
}

func TestInitContainersAndEnvironment(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	vol := v1.VolumeMount{Name: "shared", MountPath: "/shared"}
	init1 := c.busybox("init", "echo from-init > /shared/file")
	init1.VolumeMounts = []v1.VolumeMount{vol}
	main := v1.Container{
		Name:    "main",
		Image:   c.image,
		Command: []string{"sh", "-c"},
		Args:    []string{`echo "$(GREETING) name=$MY_NAME ns=$MY_NS ip=$MY_IP file=$(cat /shared/file) user=$(id -u)" escaped='$$(GREETING)'; exec sleep 3600`},
		Env: []v1.EnvVar{
			{Name: "WHO", Value: "world"},
			{Name: "GREETING", Value: "hello-$(WHO)"},
			{Name: "MY_NAME", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "MY_NS", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "MY_IP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		},
		VolumeMounts: []v1.VolumeMount{vol},
	}
	uid := int64(1000)
	main.SecurityContext = &v1.SecurityContext{RunAsUser: &uid}
	pod := n.pod("initenv", main)
	pod.Spec.InitContainers = []v1.Container{init1}
	pod.Spec.Volumes = []v1.Volume{{Name: "shared", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
	createPod(t, c, pod)
	p := waitPod(t, ctx, c, "default", "initenv", "Running", running)
	if term := containerStatus(p, "init").State.Terminated; term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
		t.Fatalf("init container: %s", statusString(p))
	}
	var log string
	for !strings.Contains(log, "\n") {
		raw, _ := c.client().CoreV1().Pods("default").GetLogs("initenv", &v1.PodLogOptions{Container: "main"}).DoRaw(ctx)
		log = string(raw)
		select {
		case <-ctx.Done():
			t.Fatalf("log %q", log)
		case <-time.After(100 * time.Millisecond):
		}
	}
	// $$(GREETING) is an escaped reference: the literal $(GREETING).
	want := "hello-world name=initenv ns=default ip=" + p.Status.PodIP + " file=from-init user=1000 escaped=$(GREETING)\n"
	if log != want {
		t.Fatalf("log\n%q\nwant\n%q", log, want)
	}
}

// TestCrashLoopBackOff: a container that keeps failing is restarted after
// growing delays, shown as CrashLoopBackOff.
func TestCrashLoopBackOff(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	createPod(t, c, n.pod("loop", c.busybox("main", "echo once; exit 3")))
	p := waitPod(t, ctx, c, "default", "loop", "CrashLoopBackOff", func(p *v1.Pod) bool {
		w := containerStatus(p, "main").State.Waiting
		return w != nil && w.Reason == "CrashLoopBackOff" && containerStatus(p, "main").RestartCount >= 1
	})
	cs := containerStatus(p, "main")
	if last := cs.LastTerminationState.Terminated; last == nil || last.ExitCode != 3 || last.Reason != "Error" {
		t.Fatalf("last state %+v", cs.LastTerminationState)
	}
	if !strings.Contains(cs.State.Waiting.Message, "back-off 10s") {
		t.Errorf("waiting message %q, want the 10s backoff", cs.State.Waiting.Message)
	}
	if p.Status.Phase != v1.PodRunning {
		t.Errorf("phase %s, want Running (restartPolicy Always)", p.Status.Phase)
	}
	if !hasEvent(c, "default", "loop", "BackOff", "Back-off restarting failed container") {
		t.Errorf("no BackOff event:\n%s", events(c, "default", "loop"))
	}
}

func TestCompletedPod(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	pod := n.pod("job", c.busybox("main", "echo done; echo -n bye > /dev/termination-log"))
	pod.Spec.RestartPolicy = v1.RestartPolicyOnFailure
	createPod(t, c, pod)
	p := waitPod(t, ctx, c, "default", "job", "Succeeded", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodSucceeded })
	term := containerStatus(p, "main").State.Terminated
	if term == nil || term.ExitCode != 0 || term.Reason != "Completed" || term.Message != "bye" {
		t.Fatalf("state %+v, want Completed with the termination message", containerStatus(p, "main").State)
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == v1.PodReady && (cond.Status != v1.ConditionFalse || cond.Reason != "PodCompleted") {
			t.Errorf("Ready condition %+v, want False PodCompleted", cond)
		}
	}
	// The finished pod's network is released at once.
	waitFor(t, ctx, "the sandbox removed", func() bool { return len(n.netnsPins(t)) == 0 })
	// Logs stay readable until the pod is deleted.
	raw, err := c.client().CoreV1().Pods("default").GetLogs("job", &v1.PodLogOptions{}).DoRaw(ctx)
	if err != nil || string(raw) != "done\n" {
		t.Fatalf("log %q, %v", raw, err)
	}
}

func waitFor(t testing.TB, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkCgroupLimits reads the container's CFS quota (per 100ms period) and
// memory limit from its cgroup (v1 or v2).
func checkCgroupLimits(t *testing.T, n *node, cs v1.ContainerStatus, quota, memory int64) {
	t.Helper()
	id := strings.TrimPrefix(cs.ContainerID, "tug://")
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	rel := filepath.Join(n.cfg.CgroupParent, id)
	if max := read(filepath.Join("/sys/fs/cgroup", rel, "cpu.max")); max != "" { // v2
		if want := fmt.Sprintf("%d 100000", quota); max != want {
			t.Errorf("cpu.max %q, want %q", max, want)
		}
		if got := read(filepath.Join("/sys/fs/cgroup", rel, "memory.max")); got != strconv.FormatInt(memory, 10) {
			t.Errorf("memory.max %q, want %d", got, memory)
		}
		return
	}
	if got := read(filepath.Join("/sys/fs/cgroup/cpu", rel, "cpu.cfs_quota_us")); got != strconv.FormatInt(quota, 10) {
		t.Errorf("cpu.cfs_quota_us %q, want %d", got, quota)
	}
	if got := read(filepath.Join("/sys/fs/cgroup/memory", rel, "memory.limit_in_bytes")); got != strconv.FormatInt(memory, 10) {
		t.Errorf("memory.limit_in_bytes %q, want %d", got, memory)
	}
}
