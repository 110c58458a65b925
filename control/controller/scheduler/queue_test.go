package scheduler

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	testingclock "k8s.io/utils/clock/testing"
)

func TestBackoffFor(t *testing.T) {
	want := []time.Duration{0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for attempts, w := range want {
		if got := backoffFor(attempts); got != w {
			t.Errorf("backoffFor(%d) = %v, want %v", attempts, got, w)
		}
	}
}

// popNow pops without blocking; nil when nothing is active.
func popNow(t *testing.T, q *schedulingQueue) (*queuedPod, int64) {
	t.Helper()
	if a, _, _ := q.lengths(); a == 0 {
		return nil, 0
	}
	qp, cycle, ok := q.pop(context.Background())
	if !ok {
		t.Fatal("pop failed")
	}
	return qp, cycle
}

func TestQueueLifecycle(t *testing.T) {
	clk := testingclock.NewFakeClock(now)
	q := newSchedulingQueue(clk)
	q.add("ns/a", "ua", true)
	q.add("ns/b", "ub", true)
	q.add("ns/a", "ua", true) // duplicate: no second entry
	if a, _, _ := q.lengths(); a != 2 {
		t.Fatalf("active = %d, want 2", a)
	}

	qa, cycle := popNow(t, q)
	if qa.key != "ns/a" {
		t.Fatalf("FIFO: popped %s first", qa.key)
	}
	q.unschedulableAttempt(qa, cycle)
	if _, _, u := q.lengths(); u != 1 {
		t.Fatalf("unschedulable = %d, want 1", u)
	}
	// A status-only update leaves it parked; a spec change requeues it,
	// into backoff since its 1s has not passed.
	q.add("ns/a", "ua", false)
	if _, b, u := q.lengths(); b != 0 || u != 1 {
		t.Fatalf("status update moved the pod: backoff %d unschedulable %d", b, u)
	}
	q.add("ns/a", "ua", true)
	if _, b, u := q.lengths(); b != 1 || u != 0 {
		t.Fatalf("spec update: backoff %d unschedulable %d, want 1 0", b, u)
	}
	q.flush()
	if a, b, _ := q.lengths(); a != 1 || b != 1 {
		t.Fatalf("flush before backoff ends: active %d backoff %d, want 1 1", a, b)
	}
	clk.Step(InitialBackoff)
	q.flush()
	if a, b, _ := q.lengths(); a != 2 || b != 0 {
		t.Fatalf("flush after backoff: active %d backoff %d, want 2 0", a, b)
	}
	qb, _ := popNow(t, q)
	qa, cycle = popNow(t, q)
	if qb.key != "ns/b" || qa.key != "ns/a" || qa.attempts != 1 {
		t.Fatalf("popped %s then %s (attempts %d)", qb.key, qa.key, qa.attempts)
	}
	q.done(qb)
	q.unschedulableAttempt(qa, cycle)
	// Second failure: 2s backoff; a node event moves it to backoff, and it
	// becomes active only after 2s.
	q.moveAll()
	clk.Step(time.Second)
	q.flush()
	if a, b, _ := q.lengths(); a != 0 || b != 1 {
		t.Fatalf("1s into a 2s backoff: active %d backoff %d", a, b)
	}
	clk.Step(time.Second)
	q.flush()
	if a, _, _ := q.lengths(); a != 1 {
		t.Fatalf("after 2s: active %d, want 1", a)
	}
}

func TestQueueMoveDuringAttempt(t *testing.T) {
	clk := testingclock.NewFakeClock(now)
	q := newSchedulingQueue(clk)
	q.add("ns/a", "ua", true)
	qa, cycle := popNow(t, q)
	// A node appears while the attempt runs: the pod must not be parked
	// as unschedulable (it would miss the event), but backed off.
	q.moveAll()
	q.unschedulableAttempt(qa, cycle)
	if _, b, u := q.lengths(); b != 1 || u != 0 {
		t.Fatalf("backoff %d unschedulable %d, want 1 0", b, u)
	}
}

func TestQueueDeleteAndUnschedulableTimeout(t *testing.T) {
	clk := testingclock.NewFakeClock(now)
	q := newSchedulingQueue(clk)
	q.add("ns/a", "ua", true)
	qa, cycle := popNow(t, q)
	q.delete("ns/a") // deleted while in flight
	q.unschedulableAttempt(qa, cycle)
	if a, b, u := q.lengths(); a+b+u != 0 {
		t.Fatalf("deleted pod came back: %d %d %d", a, b, u)
	}
	q.add("ns/b", "ub", true)
	qb, cycle := popNow(t, q)
	q.unschedulableAttempt(qb, cycle)
	clk.Step(unschedulableTimeout)
	q.flush()
	if a, _, u := q.lengths(); a != 1 || u != 0 {
		t.Fatalf("after the unschedulable timeout: active %d unschedulable %d", a, u)
	}
	// A new pod with the same name replaces the old entry.
	q.add("ns/b", "ub2", true)
	qb2, _ := popNow(t, q)
	if qb2.uid != "ub2" {
		t.Errorf("popped uid %s, want ub2", qb2.uid)
	}
}

func TestQueuePopStopsWithContext(t *testing.T) {
	q := newSchedulingQueue(testingclock.NewFakeClock(now))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool)
	go func() {
		_, _, ok := q.pop(ctx)
		done <- ok
	}()
	cancel()
	if ok := <-done; ok {
		t.Error("pop returned a pod after cancel")
	}
}

func TestCacheAssumeConfirmForget(t *testing.T) {
	c := newSchedCache()
	c.setNode(node("n1", "1", "1Gi", 10))
	c.setNode(node("n2", "1", "1Gi", 10))
	p := pod("p", "600m", "")
	if got, err := c.scheduleAndAssume(NewPodInfo(p), now); err != nil || got != "n1" {
		t.Fatalf("scheduleAndAssume = %q, %v", got, err)
	}
	if !c.isAssumed(p.UID) {
		t.Fatal("not assumed")
	}
	// The next pod sees the first one's request on n1.
	q := pod("q", "600m", "")
	if got, _ := c.scheduleAndAssume(NewPodInfo(q), now); got != "n2" {
		t.Fatalf("second pod on %q, want n2", got)
	}
	// A stale watch event (still unbound) keeps the assumption.
	c.observePod(p)
	if !c.isAssumed(p.UID) {
		t.Fatal("stale update dropped the assumption")
	}
	// The watch confirms p on n1: counted once.
	bound := p.DeepCopy()
	bound.Spec.NodeName = "n1"
	c.observePod(bound)
	if ni, _ := c.nodeInfo("n1"); c.isAssumed(p.UID) || ni.Requested.MilliCPU != 600 || ni.Pods != 1 {
		t.Fatalf("after confirm: assumed %v, n1 %+v", c.isAssumed(p.UID), ni.Requested)
	}
	// Binding q failed: forget it, n2 is free again.
	c.forget(q.UID)
	if ni, _ := c.nodeInfo("n2"); ni.Pods != 0 || ni.Requested.MilliCPU != 0 {
		t.Fatalf("after forget: n2 %+v", ni)
	}
	// p finishes: it no longer counts.
	done := bound.DeepCopy()
	done.Status.Phase = v1.PodSucceeded
	c.observePod(done)
	if ni, _ := c.nodeInfo("n1"); ni.Pods != 0 {
		t.Fatalf("finished pod still counted: %+v", ni)
	}
}

func TestCachePodsOnUnknownNode(t *testing.T) {
	c := newSchedCache()
	p := pod("p", "1", "", onNode("later"))
	c.observePod(p)
	// The node is unknown: nothing to schedule on.
	if _, err := c.scheduleAndAssume(NewPodInfo(pod("q", "", "")), now); err == nil {
		t.Fatal("scheduled onto a node whose object is unknown")
	}
	c.setNode(node("later", "1", "1Gi", 10))
	if _, err := c.scheduleAndAssume(NewPodInfo(pod("q", "500m", "")), now); err == nil {
		t.Fatal("the earlier pod's request was not counted")
	}
	c.removeNode("later")
	c.removePod(p.UID)
	if _, ok := c.nodeInfo("later"); ok {
		t.Error("deleted node's placeholder kept after its last pod left")
	}
}

func TestNodeMayFitMore(t *testing.T) {
	base := node("n", "1", "1Gi", 10)
	heartbeat := base.DeepCopy()
	heartbeat.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(now)
	tests := []struct {
		name string
		cur  *v1.Node
		want bool
	}{
		{"heartbeat only", heartbeat, false},
		{"became not ready", node("n", "1", "1Gi", 10, notReady), true},
		{"cordoned", node("n", "1", "1Gi", 10, cordoned), true},
		{"label", node("n", "1", "1Gi", 10, labeled("a", "b")), true},
		{"taint", node("n", "1", "1Gi", 10, tainted("k", "v", v1.TaintEffectNoSchedule)), true},
		{"allocatable", node("n", "2", "1Gi", 10), true},
	}
	for _, tt := range tests {
		if got := nodeMayFitMore(base, tt.cur); got != tt.want {
			t.Errorf("%s: nodeMayFitMore = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestWithUnschedulableCondition(t *testing.T) {
	p := pod("p", "", "")
	p1 := withUnschedulableCondition(p, "0/1 nodes are available: 1 Too many pods.", now)
	if p1 == nil || len(p1.Status.Conditions) != 1 || p1.Status.Conditions[0].Reason != v1.PodReasonUnschedulable {
		t.Fatalf("condition not added: %+v", p1)
	}
	if len(p.Status.Conditions) != 0 {
		t.Fatal("input pod modified")
	}
	if again := withUnschedulableCondition(p1, "0/1 nodes are available: 1 Too many pods.", now.Add(time.Minute)); again != nil {
		t.Error("unchanged condition rewritten")
	}
	p2 := withUnschedulableCondition(p1, "0/2 nodes are available: 2 Too many pods.", now.Add(time.Minute))
	if p2 == nil || len(p2.Status.Conditions) != 1 || !p2.Status.Conditions[0].LastTransitionTime.Time.Equal(now) {
		t.Errorf("message change: %+v (transition time must stay)", p2)
	}
}
