package e2eagent

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/tug-sh/tug/control/apiserver/apitest"
	"github.com/tug-sh/tug/control/cli"
	"github.com/tug-sh/tug/runtime/image/imagebuild"
	"github.com/tug-sh/tug/runtime/image/imagetest"

	"github.com/tug-sh/tug/runtime/agent/agenttest"
)

// Thresholds a real measurement clears with room: a busy loop keeps a
// good share of a core even on a loaded two-core machine (runtime/agent's
// own stats test uses the same figure), and a shell holding a 24 MB
// string has at least that much in its working set (the shell must stay:
// busybox sh execs a last simple command in its place, hence the loop).
const (
	minBusyMilliCores = 100
	minHoldMiB        = 20
)

// TestTopWithRealAgent runs a pod with a CPU-bound container and one that
// holds memory on a real agent, and reads their usage through the API
// server with tug top and the real kubectl top, and the node's summary
// through nodes/proxy.
func TestTopWithRealAgent(t *testing.T) {
	agenttest.RequireRoot(t)
	env := apitest.Start(t)
	host := imagetest.StartRegistry(t)
	image := imagetest.Push(t, host, "busybox:1", imagetest.MustBusyboxImage(t, imagebuild.BusyboxOptions{}))
	n := startNode(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	grace := int64(1)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "burn", Namespace: "default", Labels: map[string]string{"app": "burn"}},
		Spec: corev1.PodSpec{
			NodeName:                      n.name,
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{
				{Name: "spin", Image: image, Command: []string{"sh", "-c", "while :; do :; done"}},
				{Name: "hold", Image: image, Command: []string{"sh", "-c", `x=$(head -c 24000000 /dev/zero | tr '\0' a); while :; do sleep 3600; done`}},
			},
		},
	}
	if _, err := env.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Wait through the metrics API until both containers are measured
	// busy and full (the image pull, the start and the shell's string
	// take a moment).
	mc, err := metricsclient.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	var last string
	for {
		pm, err := mc.MetricsV1beta1().PodMetricses("default").Get(ctx, "burn", metav1.GetOptions{})
		if err == nil && len(pm.Containers) == 2 {
			u := map[string]corev1.ResourceList{}
			for _, c := range pm.Containers {
				u[c.Name] = c.Usage
			}
			spin, hold := u["spin"], u["hold"]
			last = "spin " + spin.Cpu().String() + ", hold " + hold.Memory().String()
			if spin.Cpu().MilliValue() >= minBusyMilliCores && hold.Memory().Value() >= minHoldMiB<<20 {
				break
			}
		} else {
			last = "err " + errString(err)
		}
		select {
		case <-ctx.Done():
			p, _ := env.Client.CoreV1().Pods("default").Get(context.Background(), "burn", metav1.GetOptions{})
			t.Fatalf("the pod's metrics never showed it busy and full; last: %s; pod status: %+v", last, p.Status)
		case <-time.After(time.Second):
		}
	}

	// tug top and kubectl top print the same table shape and see the
	// same usage (measured at slightly different times).
	kubectl := newKubectl(t, env)
	podRow := regexp.MustCompile(`(?m)^burn +(\S+) +(\d+)m +(\d+)Mi +$`)
	for _, run := range []struct {
		name string
		out  string
	}{
		{"tug top pods --containers", tug(t, env, "top", "pods", "--containers")},
		{"kubectl top pods --containers", kubectl("top", "pods", "--containers")},
	} {
		if !strings.HasPrefix(run.out, "POD    NAME   CPU(cores)   MEMORY(bytes)   \n") {
			t.Errorf("%s: header:\n%s", run.name, run.out)
		}
		rows := podRow.FindAllStringSubmatch(run.out, -1)
		if len(rows) != 2 {
			t.Fatalf("%s: want a row per container:\n%s", run.name, run.out)
		}
		for _, r := range rows {
			cpu, _ := strconv.Atoi(r[2])
			mem, _ := strconv.Atoi(r[3])
			if (r[1] == "spin" && cpu < minBusyMilliCores) || (r[1] == "hold" && mem < minHoldMiB) {
				t.Errorf("%s: %s uses %dm and %dMi:\n%s", run.name, r[1], cpu, mem, run.out)
			}
		}
	}
	nodeRow := regexp.MustCompile(`(?m)^` + n.name + ` +(\d+)m +(\d+)% +(\d+)Mi +(\d+)% +$`)
	for _, run := range []struct {
		name string
		out  string
	}{
		{"tug top nodes", tug(t, env, "top", "nodes")},
		{"kubectl top nodes", kubectl("top", "nodes")},
	} {
		m := nodeRow.FindStringSubmatch(run.out)
		if m == nil || !strings.HasPrefix(run.out, "NAME ") {
			t.Fatalf("%s: no row for %s:\n%s", run.name, n.name, run.out)
		}
		// The node runs the busy loop, and some memory is in use.
		if cpu, _ := strconv.Atoi(m[1]); cpu < minBusyMilliCores {
			t.Errorf("%s: node CPU %dm", run.name, cpu)
		}
		if mem, _ := strconv.Atoi(m[3]); mem < minHoldMiB {
			t.Errorf("%s: node memory %dMi", run.name, mem)
		}
	}

	// The agent's own document through nodes/proxy.
	raw, err := env.Client.CoreV1().RESTClient().Get().Resource("nodes").Name(n.name).SubResource("proxy").Suffix("stats/summary").DoRaw(ctx)
	if err != nil {
		t.Fatalf("nodes/%s/proxy/stats/summary: %v", n.name, err)
	}
	var sum struct {
		Node struct {
			NodeName string `json:"nodeName"`
		} `json:"node"`
		Pods []struct {
			PodRef struct {
				Name string `json:"name"`
			} `json:"podRef"`
			Containers []struct {
				Name string `json:"name"`
			} `json:"containers"`
		} `json:"pods"`
	}
	if err := json.Unmarshal(raw, &sum); err != nil || sum.Node.NodeName != n.name || len(sum.Pods) != 1 || sum.Pods[0].PodRef.Name != "burn" || len(sum.Pods[0].Containers) != 2 {
		t.Errorf("summary through nodes/proxy: %v\n%s", err, raw)
	}
	if testing.Verbose() {
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, raw, "", "  ")
		t.Logf("the agent's summary:\n%s", pretty.String())
	}
}

// tug runs the tug CLI in process against env and returns what it printed;
// it fails the test on a non-zero exit.
func tug(t *testing.T, env *apitest.Env, args ...string) string {
	t.Helper()
	for _, c := range cli.Commands(cli.Options{ClientVersion: "test"}) {
		if c.Name != args[0] {
			continue
		}
		var out, errOut bytes.Buffer
		code := c.Run(context.Background(), append(args[1:], "-s", env.URL), cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		if code != 0 {
			t.Fatalf("tug %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
		}
		return out.String()
	}
	t.Fatalf("no command %q", args[0])
	return ""
}

const kubectlPath = "/usr/bin/kubectl"

// newKubectl returns a runner of the real kubectl against env, isolated
// from the user's configuration and cache.
func newKubectl(t *testing.T, env *apitest.Env) func(args ...string) string {
	if _, err := os.Stat(kubectlPath); err != nil {
		t.Fatalf("this test compares with kubectl: install kubectl v1.32 at %s: %v", kubectlPath, err)
	}
	kubeconfig, home := env.Kubeconfig(t), t.TempDir()
	return func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, kubectlPath, append([]string{"--kubeconfig=" + kubeconfig, "--cache-dir=" + filepath.Join(home, "cache")}, args...)...)
		cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl %s: %v: %s", strings.Join(args, " "), err, errString(err))
		}
		return string(out)
	}
}

func errString(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
