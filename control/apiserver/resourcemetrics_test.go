package apiserver_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

// metricsCluster is an API server with two stand-in agents and pods on
// them:
//
//	node-a  2 cores, 4Gi: node 500m 1Gi; default/web (nginx 100m 64Mi,
//	        sidecar 20m 16Mi), kube-system/dns (5m 10Mi)
//	node-b  4 cores, 8Gi: node 1500m 2Gi; default/db (250m 256Mi)
//	bare    no agent endpoint
//
// and default/pending, not scheduled.
type metricsCluster struct {
	env          *apitest.Env
	nodeA, nodeB *apitest.StatsAgent
}

func newMetricsCluster(t *testing.T) *metricsCluster {
	t.Helper()
	env := apitest.Start(t)
	c := &metricsCluster{env: env}
	c.nodeA = env.StartStatsAgent(t, "node-a", apitest.Allocatable("2", "4Gi"), apitest.Usage{MilliCores: 500, MemoryBytes: 1 << 30})
	c.nodeB = env.StartStatsAgent(t, "node-b", apitest.Allocatable("4", "8Gi"), apitest.Usage{MilliCores: 1500, MemoryBytes: 2 << 30})
	registerNode(t, env, "bare", "")
	web := c.createPod(t, "default", "web", "node-a", "nginx", "sidecar")
	c.nodeA.AddPod(web,
		apitest.ContainerUsage{Name: "sidecar", Usage: apitest.Usage{MilliCores: 20, MemoryBytes: 16 << 20}},
		apitest.ContainerUsage{Name: "nginx", Usage: apitest.Usage{MilliCores: 100, MemoryBytes: 64 << 20}})
	dns := c.createPod(t, "kube-system", "dns", "node-a", "dns")
	c.nodeA.AddPod(dns, apitest.ContainerUsage{Name: "dns", Usage: apitest.Usage{MilliCores: 5, MemoryBytes: 10 << 20}})
	db := c.createPod(t, "default", "db", "node-b", "db")
	c.nodeB.AddPod(db, apitest.ContainerUsage{Name: "db", Usage: apitest.Usage{MilliCores: 250, MemoryBytes: 256 << 20}})
	c.createPod(t, "default", "pending", "", "c")
	return c
}

// createPod creates a pod with the named containers, bound to node
// unless node is "".
func (c *metricsCluster) createPod(t *testing.T, ns, name, node string, containers ...string) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}}}
	for _, cn := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: cn, Image: "busybox"})
	}
	pod, err := c.env.Client.CoreV1().Pods(ns).Create(ctx(t), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node != "" {
		bind(t, c.env, ns, name, node)
	}
	return pod
}

func TestResourceMetricsAPI(t *testing.T) {
	c := newMetricsCluster(t)
	mc, err := metricsclient.NewForConfig(c.env.Config)
	if err != nil {
		t.Fatal(err)
	}
	m := mc.MetricsV1beta1()

	// Nodes: the stand-ins' usage exactly, over one sample step; the node
	// without an agent is left out. The first read of a node needs two
	// readings of its counters, later ones one.
	nodes, err := m.NodeMetricses().List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.nodeA.Requests()); n != 2 {
		t.Errorf("the first node metrics read node-a %d times, want 2", n)
	}
	if nodes, err = m.NodeMetricses().List(ctx(t), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := len(c.nodeA.Requests()); n != 3 {
		t.Errorf("the first two node metrics read node-a %d times, want 3", n)
	}
	got := map[string]string{}
	for _, n := range nodes.Items {
		got[n.Name] = usageString(n.Usage)
		if n.Window.Duration != apitest.SampleStep || n.Timestamp.IsZero() {
			t.Errorf("node %s: window %v, timestamp %v", n.Name, n.Window, n.Timestamp)
		}
	}
	if len(got) != 2 || got["node-a"] != "500m 1Gi" || got["node-b"] != "1500m 2Gi" {
		t.Errorf("node metrics: %v", got)
	}
	one, err := m.NodeMetricses().Get(ctx(t), "node-b", metav1.GetOptions{})
	if err != nil || usageString(one.Usage) != "1500m 2Gi" {
		t.Errorf("node-b metrics: %v %+v", err, one)
	}
	if l, err := m.NodeMetricses().List(ctx(t), metav1.ListOptions{FieldSelector: "metadata.name=node-a"}); err != nil || len(l.Items) != 1 || l.Items[0].Name != "node-a" {
		t.Errorf("node metrics by field selector: %v %+v", err, l)
	}

	// Pods: per container, by namespace, by label; the unscheduled pod has
	// none.
	pods, err := m.PodMetricses("default").List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := podsString(pods.Items); s != "default/db[db=250m 256Mi] default/web[nginx=100m 64Mi sidecar=20m 16Mi]" {
		t.Errorf("default pod metrics: %s", s)
	}
	for _, p := range pods.Items {
		// The stand-in's clock moves a step per request, whichever
		// resource it was for.
		if p.Labels["app"] != p.Name || p.Window.Duration == 0 || p.Window.Duration%apitest.SampleStep != 0 {
			t.Errorf("pod %s: labels %v, window %v", p.Name, p.Labels, p.Window)
		}
	}
	all, err := m.PodMetricses("").List(ctx(t), metav1.ListOptions{})
	if err != nil || podsString(all.Items) != "default/db[db=250m 256Mi] default/web[nginx=100m 64Mi sidecar=20m 16Mi] kube-system/dns[dns=5m 10Mi]" {
		t.Errorf("all pod metrics: %v %s", err, podsString(all.Items))
	}
	sel, err := m.PodMetricses("").List(ctx(t), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || podsString(sel.Items) != "default/web[nginx=100m 64Mi sidecar=20m 16Mi]" {
		t.Errorf("pod metrics app=web: %v %s", err, podsString(sel.Items))
	}
	dns, err := m.PodMetricses("kube-system").Get(ctx(t), "dns", metav1.GetOptions{})
	if err != nil || podsString([]metricsv1beta1.PodMetrics{*dns}) != "kube-system/dns[dns=5m 10Mi]" {
		t.Errorf("dns metrics: %v %+v", err, dns)
	}

	// Errors, as metrics-server words them, or saying what is wrong.
	tests := []struct {
		method, path string
		code         int
		message      string
	}{
		{"GET", "/apis/metrics.k8s.io/v1beta1/nodes/ghost", 404, `nodemetrics.metrics.k8s.io "ghost" not found`},
		{"GET", "/apis/metrics.k8s.io/v1beta1/nodes/bare", 503, `node "bare" has no agent endpoint; is tug agent running there?`},
		{"GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/pending", 404, `podmetrics.metrics.k8s.io "default/pending" not found`},
		{"GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/ghost", 404, `podmetrics.metrics.k8s.io "default/ghost" not found`},
		{"GET", "/apis/metrics.k8s.io/v1beta1/nodes?watch=true", 405, `GET is not supported on resources of kind "nodes.metrics.k8s.io"`},
		{"POST", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", 405, `POST is not supported on resources of kind "pods.metrics.k8s.io"`},
		{"GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=a%20b", 400, `unable to parse requirement`},
		{"GET", "/apis/metrics.k8s.io/v1beta1/nodes?fieldSelector=spec.bogus%3Dx", 400, `field label not supported: spec.bogus`},
		{"GET", "/apis/metrics.k8s.io/v1beta1/services", 404, `the server could not find the requested resource`},
		{"GET", "/apis/metrics.k8s.io/v1", 404, `the server could not find the requested resource`},
		{"GET", "/apis/apps/v1", 404, `the server could not find the requested resource`},
	}
	for _, tt := range tests {
		r := call(t, c.env, tt.method, tt.path, nil)
		if st := r.status(t); r.code != tt.code || !strings.Contains(st.Message, tt.message) {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, r.code, st.Message, tt.code, tt.message)
		}
	}
}

// TestResourceMetricsDiscovery checks the group's discovery and that
// clients walking all resources see only get and list there.
func TestResourceMetricsDiscovery(t *testing.T) {
	env := apitest.Start(t)
	var group metav1.APIGroup
	call(t, env, "GET", "/apis/metrics.k8s.io", nil).into(t, &group)
	if group.Kind != "APIGroup" || group.Name != "metrics.k8s.io" || group.PreferredVersion.GroupVersion != "metrics.k8s.io/v1beta1" {
		t.Errorf("/apis/metrics.k8s.io: %+v", group)
	}
	groups, lists, err := env.Client.Discovery().ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[1].Name != "metrics.k8s.io" {
		t.Errorf("groups: %+v", groups)
	}
	var metrics *metav1.APIResourceList
	for _, l := range lists {
		if l.GroupVersion == "metrics.k8s.io/v1beta1" {
			metrics = l
		}
	}
	if metrics == nil || len(metrics.APIResources) != 2 {
		t.Fatalf("metrics.k8s.io/v1beta1 resources: %+v", metrics)
	}
	for _, r := range metrics.APIResources {
		if strings.Join(r.Verbs, ",") != "get,list" || (r.Name == "pods") != r.Namespaced {
			t.Errorf("metrics resource %+v", r)
		}
	}
}

// TestKubectlTop runs the real kubectl top against the metrics API, and
// checks kubectl's discovery still maps the core resources.
func TestKubectlTop(t *testing.T) {
	c := newMetricsCluster(t)
	k := newKubectl(t, c.env)
	want := strings.Join([]string{
		"NAME     CPU(cores)   CPU(%)      MEMORY(bytes)   MEMORY(%)   ",
		"node-a   500m         25%         1024Mi          25%         ",
		"node-b   1500m        37%         2048Mi          25%         ",
		"bare     <unknown>    <unknown>   <unknown>       <unknown>   ",
		""}, "\n")
	if out := k.ok("top", "nodes"); out != want {
		t.Errorf("kubectl top nodes:\n%s\nwant:\n%s", out, want)
	}
	want = "NAME     CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)   \nnode-b   1500m        37%      2048Mi          25%         \n"
	if out := k.ok("top", "node", "node-b"); out != want {
		t.Errorf("kubectl top node node-b:\n%s\nwant:\n%s", out, want)
	}
	want = "NAME   CPU(cores)   MEMORY(bytes)   \ndb     250m         256Mi           \nweb    120m         80Mi            \n"
	if out := k.ok("top", "pods"); out != want {
		t.Errorf("kubectl top pods:\n%s\nwant:\n%s", out, want)
	}
	want = strings.Join([]string{
		"NAMESPACE     POD   NAME      CPU(cores)   MEMORY(bytes)   ",
		"default       db    db        250m         256Mi           ",
		"default       web   nginx     100m         64Mi            ",
		"default       web   sidecar   20m          16Mi            ",
		"kube-system   dns   dns       5m           10Mi            ",
		""}, "\n")
	if out := k.ok("top", "pods", "-A", "--containers"); out != want {
		t.Errorf("kubectl top pods -A --containers:\n%s\nwant:\n%s", out, want)
	}
	k.fails(`Error from server \(NotFound\): podmetrics.metrics.k8s.io "default/pending" not found`, "top", "pod", "pending")

	wantLines(t, "api-resources", k.ok("api-resources"),
		`^nodes\s+metrics.k8s.io/v1beta1\s+false\s+NodeMetrics$`, `^pods\s+metrics.k8s.io/v1beta1\s+true\s+PodMetrics$`,
		`^pods\s+po\s+v1\s+true\s+Pod$`, `^nodes\s+no\s+v1\s+false\s+Node$`)
	wantLines(t, "get pods", k.ok("get", "pods"), `^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$`, `^web\s+0/2\s+Pending\s+0\s+`)
	wantLines(t, "get nodes", k.ok("get", "nodes"), `^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$`, `^node-a\s+Ready\s+`)
}

// usageString shows a ResourceList's cpu and memory.
func usageString(u corev1.ResourceList) string {
	return u.Cpu().String() + " " + u.Memory().String()
}

// podsString shows pod metrics as ns/name[container=cpu memory ...].
func podsString(items []metricsv1beta1.PodMetrics) string {
	var out []string
	for _, p := range items {
		var cs []string
		for _, c := range p.Containers {
			cs = append(cs, c.Name+"="+usageString(c.Usage))
		}
		out = append(out, p.Namespace+"/"+p.Name+"["+strings.Join(cs, " ")+"]")
	}
	return strings.Join(out, " ")
}
