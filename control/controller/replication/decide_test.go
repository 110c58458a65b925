package replication

import (
	"errors"
	"reflect"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"
)

var now = time.Date(2025, 11, 25, 18, 0, 0, 0, time.UTC)

func rc(replicas int32) *v1.ReplicationController {
	return &v1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "nginxs", UID: "rc-uid", Generation: 3},
		Spec: v1.ReplicationControllerSpec{
			Replicas: &replicas,
			Selector: map[string]string{"app": "nginx"},
			Template: &v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx", "tier": "web"}, Annotations: map[string]string{"a": "b"}},
				Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "nginx", Image: "nginx"}}},
			},
		},
	}
}

type podOpt func(*v1.Pod)

func pod(name string, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{
		Namespace: "default", Name: name, UID: types.UID("uid-" + name),
		Labels:            map[string]string{"app": "nginx", "tier": "web"},
		CreationTimestamp: metav1.NewTime(now.Add(-time.Hour)),
	}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func ownedBy(uid types.UID) podOpt {
	return func(p *v1.Pod) {
		t := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: Kind, Name: "x", UID: uid, Controller: &t}}
	}
}
func withLabels(l map[string]string) podOpt { return func(p *v1.Pod) { p.Labels = l } }
func deleting(p *v1.Pod)                    { t := metav1.NewTime(now); p.DeletionTimestamp = &t }
func onNode(p *v1.Pod)                      { p.Spec.NodeName = "n1" }
func phase(ph v1.PodPhase) podOpt           { return func(p *v1.Pod) { p.Status.Phase = ph } }
func created(d time.Duration) podOpt {
	return func(p *v1.Pod) { p.CreationTimestamp = metav1.NewTime(now.Add(d)) }
}
func readyAt(t time.Time) podOpt {
	return func(p *v1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: metav1.NewTime(t)})
	}
}
func restartsN(n int32) podOpt {
	return func(p *v1.Pod) { p.Status.ContainerStatuses = []v1.ContainerStatus{{Name: "c", RestartCount: n}} }
}

func names(pods []*v1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestClaimPods(t *testing.T) {
	pods := []*v1.Pod{
		pod("mine", ownedBy("rc-uid")),
		pod("mine-relabeled", ownedBy("rc-uid"), withLabels(map[string]string{"app": "other"})),
		pod("orphan"),
		pod("orphan-deleting", deleting),
		pod("orphan-other-labels", withLabels(map[string]string{"app": "db"})),
		pod("theirs", ownedBy("other-uid")),
		pod("mine-finished", ownedBy("rc-uid"), phase(v1.PodSucceeded)),
	}
	got := ClaimPods(rc(3), pods)
	want := [3][]string{{"mine", "mine-finished"}, {"orphan"}, {"mine-relabeled"}}
	if g := [3][]string{names(got.Owned), names(got.Adopt), names(got.Release)}; !reflect.DeepEqual(g, want) {
		t.Errorf("ClaimPods owned/adopt/release = %v, want %v", g, want)
	}

	// A controller being deleted neither adopts nor releases.
	dying := rc(3)
	dying.DeletionTimestamp = &metav1.Time{Time: now}
	got = ClaimPods(dying, pods)
	if len(got.Adopt) != 0 || len(got.Release) != 0 || !reflect.DeepEqual(names(got.Owned), []string{"mine", "mine-finished"}) {
		t.Errorf("deleting RC: %+v", [3][]string{names(got.Owned), names(got.Adopt), names(got.Release)})
	}

	empty := rc(3)
	empty.Spec.Selector = nil
	if got := ClaimPods(empty, pods); len(got.Owned)+len(got.Adopt)+len(got.Release) != 0 {
		t.Error("an empty selector claimed pods")
	}
}

func TestActivePods(t *testing.T) {
	pods := []*v1.Pod{pod("a"), pod("b", deleting), pod("c", phase(v1.PodFailed)), pod("d", phase(v1.PodRunning))}
	if got := names(ActivePods(pods)); !reflect.DeepEqual(got, []string{"a", "d"}) {
		t.Errorf("ActivePods = %v", got)
	}
}

func TestRankForDeletion(t *testing.T) {
	tests := []struct {
		name string
		pods []*v1.Pod
		want []string
	}{
		{"unscheduled first", []*v1.Pod{pod("bound", onNode, phase(v1.PodPending)), pod("unbound", phase(v1.PodPending))}, []string{"unbound", "bound"}},
		{"pending before running", []*v1.Pod{pod("running", onNode, phase(v1.PodRunning)), pod("pending", onNode, phase(v1.PodPending))}, []string{"pending", "running"}},
		{"not ready before ready", []*v1.Pod{
			pod("ready", onNode, phase(v1.PodRunning), readyAt(now.Add(-time.Minute))),
			pod("notready", onNode, phase(v1.PodRunning)),
		}, []string{"notready", "ready"}},
		{"recently ready first", []*v1.Pod{
			pod("old", onNode, phase(v1.PodRunning), readyAt(now.Add(-time.Hour))),
			pod("recent", onNode, phase(v1.PodRunning), readyAt(now.Add(-time.Minute))),
		}, []string{"recent", "old"}},
		{"more restarts first", []*v1.Pod{
			pod("stable", onNode, phase(v1.PodRunning), restartsN(0)),
			pod("flappy", onNode, phase(v1.PodRunning), restartsN(5)),
		}, []string{"flappy", "stable"}},
		{"newest first", []*v1.Pod{
			pod("older", onNode, created(-2*time.Hour)),
			pod("newer", onNode, created(-time.Minute)),
		}, []string{"newer", "older"}},
		{"name breaks ties", []*v1.Pod{pod("b", onNode), pod("a", onNode)}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]*v1.Pod(nil), tt.pods...)
			if got := names(RankForDeletion(tt.pods)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RankForDeletion = %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(in, tt.pods) {
				t.Error("input reordered")
			}
		})
	}
}

func TestNewPod(t *testing.T) {
	r := rc(2)
	p, err := NewPod(r)
	if err != nil {
		t.Fatal(err)
	}
	if p.GenerateName != "nginxs-" || p.Name != "" || p.Namespace != "default" {
		t.Errorf("name: generateName %q name %q ns %q", p.GenerateName, p.Name, p.Namespace)
	}
	if !reflect.DeepEqual(p.Labels, r.Spec.Template.Labels) || !reflect.DeepEqual(p.Annotations, r.Spec.Template.Annotations) {
		t.Errorf("labels %v annotations %v", p.Labels, p.Annotations)
	}
	ref := metav1.GetControllerOf(p)
	if ref == nil || ref.UID != "rc-uid" || ref.Kind != "ReplicationController" || ref.APIVersion != "v1" ||
		ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("controller ref %+v", ref)
	}
	p.Labels["x"] = "y"
	p.Spec.Containers[0].Image = "changed"
	if _, ok := r.Spec.Template.Labels["x"]; ok || r.Spec.Template.Spec.Containers[0].Image != "nginx" {
		t.Error("NewPod shares memory with the template")
	}

	noLabels := rc(1)
	noLabels.Spec.Template.Labels = nil
	if _, err := NewPod(noLabels); err == nil {
		t.Error("template without labels accepted")
	}
	noTemplate := rc(1)
	noTemplate.Spec.Template = nil
	if _, err := NewPod(noTemplate); err == nil {
		t.Error("missing template accepted")
	}
}

func TestBatchSizes(t *testing.T) {
	tests := []struct {
		n, initial int
		want       []int
	}{
		{0, 1, nil},
		{1, 1, []int{1}},
		{10, 1, []int{1, 2, 4, 3}},
		{500, 1, []int{1, 2, 4, 8, 16, 32, 64, 128, 245}},
		{5, 0, []int{1, 2, 2}},
	}
	for _, tt := range tests {
		if got := BatchSizes(tt.n, tt.initial); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("BatchSizes(%d, %d) = %v, want %v", tt.n, tt.initial, got, tt.want)
		}
	}
}

func TestCalculateStatus(t *testing.T) {
	r := rc(4)
	r.Spec.MinReadySeconds = 30
	active := []*v1.Pod{
		pod("ready-long", readyAt(now.Add(-time.Minute))),
		pod("ready-new", readyAt(now.Add(-10*time.Second))),
		pod("not-ready"),
		pod("partial-labels", withLabels(map[string]string{"app": "nginx"}), readyAt(now.Add(-time.Hour))),
	}
	got := CalculateStatus(r, active, nil, "", now)
	want := v1.ReplicationControllerStatus{Replicas: 4, FullyLabeledReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 2, ObservedGeneration: 3}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status = %+v\nwant     %+v", got, want)
	}

	failed := CalculateStatus(r, active, errors.New("quota exceeded"), ReasonFailedCreate, now)
	if len(failed.Conditions) != 1 || failed.Conditions[0].Type != v1.ReplicationControllerReplicaFailure ||
		failed.Conditions[0].Reason != ReasonFailedCreate || failed.Conditions[0].Message != "quota exceeded" {
		t.Fatalf("failure condition: %+v", failed.Conditions)
	}
	// The same failure again keeps its transition time; success clears it.
	r.Status = failed
	again := CalculateStatus(r, active, errors.New("quota exceeded"), ReasonFailedCreate, now.Add(time.Minute))
	if !reflect.DeepEqual(again.Conditions, failed.Conditions) {
		t.Errorf("repeated failure changed the status: %+v", again.Conditions)
	}
	if ok := CalculateStatus(r, active, nil, "", now); len(ok.Conditions) != 0 || !StatusChanged(failed, ok) {
		t.Errorf("success kept the failure: %+v", ok.Conditions)
	}
}

func TestExpectations(t *testing.T) {
	clk := testingclock.NewFakeClock(now)
	e := NewExpectations(clk)
	if !e.Satisfied("ns/rc") {
		t.Fatal("unknown key not satisfied")
	}
	e.ExpectCreations("ns/rc", 2)
	if e.Satisfied("ns/rc") {
		t.Fatal("satisfied with 2 creations outstanding")
	}
	e.CreationObserved("ns/rc")
	e.CreationObserved("ns/other") // another controller: no effect
	if e.Satisfied("ns/rc") {
		t.Fatal("satisfied with 1 creation outstanding")
	}
	e.CreationObserved("ns/rc")
	e.CreationObserved("ns/rc") // more than expected: stays at zero
	if !e.Satisfied("ns/rc") {
		t.Fatal("not satisfied after both creations")
	}

	e.ExpectDeletions("ns/rc", []types.UID{"a", "b"})
	e.DeletionObserved("ns/rc", "a")
	e.DeletionObserved("ns/rc", "zzz") // not ours
	if adds, dels := e.Pending("ns/rc"); e.Satisfied("ns/rc") || adds != 0 || dels != 1 {
		t.Fatalf("after one deletion: satisfied=%v pending %d/%d", e.Satisfied("ns/rc"), adds, dels)
	}
	// A lagging watch cannot block the controller forever.
	clk.Step(ExpectationsTimeout + time.Second)
	if !e.Satisfied("ns/rc") {
		t.Fatal("expired expectations still block")
	}
	e.ExpectCreations("ns/rc", 1)
	e.Delete("ns/rc")
	if !e.Satisfied("ns/rc") {
		t.Fatal("deleted key still blocks")
	}
}
