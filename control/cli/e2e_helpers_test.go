package cli

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

// cluster is a real tug API server (embedded etcd) that the tests drive
// with the tug CLI in process and with the real kubectl.
type cluster struct {
	t        *testing.T
	env      *apitest.Env
	kubectl  string
	kubecfg  string
	cacheDir string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	env := apitest.Start(t)
	return &cluster{t: t, env: env}
}

// result is what a command printed and its exit code.
type result struct {
	out, err string
	code     int
}

// tug runs the CLI against the cluster, like `tug ARGS -s URL`.
func (c *cluster) tug(args ...string) result { return c.tugIn("", args...) }

func (c *cluster) tugIn(stdin string, args ...string) result {
	c.t.Helper()
	// -s goes right after the command name, before any "--".
	full := append([]string{args[0], "-s", c.env.URL}, args[1:]...)
	out, errOut, code := runCLI(c.t, nil, stdin, full...)
	return result{out, errOut, code}
}

// kubectlPath finds the kubectl the comparisons run (v1.32 in CI).
func kubectlPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("kubectl"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/kubectl"); err == nil {
		return "/usr/bin/kubectl"
	}
	t.Fatal("these tests compare tug's output with kubectl's: install kubectl v1.32 (see .ci/deps)")
	return ""
}

// kubectl runs the real kubectl against the cluster.
func (c *cluster) kubectlRun(args ...string) result {
	c.t.Helper()
	if c.kubectl == "" {
		c.kubectl = kubectlPath(c.t)
		c.kubecfg = c.env.Kubeconfig(c.t)
		c.cacheDir = c.t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.kubectl, append([]string{"--kubeconfig", c.kubecfg, "--cache-dir", c.cacheDir}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+c.cacheDir, "KUBECTL_KUBERC=false")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("running kubectl: %v", err)
	}
	return result{out.String(), errOut.String(), code}
}

// must checks a successful command and returns its output.
func (r result) must(t *testing.T, what string) string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", what, r.code, r.out, r.err)
	}
	return r.out
}

var (
	// ageRe matches the ages kubectl and tug compute when they run: the
	// one second between two runs may change them.
	ageRe    = regexp.MustCompile(`\b\d+(s|m\d*s?|h\d*m?|d\d*h?|y\d*d?)\b`)
	spacesRe = regexp.MustCompile(` {2,}`)
)

// sameOutput compares tug's output with kubectl's: byte for byte, or, if
// an age ticked over between the two runs, with ages masked and column
// padding collapsed.
func sameOutput(t *testing.T, what, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	norm := func(s string) string { return spacesRe.ReplaceAllString(ageRe.ReplaceAllString(s, "AGE"), "  ") }
	if norm(got) == norm(want) {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if norm(gl) != norm(wl) {
			t.Errorf("%s: tug and kubectl differ from line %d:\ntug:     %q\nkubectl: %q\n--- tug ---\n%s\n--- kubectl ---\n%s", what, i+1, gl, wl, got, want)
			return
		}
	}
}

// header is the first line of a table.
func header(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func ptrTo[T any](v T) *T { return &v }

// agent stands in for a node agent's logs and exec endpoints (see
// agent_test.go) on loopback.
type agent struct {
	srv       *httptest.Server
	port      int
	logQuery  chan map[string][]string
	logPath   chan string
	moreLines chan struct{}
}

func startAgent(t *testing.T) *agent {
	t.Helper()
	a := &agent{logQuery: make(chan map[string][]string, 10), logPath: make(chan string, 10), moreLines: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/containerLogs/", func(w http.ResponseWriter, r *http.Request) {
		a.logQuery <- r.URL.Query()
		a.logPath <- r.URL.Path
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("line 1\n"))
		w.(http.Flusher).Flush()
		if r.URL.Query().Get("follow") != "true" {
			w.Write([]byte("line 2\n"))
			return
		}
		select {
		case <-a.moreLines:
			w.Write([]byte("line 2\n"))
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/exec/", func(w http.ResponseWriter, r *http.Request) {
		serveExec(t, w, r, testCommand)
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	_, port, _ := net.SplitHostPort(a.srv.Listener.Addr().String())
	a.port, _ = strconv.Atoi(port)
	return a
}

// registerNode creates a Ready node whose agent endpoint is a.
func (c *cluster) registerNode(name string, a *agent) {
	c.t.Helper()
	ctx := context.Background()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Spec:       corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"}},
	}
	created, err := c.env.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("creating node: %v", err)
	}
	now := metav1.Now()
	created.Status = corev1.NodeStatus{
		Capacity:    corev1.ResourceList{corev1.ResourceCPU: mustQuantity("2"), corev1.ResourceMemory: mustQuantity("4Gi"), corev1.ResourcePods: mustQuantity("110")},
		Allocatable: corev1.ResourceList{corev1.ResourceCPU: mustQuantity("2"), corev1.ResourceMemory: mustQuantity("4Gi"), corev1.ResourcePods: mustQuantity("110")},
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "AgentReady",
			Message: "tug agent is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}},
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: name}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(a.port)}},
		NodeInfo:        corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: "amd64", KernelVersion: "6.18.0", KubeletVersion: "v1.32.0-tug", ContainerRuntimeVersion: "tug://v0.1.0"},
	}
	if _, err := c.env.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		c.t.Fatalf("updating node status: %v", err)
	}
}

// examples is the seed's manifests directory.
func examples(name string) string { return filepath.Join("..", "..", "examples", name) }

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
