package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

func usageOf(cpu, memory string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: mustQuantity(cpu), corev1.ResourceMemory: mustQuantity(memory)}
}

func TestPrintNodeMetrics(t *testing.T) {
	node := func(name, cpu, memory string) metricsv1beta1.NodeMetrics {
		return metricsv1beta1.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: name}, Usage: usageOf(cpu, memory)}
	}
	items := []metricsv1beta1.NodeMetrics{node("b", "1999999n", "1048575"), node("a", "1500m", "3Gi"), node("c", "250m", "5Gi")}
	available := map[string]corev1.ResourceList{
		"a": usageOf("2", "4Gi"), "b": usageOf("3", "8Gi"), "c": usageOf("0", "6Gi"), "gone": usageOf("1", "1Gi"), "also-gone": usageOf("1", "1Gi"),
	}
	tests := []struct {
		name      string
		available map[string]corev1.ResourceList
		noHeaders bool
		sortBy    string
		want      string
	}{
		{"by name, missing nodes last; CPU rounded up, memory and shares down; zero allocatable is 0%", available, false, "", "" +
			"NAME        CPU(cores)   CPU(%)      MEMORY(bytes)   MEMORY(%)   \n" +
			"a           1500m        75%         3072Mi          75%         \n" +
			"b           2m           0%          0Mi             0%          \n" +
			"c           250m         0%          5120Mi          83%         \n" +
			"also-gone   <unknown>    <unknown>   <unknown>       <unknown>   \n" +
			"gone        <unknown>    <unknown>   <unknown>       <unknown>   \n"},
		{"by cpu, no headers", map[string]corev1.ResourceList{"a": available["a"], "b": available["b"], "c": available["c"]}, true, "cpu", "" +
			"a     1500m   75%   3072Mi   75%   \n" +
			"c     250m    0%    5120Mi   83%   \n" +
			"b     2m      0%    0Mi      0%    \n"},
		// kubectl's tabwriter aligns a column only over consecutive rows
		// that have it.
		{"by memory; a node the nodes list lacks has no shares", map[string]corev1.ResourceList{"a": available["a"]}, false, "memory", "" +
			"NAME   CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)   \n" +
			"c      250m         5120Mi   \n" +
			"a      1500m        75%      3072Mi   75%   \n" +
			"b      2m           0Mi      \n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := printNodeMetrics(&out, items, tt.available, tt.noHeaders, tt.sortBy); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tt.name, out.String(), tt.want)
		}
	}
	var out bytes.Buffer
	if err := printNodeMetrics(&out, nil, available, false, ""); err != nil || out.Len() != 0 {
		t.Errorf("no metrics printed %q, %v", out.String(), err)
	}
}

func TestPrintPodMetrics(t *testing.T) {
	pod := func(ns, name string, containers ...metricsv1beta1.ContainerMetrics) metricsv1beta1.PodMetrics {
		return metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Containers: containers}
	}
	ctr := func(name, cpu, memory string) metricsv1beta1.ContainerMetrics {
		return metricsv1beta1.ContainerMetrics{Name: name, Usage: usageOf(cpu, memory)}
	}
	items := []metricsv1beta1.PodMetrics{
		pod("default", "web", ctr("sidecar", "20m", "16Mi"), ctr("nginx", "100500u", "64Mi")),
		pod("kube-system", "dns", ctr("dns", "5m", "300Mi")),
		pod("default", "db", ctr("db", "250m", "256Mi")),
	}
	tests := []struct {
		name                                string
		containers, withNamespace, noHeader bool
		sortBy                              string
		want                                string
	}{
		{"sums by name", false, false, false, "", "" +
			"NAME   CPU(cores)   MEMORY(bytes)   \n" +
			"db     250m         256Mi           \n" +
			"dns    5m           300Mi           \n" +
			"web    121m         80Mi            \n"},
		{"all namespaces, containers", true, true, false, "", "" +
			"NAMESPACE     POD   NAME      CPU(cores)   MEMORY(bytes)   \n" +
			"default       db    db        250m         256Mi           \n" +
			"default       web   nginx     101m         64Mi            \n" +
			"default       web   sidecar   20m          16Mi            \n" +
			"kube-system   dns   dns       5m           300Mi           \n"},
		{"by memory, containers by memory too", true, false, true, "memory", "" +
			"dns   dns       5m     300Mi   \n" +
			"db    db        250m   256Mi   \n" +
			"web   nginx     101m   64Mi    \n" +
			"web   sidecar   20m    16Mi    \n"},
		{"by cpu with namespaces", false, true, false, "cpu", "" +
			"NAMESPACE     NAME   CPU(cores)   MEMORY(bytes)   \n" +
			"default       db     250m         256Mi           \n" +
			"default       web    121m         80Mi            \n" +
			"kube-system   dns    5m           300Mi           \n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := printPodMetrics(&out, items, tt.containers, tt.withNamespace, tt.noHeader, tt.sortBy); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tt.name, out.String(), tt.want)
		}
	}
}

// topCluster is a tug API server with two stand-in node agents serving
// steady usage, pods on them, a node without an agent and an unscheduled
// pod.
func newTopCluster(t *testing.T) *cluster {
	t.Helper()
	c := newCluster(t)
	a := c.env.StartStatsAgent(t, "node-a", apitest.Allocatable("2", "4Gi"), apitest.Usage{MilliCores: 730, MemoryBytes: 1536 << 20})
	b := c.env.StartStatsAgent(t, "node-b", apitest.Allocatable("4", "16Gi"), apitest.Usage{MilliCores: 2100, MemoryBytes: 3 << 30})
	c.registerNode("bare", &agent{}) // port 0: no agent endpoint
	web := c.topPod("default", "web", "node-a", "nginx", "log")
	a.AddPod(web, apitest.ContainerUsage{Name: "nginx", Usage: apitest.Usage{MilliCores: 150, MemoryBytes: 96 << 20}},
		apitest.ContainerUsage{Name: "log", Usage: apitest.Usage{MilliCores: 3, MemoryBytes: 12 << 20}})
	db := c.topPod("default", "db", "node-b", "db")
	b.AddPod(db, apitest.ContainerUsage{Name: "db", Usage: apitest.Usage{MilliCores: 420, MemoryBytes: 700 << 20}})
	dns := c.topPod("kube-system", "dns", "node-b", "dns")
	b.AddPod(dns, apitest.ContainerUsage{Name: "dns", Usage: apitest.Usage{MilliCores: 2, MemoryBytes: 20 << 20}})
	c.topPod("waiting", "new", "", "c")
	return c
}

// topPod creates a pod labelled app=NAME with the named containers,
// bound to node unless node is "".
func (c *cluster) topPod(ns, name, node string, containers ...string) *corev1.Pod {
	c.t.Helper()
	ctx := context.Background()
	core := c.env.Client.CoreV1()
	if ns != "default" && ns != "kube-system" {
		if _, err := core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			c.t.Fatal(err)
		}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}}, Spec: corev1.PodSpec{NodeName: node}}
	for _, cn := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: cn, Image: "busybox"})
	}
	created, err := core.Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	return created
}

// TestTopMatchesKubectl runs tug top and the real kubectl top against the
// same server and compares what they print, byte for byte.
func TestTopMatchesKubectl(t *testing.T) {
	c := newTopCluster(t)
	for _, args := range [][]string{
		{"top", "nodes"},
		{"top", "node", "node-b"},
		{"top", "no", "--sort-by=cpu", "--no-headers"},
		{"top", "nodes", "--sort-by=memory"},
		{"top", "nodes", "-l", "kubernetes.io/hostname=bare"},
		{"top", "nodes", "ghost"},
		{"top", "pods"},
		{"top", "pods", "-A"},
		{"top", "pods", "-A", "--containers"},
		{"top", "pod", "web", "--containers"},
		{"top", "po", "-A", "--sort-by=memory"},
		{"top", "pods", "-n", "kube-system", "-l", "app=dns"},
		{"top", "pods", "-n", "empty"},
		{"top", "pods", "-n", "waiting"},
		{"top", "pods", "new", "-n", "waiting"},
		{"top", "pods", "--sort-by=size"},
	} {
		what := strings.Join(args, " ")
		got, want := c.tug(args...), c.kubectlRun(args...)
		if got.code != want.code {
			t.Errorf("%s: tug exit %d, kubectl exit %d\ntug:\n%s%s\nkubectl:\n%s%s", what, got.code, want.code, got.out, got.err, want.out, want.err)
			continue
		}
		// Byte for byte: top prints no ages, and sameOutput's age masking
		// would hide millicores.
		if got.out != want.out || got.err != want.err {
			t.Errorf("%s: tug and kubectl differ\n--- tug ---\n%s%s--- kubectl ---\n%s%s", what, got.out, got.err, want.out, want.err)
		}
		if testing.Verbose() {
			t.Logf("%s (exit %d):\n%s%s", what, got.code, got.out, got.err)
		}
	}
	// A sample of what they agree on, so that both being wrong fails too.
	want := "NAME     CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)   \nnode-b   2100m        52%      3072Mi          18%         \n"
	if r := c.tug("top", "node", "node-b"); r.out != want {
		t.Errorf("tug top node node-b:\n%s\nwant:\n%s", r.out, want)
	}
	want = "POD   NAME    CPU(cores)   MEMORY(bytes)   \nweb   log     3m           12Mi            \nweb   nginx   150m         96Mi            \n"
	if r := c.tug("top", "pod", "web", "--containers"); r.out != want {
		t.Errorf("tug top pod web --containers:\n%s\nwant:\n%s", r.out, want)
	}
}

func TestTopErrors(t *testing.T) {
	c := newCluster(t)
	for _, tt := range []struct {
		args []string
		err  string
	}{
		{[]string{"top"}, "error: you must say what to show: tug top nodes [NAME] or tug top pods [NAME]\n"},
		{[]string{"top", "services"}, "error: tug top shows nodes or pods, not \"services\"\n"},
		{[]string{"top", "pods", "a", "b"}, "error: unexpected arguments [\"b\"]: tug top pods takes at most one name\n"},
		{[]string{"top", "pods", "a", "-l", "app=a"}, "error: only one of NAME or --selector can be provided\n"},
		{[]string{"top", "pods", "a", "-A"}, "error: a pod name and -A do not go together: name the pod's namespace with -n\n"},
		{[]string{"top", "nodes", "--containers"}, "error: -A and --containers are for pods: tug top pods -A --containers\n"},
		{[]string{"top", "nodes", "--sort-by=name"}, "error: --sort-by accepts only cpu or memory\n"},
		{[]string{"top", "nodes"}, "error: metrics not available yet\n"},
	} {
		if r := c.tug(tt.args...); r.code != 1 || r.out != "" || r.err != tt.err {
			t.Errorf("tug %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", strings.Join(tt.args, " "), r.code, r.out, r.err, tt.err)
		}
	}

	// A server without the metrics API (Kubernetes without
	// metrics-server) gets a clear answer rather than a 404.
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api":
			w.Write([]byte(`{"kind":"APIVersions","versions":["v1"]}`))
		case "/apis":
			w.Write([]byte(`{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(old.Close)
	_, errOut, code := runCLI(t, nil, "", "top", "pods", "-s", old.URL)
	if want := "error: Metrics API not available: " + old.URL + " does not serve metrics.k8s.io/v1beta1 (on Kubernetes, install metrics-server)\n"; code != 1 || errOut != want {
		t.Errorf("top against a server without metrics: exit %d, %q; want %q", code, errOut, want)
	}
}

// TestTopPodsLongWithoutMetrics checks the message for pods that have gone
// without metrics past kubectl's grace period (the clock is the CLI's).
func TestTopPodsLongWithoutMetrics(t *testing.T) {
	c := newTopCluster(t)
	later := func() time.Time { return time.Now().Add(3 * time.Minute) }
	var out, errOut bytes.Buffer
	for _, cmd := range Commands(Options{Now: later}) {
		if cmd.Name == "top" {
			code := cmd.Run(context.Background(), []string{"pods", "-n", "waiting", "-s", c.env.URL}, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			if code != 1 || !strings.HasPrefix(errOut.String(), "error: Metrics not available for pod waiting/new, age: 3m") {
				t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
			}
		}
	}
}
