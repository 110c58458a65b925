package hollow

import (
	"net/netip"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var now = time.Date(2025, 11, 25, 18, 0, 0, 0, time.UTC)

func TestIPPool(t *testing.T) {
	p := newIPPool(netip.MustParsePrefix("10.1.2.0/29"))
	if p.hostIP().String() != "10.1.2.1" {
		t.Errorf("hostIP %s", p.hostIP())
	}
	var got []string
	for {
		a, err := p.allocate()
		if err != nil {
			break
		}
		got = append(got, a.String())
	}
	// .0 network, .1 node, .7 broadcast are never handed out.
	want := []string{"10.1.2.2", "10.1.2.3", "10.1.2.4", "10.1.2.5", "10.1.2.6"}
	if len(got) != len(want) {
		t.Fatalf("allocated %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocated %v, want %v", got, want)
		}
	}
	p.release(netip.MustParseAddr("10.1.2.4"))
	p.release(netip.MustParseAddr("10.1.2.4")) // twice: once in the free list
	if a, err := p.allocate(); err != nil || a.String() != "10.1.2.4" {
		t.Fatalf("reuse: %v %v", a, err)
	}
	if _, err := p.allocate(); err == nil {
		t.Fatal("allocated from an exhausted pool")
	}
}

func TestRunningStatus(t *testing.T) {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{UID: "u1"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "a", Image: "busybox"}, {Name: "b", Image: "nginx"}}},
		Status:     v1.PodStatus{Phase: v1.PodPending, Conditions: []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionTrue}}},
	}
	st := runningStatus(pod, "10.1.2.3", "10.1.2.1", now)
	if st.Phase != v1.PodRunning || st.PodIP != "10.1.2.3" || st.HostIP != "10.1.2.1" || len(st.ContainerStatuses) != 2 {
		t.Fatalf("status %+v", st)
	}
	ready := false
	for _, c := range st.Conditions {
		if c.Type == v1.PodReady && c.Status == v1.ConditionTrue {
			ready = true
		}
	}
	if !ready || len(st.Conditions) != 4 || st.ContainerStatuses[1].State.Running == nil || !st.ContainerStatuses[1].Ready {
		t.Errorf("conditions %+v containers %+v", st.Conditions, st.ContainerStatuses)
	}
}

func TestHeartbeatStatus(t *testing.T) {
	capacity := v1.ResourceList{v1.ResourceCPU: resource.MustParse("4")}
	first := heartbeatStatus(v1.NodeStatus{}, capacity, "10.1.2.1", now)
	later := heartbeatStatus(first, capacity, "10.1.2.1", now.Add(10*time.Second))
	var ready v1.NodeCondition
	for _, c := range later.Conditions {
		if c.Type == v1.NodeReady {
			ready = c
		}
	}
	if ready.Status != v1.ConditionTrue || !ready.LastHeartbeatTime.Time.Equal(now.Add(10*time.Second)) || !ready.LastTransitionTime.Time.Equal(now) {
		t.Errorf("Ready %+v", ready)
	}
	// After the controller marked it Unknown, the next heartbeat is a transition.
	unknown := later.DeepCopy()
	for i := range unknown.Conditions {
		unknown.Conditions[i].Status = v1.ConditionUnknown
	}
	back := heartbeatStatus(*unknown, capacity, "10.1.2.1", now.Add(time.Minute))
	for _, c := range back.Conditions {
		if c.Type == v1.NodeReady && (c.Status != v1.ConditionTrue || !c.LastTransitionTime.Time.Equal(now.Add(time.Minute))) {
			t.Errorf("recovered Ready %+v", c)
		}
	}
	if q := later.Allocatable[v1.ResourceCPU]; q.String() != "4" {
		t.Errorf("allocatable %v", later.Allocatable)
	}
}
