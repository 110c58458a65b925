package agent

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func conditions(st v1.PodStatus) map[v1.PodConditionType]v1.PodCondition {
	out := map[v1.PodConditionType]v1.PodCondition{}
	for _, c := range st.Conditions {
		out[c.Type] = c
	}
	return out
}

func TestBuildPodStatus(t *testing.T) {
	now := t0.Add(time.Minute)
	runningObs := containerObservation{ID: "x", Running: true, StartedAt: t0, Ready: true, Started: true, Image: "docker.io/library/busybox:1", ImageID: "docker.io/library/busybox@sha256:abc"}
	for _, tc := range []struct {
		name     string
		pod      *v1.Pod
		obs      map[string]containerObservation
		terminal bool
		phase    v1.PodPhase
		ready    v1.ConditionStatus
		readyWhy string
		initDone v1.ConditionStatus
		states   map[string]string // container → running/waiting:REASON/terminated:REASON
		restarts map[string]int32
	}{
		{name: "new pod", pod: podWith(v1.RestartPolicyAlways, nil, "a"), phase: v1.PodPending,
			ready: v1.ConditionFalse, readyWhy: reasonContainersNotReady, initDone: v1.ConditionTrue,
			states: map[string]string{"a": "waiting:ContainerCreating"}},
		{name: "init pending shows PodInitializing", pod: podWith(v1.RestartPolicyAlways, []string{"i"}, "a"), phase: v1.PodPending,
			obs:   map[string]containerObservation{"i": runningObs},
			ready: v1.ConditionFalse, initDone: v1.ConditionFalse, readyWhy: reasonContainersNotReady,
			states: map[string]string{"i": "running", "a": "waiting:PodInitializing"}},
		{name: "running and ready", pod: podWith(v1.RestartPolicyAlways, nil, "a", "b"), phase: v1.PodRunning,
			obs:   map[string]containerObservation{"a": runningObs, "b": runningObs},
			ready: v1.ConditionTrue, initDone: v1.ConditionTrue, states: map[string]string{"a": "running", "b": "running"}},
		{name: "one not ready", pod: podWith(v1.RestartPolicyAlways, nil, "a", "b"), phase: v1.PodRunning,
			obs:   map[string]containerObservation{"a": runningObs, "b": {ID: "y", Running: true, Started: true}},
			ready: v1.ConditionFalse, readyWhy: reasonContainersNotReady, initDone: v1.ConditionTrue},
		{name: "crash loop", pod: podWith(v1.RestartPolicyAlways, nil, "a"), phase: v1.PodRunning,
			obs: map[string]containerObservation{"a": {ID: "z", Attempt: 3, Exit: exited(2, t0),
				Waiting: &v1.ContainerStateWaiting{Reason: reasonCrashLoopBackOff}}},
			ready: v1.ConditionFalse, readyWhy: reasonContainersNotReady, initDone: v1.ConditionTrue,
			states: map[string]string{"a": "waiting:CrashLoopBackOff"}, restarts: map[string]int32{"a": 3}},
		{name: "image pull failure", pod: podWith(v1.RestartPolicyAlways, nil, "a"), phase: v1.PodPending,
			obs:   map[string]containerObservation{"a": {Waiting: &v1.ContainerStateWaiting{Reason: reasonErrImagePull, Message: "no such image"}}},
			ready: v1.ConditionFalse, readyWhy: reasonContainersNotReady, initDone: v1.ConditionTrue,
			states: map[string]string{"a": "waiting:ErrImagePull"}},
		{name: "Never: failed", pod: podWith(v1.RestartPolicyNever, nil, "a", "b"), phase: v1.PodFailed,
			obs:   map[string]containerObservation{"a": {ID: "1", Exit: exited(0, t0)}, "b": {ID: "2", Exit: &v1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}},
			ready: v1.ConditionFalse, readyWhy: reasonContainersNotReady, initDone: v1.ConditionTrue,
			states: map[string]string{"a": "terminated:", "b": "terminated:OOMKilled"}},
		{name: "Never: a failed start stays terminated", pod: podWith(v1.RestartPolicyNever, nil, "a"), phase: v1.PodFailed,
			obs: map[string]containerObservation{"a": {ID: "1", Exit: &v1.ContainerStateTerminated{ExitCode: 128, Reason: reasonStartError},
				Waiting: &v1.ContainerStateWaiting{Reason: reasonRunContainerError}}},
			ready: v1.ConditionFalse, readyWhy: reasonContainersNotReady, initDone: v1.ConditionTrue,
			states: map[string]string{"a": "terminated:StartError"}},
		{name: "OnFailure: succeeded", pod: podWith(v1.RestartPolicyOnFailure, nil, "a"), phase: v1.PodSucceeded,
			obs:   map[string]containerObservation{"a": {ID: "1", Exit: exited(0, t0)}},
			ready: v1.ConditionFalse, readyWhy: reasonPodCompleted, initDone: v1.ConditionTrue},
		{name: "OnFailure: failed container restarting", pod: podWith(v1.RestartPolicyOnFailure, nil, "a"), phase: v1.PodRunning,
			obs:   map[string]containerObservation{"a": {ID: "1", Exit: exited(1, t0)}},
			ready: v1.ConditionFalse, readyWhy: reasonContainersNotReady, initDone: v1.ConditionTrue},
		{name: "Always: all exited is still Running (restarting)", pod: podWith(v1.RestartPolicyAlways, nil, "a"), phase: v1.PodRunning,
			obs:   map[string]containerObservation{"a": {ID: "1", Exit: exited(0, t0)}},
			ready: v1.ConditionFalse, readyWhy: reasonContainersNotReady, initDone: v1.ConditionTrue},
		{name: "deleted pod: terminal phase", pod: podWith(v1.RestartPolicyAlways, nil, "a"), terminal: true, phase: v1.PodFailed,
			obs:   map[string]containerObservation{"a": {ID: "1", Exit: exited(137, t0)}},
			ready: v1.ConditionFalse, readyWhy: reasonContainersNotReady, initDone: v1.ConditionTrue},
		{name: "deleted pod that exited 0: Succeeded", pod: podWith(v1.RestartPolicyAlways, nil, "a"), terminal: true, phase: v1.PodSucceeded,
			obs:   map[string]containerObservation{"a": {ID: "1", Exit: exited(0, t0)}},
			ready: v1.ConditionFalse, readyWhy: reasonPodCompleted, initDone: v1.ConditionTrue},
		{name: "failed init under Never", pod: podWith(v1.RestartPolicyNever, []string{"i"}, "a"), phase: v1.PodFailed,
			obs:   map[string]containerObservation{"i": {ID: "1", Exit: exited(1, t0)}},
			ready: v1.ConditionFalse, readyWhy: reasonContainersNotReady, initDone: v1.ConditionFalse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := tc.obs
			if obs == nil {
				obs = map[string]containerObservation{}
			}
			st := buildPodStatus(statusInput{Pod: tc.pod, Containers: obs, SandboxReady: true, PodIP: "10.1.0.2", HostIP: "192.0.2.1", StartTime: t0, Terminal: tc.terminal, Now: now})
			if st.Phase != tc.phase {
				t.Fatalf("phase %s, want %s", st.Phase, tc.phase)
			}
			cond := conditions(st)
			if r := cond[v1.PodReady]; r.Status != tc.ready || (tc.readyWhy != "" && r.Reason != tc.readyWhy) {
				t.Errorf("Ready %+v, want %s %s", r, tc.ready, tc.readyWhy)
			}
			if cond[v1.ContainersReady].Status != tc.ready {
				t.Errorf("ContainersReady %+v", cond[v1.ContainersReady])
			}
			if i := cond[v1.PodInitialized]; i.Status != tc.initDone {
				t.Errorf("Initialized %+v, want %s", i, tc.initDone)
			}
			if s := cond[v1.PodScheduled]; s.Status != v1.ConditionTrue {
				t.Errorf("PodScheduled %+v", s)
			}
			if st.PodIP != "10.1.0.2" || len(st.PodIPs) != 1 || st.HostIP != "192.0.2.1" || st.StartTime == nil || !st.StartTime.Equal(&metav1.Time{Time: t0}) {
				t.Errorf("addresses/start: %+v", st)
			}
			all := append(append([]v1.ContainerStatus{}, st.InitContainerStatuses...), st.ContainerStatuses...)
			for name, want := range tc.states {
				var got string
				for _, cs := range all {
					if cs.Name != name {
						continue
					}
					switch {
					case cs.State.Running != nil:
						got = "running"
					case cs.State.Waiting != nil:
						got = "waiting:" + cs.State.Waiting.Reason
					case cs.State.Terminated != nil:
						got = "terminated:" + cs.State.Terminated.Reason
					}
				}
				if got != want {
					t.Errorf("container %s state %q, want %q", name, got, want)
				}
			}
			for name, want := range tc.restarts {
				for _, cs := range all {
					if cs.Name == name && cs.RestartCount != want {
						t.Errorf("container %s restarts %d, want %d", name, cs.RestartCount, want)
					}
				}
			}
		})
	}
}

func TestBuildPodStatusKeepsTransitionTimes(t *testing.T) {
	pod := podWith(v1.RestartPolicyAlways, nil, "a")
	obs := map[string]containerObservation{"a": {ID: "x", Running: true, StartedAt: t0, Ready: true, Started: true}}
	first := buildPodStatus(statusInput{Pod: pod, Containers: obs, SandboxReady: true, Now: t0})
	pod.Status = first
	second := buildPodStatus(statusInput{Pod: pod, Containers: obs, SandboxReady: true, Now: t0.Add(time.Hour)})
	for _, c := range second.Conditions {
		if !c.LastTransitionTime.Time.Equal(t0) {
			t.Errorf("%s moved to %s without a change", c.Type, c.LastTransitionTime)
		}
	}
	// A change moves it; a terminal phase is final.
	obs["a"] = containerObservation{ID: "x", Exit: exited(1, t0)}
	pod.Spec.RestartPolicy = v1.RestartPolicyNever
	third := buildPodStatus(statusInput{Pod: pod, Containers: obs, SandboxReady: true, Now: t0.Add(2 * time.Hour)})
	if r := conditions(third)[v1.PodReady]; !r.LastTransitionTime.Time.Equal(t0.Add(2*time.Hour)) || r.Status != v1.ConditionFalse {
		t.Errorf("Ready after the change %+v", r)
	}
	pod.Status = third
	obs["a"] = containerObservation{ID: "y", Running: true, Ready: true, Started: true}
	if st := buildPodStatus(statusInput{Pod: pod, Containers: obs, Now: t0.Add(3 * time.Hour)}); st.Phase != v1.PodFailed {
		t.Errorf("phase left the terminal %s for %s", third.Phase, st.Phase)
	}
}

func TestReadinessGates(t *testing.T) {
	pod := podWith(v1.RestartPolicyAlways, nil, "a")
	pod.Spec.ReadinessGates = []v1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	obs := map[string]containerObservation{"a": {ID: "x", Running: true, Ready: true, Started: true}}
	st := buildPodStatus(statusInput{Pod: pod, Containers: obs, SandboxReady: true, Now: t0})
	if r := conditions(st)[v1.PodReady]; r.Status != v1.ConditionFalse || r.Reason != reasonReadinessGatesNotReady {
		t.Fatalf("Ready %+v with an unmet gate", r)
	}
	pod.Status.Conditions = append(pod.Status.Conditions, v1.PodCondition{Type: "example.com/lb", Status: v1.ConditionTrue})
	st = buildPodStatus(statusInput{Pod: pod, Containers: obs, SandboxReady: true, Now: t0})
	if conditions(st)[v1.PodReady].Status != v1.ConditionTrue || conditions(st)["example.com/lb"].Status != v1.ConditionTrue {
		t.Fatalf("conditions %+v", st.Conditions)
	}
}
