package agent

import (
	"maps"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2025, 11, 25, 18, 0, 0, 0, time.UTC)

func TestBackoff(t *testing.T) {
	var b backoff
	exit1 := t0
	if wait, _ := b.inBackoff(exit1, t0); wait {
		t.Fatal("no entry: the first restart is immediate")
	}
	b = b.next(exit1)
	if b.Delay != 10*time.Second {
		t.Fatalf("first delay %s", b.Delay)
	}
	exit2 := t0.Add(2 * time.Second)
	wait, until := b.inBackoff(exit2, exit2.Add(5*time.Second))
	if !wait || !until.Equal(exit2.Add(10*time.Second)) {
		t.Fatalf("second exit: wait %v until %s", wait, until)
	}
	if wait, _ := b.inBackoff(exit2, exit2.Add(10*time.Second)); wait {
		t.Fatal("still waiting once the delay passed")
	}
	delays := []time.Duration{}
	ts := exit2
	for range 8 {
		b = b.next(ts)
		delays = append(delays, b.Delay)
		ts = ts.Add(b.Delay)
	}
	want := []time.Duration{20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second, 300 * time.Second, 300 * time.Second, 300 * time.Second}
	if !slices.Equal(delays, want) {
		t.Fatalf("delays %v, want %v", delays, want)
	}
	// Untouched for more than twice the maximum: starts over.
	late := ts.Add(11 * time.Minute)
	if wait, _ := b.inBackoff(late, late); wait {
		t.Fatal("expired entry still backs off")
	}
	if b = b.next(late); b.Delay != 10*time.Second {
		t.Fatalf("expired entry restarts at %s", b.Delay)
	}
}

func exited(code int32, at time.Time) *v1.ContainerStateTerminated {
	return &v1.ContainerStateTerminated{ExitCode: code, FinishedAt: metav1.NewTime(at)}
}

func podWith(policy v1.RestartPolicy, init []string, containers ...string) *v1.Pod {
	p := &v1.Pod{Spec: v1.PodSpec{RestartPolicy: policy}}
	for _, n := range init {
		p.Spec.InitContainers = append(p.Spec.InitContainers, v1.Container{Name: n})
	}
	for _, n := range containers {
		p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: n})
	}
	return p
}

func TestPlanPod(t *testing.T) {
	run := containerPlanState{Created: true, Running: true}
	ok := containerPlanState{Created: true, Exit: exited(0, t0)}
	failed := containerPlanState{Created: true, Exit: exited(1, t0)}
	failedInBackoff := containerPlanState{Created: true, Exit: exited(1, t0), Backoff: backoff{Delay: 10 * time.Second, LastUpdate: t0}}
	now := t0.Add(time.Second)
	for _, tc := range []struct {
		name     string
		pod      *v1.Pod
		states   map[string]containerPlanState
		stop     bool
		start    []startStep
		kill     []killStep
		backoff  []string
		terminal bool
	}{
		{name: "fresh pod starts all containers in order", pod: podWith(v1.RestartPolicyAlways, nil, "a", "b"),
			start: []startStep{{Name: "a"}, {Name: "b"}}},
		{name: "init containers first, one at a time", pod: podWith(v1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			start: []startStep{{Name: "i1", Init: true}}},
		{name: "running init container: wait", pod: podWith(v1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			states: map[string]containerPlanState{"i1": run}},
		{name: "next init container", pod: podWith(v1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			states: map[string]containerPlanState{"i1": ok}, start: []startStep{{Name: "i2", Init: true}}},
		{name: "init done: regular containers", pod: podWith(v1.RestartPolicyAlways, []string{"i1"}, "a"),
			states: map[string]containerPlanState{"i1": ok}, start: []startStep{{Name: "a"}}},
		{name: "failed init container restarts", pod: podWith(v1.RestartPolicyOnFailure, []string{"i1"}, "a"),
			states: map[string]containerPlanState{"i1": failed}, start: []startStep{{Name: "i1", Init: true, AfterExit: true}}},
		{name: "failed init container under Never: pod failed", pod: podWith(v1.RestartPolicyNever, []string{"i1"}, "a"),
			states: map[string]containerPlanState{"i1": failed}, terminal: true},
		{name: "failed init container in backoff", pod: podWith(v1.RestartPolicyAlways, []string{"i1"}, "a"),
			states: map[string]containerPlanState{"i1": failedInBackoff}, backoff: []string{"i1"}},
		{name: "Always restarts a completed container", pod: podWith(v1.RestartPolicyAlways, nil, "a"),
			states: map[string]containerPlanState{"a": ok}, start: []startStep{{Name: "a", AfterExit: true}}},
		{name: "backoff delays the restart", pod: podWith(v1.RestartPolicyAlways, nil, "a", "b"),
			states: map[string]containerPlanState{"a": failedInBackoff, "b": run}, backoff: []string{"a"}},
		{name: "OnFailure: success is final", pod: podWith(v1.RestartPolicyOnFailure, nil, "a", "b"),
			states: map[string]containerPlanState{"a": ok, "b": failed}, start: []startStep{{Name: "b", AfterExit: true}}},
		{name: "OnFailure: all succeeded", pod: podWith(v1.RestartPolicyOnFailure, nil, "a"),
			states: map[string]containerPlanState{"a": ok}, terminal: true},
		{name: "Never: all ended", pod: podWith(v1.RestartPolicyNever, nil, "a", "b"),
			states: map[string]containerPlanState{"a": ok, "b": failed}, terminal: true},
		{name: "Never: one still runs", pod: podWith(v1.RestartPolicyNever, nil, "a", "b"),
			states: map[string]containerPlanState{"a": failed, "b": run}},
		{name: "liveness failure: kill and restart at once", pod: podWith(v1.RestartPolicyAlways, nil, "a"),
			states: map[string]containerPlanState{"a": {Created: true, Running: true, LivenessFailed: true}},
			kill:   []killStep{{Name: "a", Reason: killLivenessFailed}}, start: []startStep{{Name: "a"}}},
		{name: "changed spec: replaced even under Never", pod: podWith(v1.RestartPolicyNever, nil, "a"),
			states: map[string]containerPlanState{"a": {Created: true, Running: true, SpecChanged: true}},
			kill:   []killStep{{Name: "a", Reason: killSpecChanged}}, start: []startStep{{Name: "a"}}},
		{name: "startup failure under Never: kill only", pod: podWith(v1.RestartPolicyNever, nil, "a"),
			states: map[string]containerPlanState{"a": {Created: true, Running: true, StartupFailed: true}},
			kill:   []killStep{{Name: "a", Reason: killStartupFailed}}},
		{name: "deletion stops what runs", pod: podWith(v1.RestartPolicyAlways, []string{"i1"}, "a", "b"), stop: true,
			states: map[string]containerPlanState{"i1": ok, "a": run, "b": failed},
			kill:   []killStep{{Name: "a", Reason: killForDeletion}}, terminal: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			states := tc.states
			if states == nil {
				states = map[string]containerPlanState{}
			}
			p := planPod(planInput{Pod: tc.pod, Containers: states, Stop: tc.stop, Now: now})
			if !slices.Equal(p.Start, tc.start) || !slices.Equal(p.Kill, tc.kill) || p.Terminal != tc.terminal {
				t.Fatalf("plan start %+v kill %+v terminal %v; want start %+v kill %+v terminal %v", p.Start, p.Kill, p.Terminal, tc.start, tc.kill, tc.terminal)
			}
			got := slices.Sorted(maps.Keys(p.BackOff))
			if !slices.Equal(got, tc.backoff) {
				t.Fatalf("backoff %v, want %v", got, tc.backoff)
			}
		})
	}
}
