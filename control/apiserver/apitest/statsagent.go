package apitest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// Usage is a steady resource use: CPU in millicores, memory as the
// working set in bytes.
type Usage struct {
	MilliCores  uint64
	MemoryBytes uint64
}

// StatsAgent stands in for a node agent's /stats/summary (the kubelet's
// Summary API, in the JSON the agent writes) on loopback, for a node it
// registers. Its statistics come from declared steady usage, and its clock
// moves SampleStep per request: request k reports cumulative CPU time
// k*SampleStep*cores at time Start+k*SampleStep, so a CPU rate computed
// from any two answers is exactly the declared usage. Other paths answer
// 404. Requests are recorded.
type StatsAgent struct {
	// Node is the registered node's name.
	Node string
	// Host is the agent's address (127.0.0.1:PORT).
	Host string

	mu       sync.Mutex
	node     Usage
	pods     []statsPod
	k        uint64
	start    time.Time
	requests []*http.Request
}

// SampleStep is how far a StatsAgent's clock moves per request.
const SampleStep = 10 * time.Second

type statsPod struct {
	ref        statsapi.PodReference
	containers []statsContainer
}

type statsContainer struct {
	name  string
	usage Usage
}

// StartStatsAgent serves statistics for a new node named name whose
// allocatable resources are allocatable, using node as the node's own
// usage. The node is registered with the agent's address (InternalIP
// 127.0.0.1 and the kubelet endpoint port) and a Ready condition.
func (e *Env) StartStatsAgent(t testing.TB, name string, allocatable corev1.ResourceList, node Usage) *StatsAgent {
	t.Helper()
	a := &StatsAgent{Node: name, node: node, start: time.Now().Add(-time.Hour).Truncate(time.Second)}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	a.Host = srv.Listener.Addr().String()
	_, portStr, _ := net.SplitHostPort(a.Host)
	port, _ := strconv.Atoi(portStr)
	ctx := context.Background()
	n, err := e.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("apitest: registering node %s: %v", name, err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: name}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	n.Status.Capacity, n.Status.Allocatable = allocatable, allocatable
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := e.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("apitest: reporting node %s's status: %v", name, err)
	}
	return a
}

// AddPod declares pod (already created and bound to the agent's node) as
// running containers with these usages, in this order.
func (a *StatsAgent) AddPod(pod *corev1.Pod, containers ...ContainerUsage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := statsPod{ref: statsapi.PodReference{Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID)}}
	for _, c := range containers {
		p.containers = append(p.containers, statsContainer{name: c.Name, usage: c.Usage})
	}
	a.pods = append(a.pods, p)
}

// ContainerUsage is one container's steady usage.
type ContainerUsage struct {
	Name string
	Usage
}

// Requests returns the requests served so far.
func (a *StatsAgent) Requests() []*http.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*http.Request(nil), a.requests...)
}

// Allocatable is a ResourceList of cpu and memory, for StartStatsAgent.
func Allocatable(cpu, memory string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}
}

func (a *StatsAgent) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, r.Clone(context.Background()))
	if r.Method != http.MethodGet || r.URL.Path != "/stats/summary" {
		a.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	a.k++
	sum := a.summaryLocked()
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sum)
}

// summaryLocked is the document of request a.k.
func (a *StatsAgent) summaryLocked() *statsapi.Summary {
	elapsed := time.Duration(a.k) * SampleStep
	at := metav1.NewTime(a.start.Add(elapsed))
	cpu := func(u Usage) *statsapi.CPUStats {
		// core-ns = millicores/1000 * seconds * 1e9
		total := u.MilliCores * uint64(elapsed/time.Second) * 1_000_000
		return &statsapi.CPUStats{Time: at, UsageCoreNanoSeconds: &total}
	}
	mem := func(u Usage) *statsapi.MemoryStats {
		ws := u.MemoryBytes
		return &statsapi.MemoryStats{Time: at, WorkingSetBytes: &ws, UsageBytes: &ws}
	}
	s := &statsapi.Summary{Node: statsapi.NodeStats{NodeName: a.Node, StartTime: metav1.NewTime(a.start), CPU: cpu(a.node), Memory: mem(a.node)}, Pods: []statsapi.PodStats{}}
	for _, p := range a.pods {
		sp := statsapi.PodStats{PodRef: p.ref, StartTime: metav1.NewTime(a.start)}
		for _, c := range p.containers {
			sp.Containers = append(sp.Containers, statsapi.ContainerStats{Name: c.name, StartTime: metav1.NewTime(a.start), CPU: cpu(c.usage), Memory: mem(c.usage)})
		}
		s.Pods = append(s.Pods, sp)
	}
	return s
}
