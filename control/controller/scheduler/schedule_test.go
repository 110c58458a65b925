package scheduler

import (
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

var now = time.Date(2025, 11, 25, 18, 0, 0, 0, time.UTC)

func TestFilter(t *testing.T) {
	tolerates := func(key string, effect v1.TaintEffect) func(*v1.Pod) {
		return func(p *v1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, v1.Toleration{Key: key, Operator: v1.TolerationOpExists, Effect: effect})
		}
	}
	selects := func(k, v string) func(*v1.Pod) {
		return func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{k: v} }
	}
	tests := []struct {
		name   string
		pod    *v1.Pod
		node   *v1.Node
		onNode []*v1.Pod
		want   []string
	}{
		{"fits", pod("p", "500m", "1Gi"), node("n", "1", "2Gi", 10), nil, nil},
		{"not ready", pod("p", "", ""), node("n", "1", "2Gi", 10, notReady), nil, []string{ReasonNotReady}},
		{"no Ready condition", pod("p", "", ""), node("n", "1", "2Gi", 10, func(n *v1.Node) { n.Status.Conditions = nil }), nil, []string{ReasonNotReady}},
		{"cordoned", pod("p", "", ""), node("n", "1", "2Gi", 10, cordoned), nil, []string{ReasonUnschedulable}},
		{"not ready wins over cordoned", pod("p", "", ""), node("n", "1", "2Gi", 10, cordoned, notReady), nil, []string{ReasonNotReady}},
		{"NoSchedule taint", pod("p", "", ""), node("n", "1", "2Gi", 10, tainted("dedicated", "gpu", v1.TaintEffectNoSchedule)), nil,
			[]string{"node(s) had untolerated taint {dedicated: gpu}"}},
		{"NoExecute taint", pod("p", "", ""), node("n", "1", "2Gi", 10, tainted("node.kubernetes.io/unreachable", "", v1.TaintEffectNoExecute)), nil,
			[]string{"node(s) had untolerated taint {node.kubernetes.io/unreachable: }"}},
		{"PreferNoSchedule ignored", pod("p", "", ""), node("n", "1", "2Gi", 10, tainted("soft", "x", v1.TaintEffectPreferNoSchedule)), nil, nil},
		{"tolerated taint", pod("p", "", "", tolerates("dedicated", v1.TaintEffectNoSchedule)),
			node("n", "1", "2Gi", 10, tainted("dedicated", "gpu", v1.TaintEffectNoSchedule)), nil, nil},
		{"toleration for another effect", pod("p", "", "", tolerates("dedicated", v1.TaintEffectNoExecute)),
			node("n", "1", "2Gi", 10, tainted("dedicated", "gpu", v1.TaintEffectNoSchedule)), nil,
			[]string{"node(s) had untolerated taint {dedicated: gpu}"}},
		{"selector matches", pod("p", "", "", selects("disk", "ssd")), node("n", "1", "2Gi", 10, labeled("disk", "ssd")), nil, nil},
		{"selector does not match", pod("p", "", "", selects("disk", "ssd")), node("n", "1", "2Gi", 10, labeled("disk", "hdd")), nil, []string{ReasonNodeSelector}},
		{"host port free", pod("p", "", "", hostPort(8080)), node("n", "1", "2Gi", 10), []*v1.Pod{pod("q", "", "", hostPort(8081), onNode("n"))}, nil},
		{"host port taken", pod("p", "", "", hostPort(8080)), node("n", "1", "2Gi", 10), []*v1.Pod{pod("q", "", "", hostPort(8080), onNode("n"))}, []string{ReasonHostPorts}},
		{"insufficient cpu", pod("p", "600m", ""), node("n", "1", "2Gi", 10), []*v1.Pod{pod("q", "500m", "", onNode("n"))}, []string{ReasonInsufficientCPU}},
		{"insufficient memory", pod("p", "", "1500Mi"), node("n", "1", "2Gi", 10), []*v1.Pod{pod("q", "", "1Gi", onNode("n"))}, []string{ReasonInsufficientMem}},
		{"exact fit", pod("p", "500m", "1Gi"), node("n", "1", "2Gi", 10), []*v1.Pod{pod("q", "500m", "1Gi", onNode("n"))}, nil},
		{"every resource short", pod("p", "2", "4Gi"), node("n", "1", "2Gi", 1), []*v1.Pod{pod("q", "", "", onNode("n"))},
			[]string{ReasonTooManyPods, ReasonInsufficientCPU, ReasonInsufficientMem}},
		{"zero requests always fit resources", pod("p", "", ""), node("n", "1", "2Gi", 10), []*v1.Pod{pod("q", "1", "2Gi", onNode("n"))}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ni := infos([]*v1.Node{tt.node}, tt.onNode...)[0]
			if got := Filter(NewPodInfo(tt.pod), ni); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Filter = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPodRequests(t *testing.T) {
	p := pod("p", "100m", "64Mi")
	p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: "limits-only"})
	p.Spec.Containers[1].Resources.Limits = v1.ResourceList{v1.ResourceCPU: mustQ("200m"), v1.ResourceMemory: mustQ("32Mi")}
	p.Spec.InitContainers = []v1.Container{{Name: "init", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: mustQ("1")}}}}
	pi := NewPodInfo(p)
	if want := (Resources{MilliCPU: 1000, Memory: 96 << 20}); pi.Requests != want {
		t.Errorf("Requests = %+v, want %+v (init container max, limits as requests)", pi.Requests, want)
	}
	empty := NewPodInfo(pod("e", "", ""))
	if want := (Resources{MilliCPU: DefaultMilliCPURequest, Memory: DefaultMemoryRequest}); empty.NonZero != want || empty.Requests != (Resources{}) {
		t.Errorf("empty pod: Requests %+v NonZero %+v", empty.Requests, empty.NonZero)
	}
}

func TestFitErrorMessage(t *testing.T) {
	nodes := []*v1.Node{
		node("a", "1", "1Gi", 10),
		node("b", "1", "1Gi", 10),
		node("c", "8", "64Gi", 10, notReady),
	}
	_, err := Schedule(NewPodInfo(pod("big", "500m", "4Gi")), infos(nodes), now)
	var fe *FitError
	if !errors.As(err, &fe) {
		t.Fatalf("Schedule error = %v, want *FitError", err)
	}
	want := "0/3 nodes are available: 1 node(s) were not ready, 2 Insufficient memory."
	if err.Error() != want {
		t.Errorf("message = %q\nwant      %q", err.Error(), want)
	}
	if _, err := Schedule(NewPodInfo(pod("p", "", "")), nil, now); err == nil || err.Error() != "no nodes available to schedule pods" {
		t.Errorf("no nodes: %v", err)
	}
	// A node counts once per reason, several resource reasons each count.
	_, err = Schedule(NewPodInfo(pod("huge", "4", "4Gi")), infos(nodes[:2]), now)
	if want := "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory."; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestScheduleLeastLoaded(t *testing.T) {
	nodes := []*v1.Node{node("a", "4", "8Gi", 110), node("b", "4", "8Gi", 110), node("c", "4", "8Gi", 110)}
	tests := []struct {
		name   string
		pod    *v1.Pod
		onNode []*v1.Pod
		want   string
	}{
		{"empty cluster: first name wins the tie", pod("p", "", ""), nil, "a"},
		{"least requested cpu", pod("p", "100m", ""), []*v1.Pod{pod("x", "2", "", onNode("a")), pod("y", "1", "", onNode("b")), pod("z", "3", "", onNode("c"))}, "b"},
		{"least requested memory", pod("p", "", "100Mi"), []*v1.Pod{pod("x", "", "1Gi", onNode("a")), pod("y", "", "2Gi", onNode("b"))}, "c"},
		{"fewest pods when requests are zero", pod("p", "", ""), []*v1.Pod{pod("x", "", "", onNode("a")), pod("y", "", "", onNode("c"))}, "b"},
		{"spread the controller's pods", pod("p", "", "", ownedBy("rc1")), []*v1.Pod{
			pod("x", "", "", ownedBy("rc1"), onNode("a")), pod("y", "", "", ownedBy("rc1"), onNode("b")),
			pod("o1", "", "", ownedBy("other"), onNode("c")),
		}, "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Schedule(NewPodInfo(tt.pod), infos(nodes, tt.onNode...), now)
			if err != nil || got != tt.want {
				t.Errorf("Schedule = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestScheduleMeasuredUsage(t *testing.T) {
	usage := func(nanocores, bytes int64, at time.Time) func(*v1.Node) {
		return func(n *v1.Node) {
			n.Annotations = map[string]string{
				AnnotationCPUUsage:       strconv.FormatInt(nanocores, 10),
				AnnotationMemoryUsage:    strconv.FormatInt(bytes, 10),
				AnnotationUsageTimestamp: at.Format(time.RFC3339),
			}
		}
	}
	busy := usage(3_500_000_000, 7<<30, now.Add(-10*time.Second))
	stale := usage(3_500_000_000, 7<<30, now.Add(-UsageMaxAge-time.Second))
	p := NewPodInfo(pod("p", "", ""))
	// Node a is busy by measurement although nothing is requested on it.
	got, _ := Schedule(p, infos([]*v1.Node{node("a", "4", "8Gi", 110, busy), node("b", "4", "8Gi", 110)}), now)
	if got != "b" {
		t.Errorf("busy node: got %q, want b", got)
	}
	got, _ = Schedule(p, infos([]*v1.Node{node("a", "4", "8Gi", 110, stale), node("b", "4", "8Gi", 110)}), now)
	if got != "a" {
		t.Errorf("stale usage must be ignored: got %q, want a", got)
	}
}

func TestParseUsage(t *testing.T) {
	ts := now.Format(time.RFC3339)
	tests := []struct {
		name string
		ann  map[string]string
		want *Usage
	}{
		{"none", nil, nil},
		{"no timestamp", map[string]string{AnnotationCPUUsage: "1"}, nil},
		{"bad timestamp", map[string]string{AnnotationUsageTimestamp: "yesterday"}, nil},
		{"bad number", map[string]string{AnnotationUsageTimestamp: ts, AnnotationCPUUsage: "1.5"}, nil},
		{"negative", map[string]string{AnnotationUsageTimestamp: ts, AnnotationMemoryUsage: "-1"}, nil},
		{"both", map[string]string{AnnotationUsageTimestamp: ts, AnnotationCPUUsage: "250000000", AnnotationMemoryUsage: "1024"},
			&Usage{Resources: Resources{MilliCPU: 250, Memory: 1024}, At: now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseUsage(tt.ann); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseUsage = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestScheduleSpreadsReplicas places an RC's pods one by one, counting each
// on its node as the scheduler's cache does, and expects an even spread.
func TestScheduleSpreadsReplicas(t *testing.T) {
	nodes := infos([]*v1.Node{node("n1", "4", "8Gi", 110), node("n2", "4", "8Gi", 110), node("n3", "4", "8Gi", 110)})
	count := map[string]int{}
	for i := range 9 {
		pi := NewPodInfo(pod("p"+strconv.Itoa(i), "", "", ownedBy("rc")))
		got, err := Schedule(pi, nodes, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, ni := range nodes {
			if ni.Name() == got {
				ni.AddPod(pi)
			}
		}
		count[got]++
	}
	if want := map[string]int{"n1": 3, "n2": 3, "n3": 3}; !reflect.DeepEqual(count, want) {
		t.Errorf("spread = %v, want %v", count, want)
	}
}

func TestNodeInfoRemoveUndoesAdd(t *testing.T) {
	ni := NewNodeInfo(node("n", "4", "8Gi", 110))
	before := *ni
	p := NewPodInfo(pod("p", "1", "1Gi", hostPort(80), ownedBy("rc")))
	ni.AddPod(p)
	if ni.Pods != 1 || ni.Owners["rc"] != 1 || len(ni.HostPorts) != 1 {
		t.Fatalf("after AddPod: %+v", ni)
	}
	ni.RemovePod(p)
	if ni.Requested != before.Requested || ni.NonZero != before.NonZero || ni.Pods != 0 || len(ni.Owners) != 0 || len(ni.HostPorts) != 0 {
		t.Errorf("after RemovePod: %+v", ni)
	}
}
