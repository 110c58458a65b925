package nodelifecycle

import (
	"reflect"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	t0     = time.Date(2025, 11, 25, 18, 0, 0, 0, time.UTC)
	timing = Timing{GracePeriod: 40 * time.Second, EvictionTimeout: 60 * time.Second}
)

// nodeWith builds a node whose Ready condition has the given status and
// heartbeat (agent clock); status "" means no Ready condition.
func nodeWith(status v1.ConditionStatus, heartbeat time.Time) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))}}
	if status != "" {
		n.Status.Conditions = []v1.NodeCondition{
			{Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse},
			{Type: v1.NodeReady, Status: status, LastHeartbeatTime: metav1.NewTime(heartbeat), LastTransitionTime: metav1.NewTime(t0.Add(-time.Hour))},
		}
	}
	return n
}

// TestAssessLifecycle walks one node through silence, eviction and return
// on a fake clock, feeding each decision's Health into the next pass as the
// controller does.
func TestAssessLifecycle(t *testing.T) {
	agentClock := t0.Add(-17 * time.Minute) // skewed: only changes matter
	type step struct {
		at     time.Duration // controller clock, since t0
		node   *v1.Node
		state  State
		mark   bool
		evict  bool
		taints []string
	}
	ready := func(hb time.Duration) *v1.Node { return nodeWith(v1.ConditionTrue, agentClock.Add(hb)) }
	unknown := func(hb time.Duration) *v1.Node { return nodeWith(v1.ConditionUnknown, agentClock.Add(hb)) }
	steps := []step{
		{0, ready(0), Ready, false, false, nil},
		{10 * time.Second, ready(10 * time.Second), Ready, false, false, nil},
		// Agent goes silent after its 10s heartbeat.
		{30 * time.Second, ready(10 * time.Second), Ready, false, false, nil},
		{49 * time.Second, ready(10 * time.Second), Ready, false, false, nil},
		{50 * time.Second, ready(10 * time.Second), Unreachable, true, false, []string{"node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"}},
		// The controller wrote Unknown; no need to write it again.
		{55 * time.Second, unknown(10 * time.Second), Unreachable, false, false, []string{"node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"}},
		{109 * time.Second, unknown(10 * time.Second), Unreachable, false, false, []string{"node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"}},
		{110 * time.Second, unknown(10 * time.Second), Unreachable, false, true, []string{"node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"}},
		// The agent is back.
		{120 * time.Second, ready(5 * time.Minute), Ready, false, false, nil},
		// The agent itself reports NotReady.
		{130 * time.Second, nodeWith(v1.ConditionFalse, agentClock.Add(6*time.Minute)), NotReady, false, false, []string{"node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute"}},
		{190 * time.Second, nodeWith(v1.ConditionFalse, agentClock.Add(7*time.Minute)), NotReady, false, true, []string{"node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute"}},
	}
	var h Health
	for _, s := range steps {
		d := Assess(s.node, h, t0.Add(s.at), timing)
		h = d.Health
		var taints []string
		for _, tt := range d.Taints {
			taints = append(taints, tt.Key+":"+string(tt.Effect))
		}
		if d.State != s.state || d.MarkUnknown != s.mark || d.Evict != s.evict || !reflect.DeepEqual(taints, s.taints) {
			t.Errorf("at %v: state %v mark %v evict %v taints %v; want %v %v %v %v",
				s.at, d.State, d.MarkUnknown, d.Evict, taints, s.state, s.mark, s.evict, s.taints)
		}
	}
}

func TestAssessNewNodeWithoutStatus(t *testing.T) {
	n := nodeWith("", time.Time{})
	d := Assess(n, Health{}, t0, timing)
	if d.State != Ready || d.MarkUnknown {
		t.Fatalf("fresh node: %+v", d)
	}
	d = Assess(n, d.Health, t0.Add(timing.GracePeriod), timing)
	if d.State != Unreachable || !d.MarkUnknown {
		t.Fatalf("never posted status: %+v", d)
	}
	marked := MarkUnknown(n, t0.Add(timing.GracePeriod))
	c := readyCondition(marked)
	if c == nil || c.Status != v1.ConditionUnknown || c.Reason != ReasonStatusNeverUpdated || c.Message != "Kubelet never posted node status." {
		t.Errorf("marked: %+v", marked.Status.Conditions)
	}
}

func TestMarkUnknown(t *testing.T) {
	hb := t0.Add(-time.Minute)
	n := nodeWith(v1.ConditionTrue, hb)
	m := MarkUnknown(n, t0)
	if n.Status.Conditions[1].Status != v1.ConditionTrue {
		t.Fatal("input modified")
	}
	for _, c := range m.Status.Conditions {
		if c.Status != v1.ConditionUnknown || c.Reason != "NodeStatusUnknown" || c.Message != "Kubelet stopped posting node status." ||
			!c.LastTransitionTime.Time.Equal(t0) {
			t.Errorf("condition %s: %+v", c.Type, c)
		}
	}
	if !readyCondition(m).LastHeartbeatTime.Time.Equal(hb) {
		t.Error("heartbeat time overwritten")
	}
}

func TestReconcileTaints(t *testing.T) {
	old := metav1.NewTime(t0.Add(-time.Hour))
	user := v1.Taint{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule}
	unreachable := lifecycleTaints(TaintUnreachable, t0)
	unreachableOld := []v1.Taint{{Key: TaintUnreachable, Effect: v1.TaintEffectNoSchedule}, {Key: TaintUnreachable, Effect: v1.TaintEffectNoExecute, TimeAdded: &old}}
	tests := []struct {
		name          string
		current, want []v1.Taint
		out           []v1.Taint
		changed       bool
	}{
		{"nothing to do", []v1.Taint{user}, nil, []v1.Taint{user}, false},
		{"add", []v1.Taint{user}, unreachable, append([]v1.Taint{user}, unreachable...), true},
		{"keep timeAdded", append([]v1.Taint{user}, unreachableOld...), unreachable, append([]v1.Taint{user}, unreachableOld...), false},
		{"remove on recovery", append(append([]v1.Taint(nil), unreachableOld...), user), nil, []v1.Taint{user}, true},
		{"swap unreachable for not-ready", unreachableOld, lifecycleTaints(TaintNotReady, t0), lifecycleTaints(TaintNotReady, t0), true},
	}
	for _, tt := range tests {
		out, changed := ReconcileTaints(tt.current, tt.want)
		if changed != tt.changed || !reflect.DeepEqual(out, tt.out) {
			t.Errorf("%s: got %v %v, want %v %v", tt.name, out, changed, tt.out, tt.changed)
		}
	}
}

func TestPodNotReady(t *testing.T) {
	p := &v1.Pod{Status: v1.PodStatus{Conditions: []v1.PodCondition{
		{Type: v1.PodReady, Status: v1.ConditionTrue}, {Type: v1.ContainersReady, Status: v1.ConditionTrue}, {Type: v1.PodScheduled, Status: v1.ConditionTrue},
	}}}
	got := PodNotReady(p, t0)
	if got == nil || got.Status.Conditions[0].Status != v1.ConditionFalse || got.Status.Conditions[1].Status != v1.ConditionFalse ||
		got.Status.Conditions[2].Status != v1.ConditionTrue {
		t.Fatalf("PodNotReady = %+v", got)
	}
	if PodNotReady(got, t0) != nil {
		t.Error("already not ready pod rewritten")
	}
}

func TestEvictionsAllowed(t *testing.T) {
	if EvictionsAllowed(nil) || EvictionsAllowed([]State{Unreachable, NotReady}) {
		t.Error("evictions allowed with no ready node")
	}
	if !EvictionsAllowed([]State{Unreachable, Ready}) {
		t.Error("evictions refused with a ready node")
	}
}

func TestAllowEvictionRate(t *testing.T) {
	c := &Controller{cfg: Config{EvictionRate: 0.1}}
	if !c.allowEviction(t0) || c.allowEviction(t0.Add(9*time.Second)) || !c.allowEviction(t0.Add(10*time.Second)) {
		t.Error("0.1 nodes/s must allow one node per 10s")
	}
	c = &Controller{cfg: Config{EvictionRate: -1}}
	if !c.allowEviction(t0) || !c.allowEviction(t0) {
		t.Error("negative rate must not limit")
	}
}

func TestPodEvictable(t *testing.T) {
	taint := v1.Taint{Key: TaintUnreachable, Effect: v1.TaintEffectNoExecute}
	secs := func(n int64) *int64 { return &n }
	pod := func(tols ...v1.Toleration) *v1.Pod { return &v1.Pod{Spec: v1.PodSpec{Tolerations: tols}} }
	forever := v1.Toleration{Key: TaintUnreachable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute}
	for5m := v1.Toleration{Key: TaintUnreachable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: secs(300)}
	other := v1.Toleration{Key: "dedicated", Operator: v1.TolerationOpExists}
	tests := []struct {
		name        string
		pod         *v1.Pod
		notReadyFor time.Duration
		want        bool
	}{
		{"no toleration, before timeout", pod(), 59 * time.Second, false},
		{"no toleration, timeout passed", pod(), 60 * time.Second, true},
		{"unrelated toleration", pod(other), 60 * time.Second, true},
		{"tolerates forever", pod(forever), time.Hour, false},
		{"tolerates 300s, 4 minutes", pod(for5m), 4 * time.Minute, false},
		{"tolerates 300s, 5 minutes", pod(for5m), 5 * time.Minute, true},
	}
	for _, tt := range tests {
		if got := PodEvictable(tt.pod, taint, tt.notReadyFor, timing.EvictionTimeout); got != tt.want {
			t.Errorf("%s: PodEvictable = %v, want %v", tt.name, got, tt.want)
		}
	}
}
