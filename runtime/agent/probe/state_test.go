package probe

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

var t0 = time.Date(2025, 11, 25, 18, 0, 0, 0, time.UTC)

func TestDecide(t *testing.T) {
	running := Container{ID: "c1", Running: true, StartedAt: t0, Started: true}
	for _, tc := range []struct {
		name string
		kind Kind
		spec v1.Probe
		c    Container
		at   time.Duration // after t0
		want decision
	}{
		{"no instance", Liveness, v1.Probe{}, Container{}, 0, skip},
		{"initial delay", Liveness, v1.Probe{InitialDelaySeconds: 30}, running, 29 * time.Second, skip},
		{"after the initial delay", Liveness, v1.Probe{InitialDelaySeconds: 30}, running, 30 * time.Second, probeNow},
		{"no delay", Readiness, v1.Probe{}, running, 0, probeNow},
		{"readiness of a stopped container (already unready)", Readiness, v1.Probe{}, Container{ID: "c1"}, 0, skip},
		{"liveness of a stopped container", Liveness, v1.Probe{}, Container{ID: "c1"}, 0, skip},
		{"liveness waits for startup", Liveness, v1.Probe{}, Container{ID: "c1", Running: true, StartedAt: t0}, time.Minute, skip},
		{"startup probes until started", Startup, v1.Probe{}, Container{ID: "c1", Running: true, StartedAt: t0}, 0, probeNow},
		{"startup is over once started", Startup, v1.Probe{}, running, 0, skip},
		{"deletion ends liveness", Liveness, v1.Probe{}, Container{ID: "c1", Running: true, StartedAt: t0, Started: true, Deleting: true}, 0, publishSuccess},
		{"deletion keeps readiness", Readiness, v1.Probe{}, Container{ID: "c1", Running: true, StartedAt: t0, Started: true, Deleting: true}, 0, probeNow},
	} {
		s := newState(tc.kind, tc.spec)
		s.observe(tc.c)
		if got := s.decide(tc.c, t0.Add(tc.at)); got != tc.want {
			t.Errorf("%s: decision %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestStoppedContainerBecomesUnready(t *testing.T) {
	s := newState(Readiness, v1.Probe{})
	c := Container{ID: "c1", Running: true, StartedAt: t0, Started: true}
	s.observe(c)
	s.record(Success)
	c.Running = false
	if d := s.decide(c, t0); d != publishFailure {
		t.Fatalf("decision %d, want publishFailure", d)
	}
	if !s.set(Failure) || s.result != Failure {
		t.Fatal("not unready")
	}
}

func TestRecordThresholds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kind    Kind
		spec    v1.Probe
		results []Result
		want    []Result // published after each
	}{
		{"liveness fails after 3 (default)", Liveness, v1.Probe{},
			[]Result{Failure, Failure, Failure}, []Result{Success, Success, Failure}},
		{"a success resets the count", Liveness, v1.Probe{FailureThreshold: 2},
			[]Result{Failure, Success, Failure, Failure}, []Result{Success, Success, Success, Failure}},
		{"readiness starts unready, ready after successThreshold", Readiness, v1.Probe{SuccessThreshold: 2},
			[]Result{Success, Success, Failure, Success}, []Result{Failure, Success, Success, Success}},
		{"readiness unready after failureThreshold", Readiness, v1.Probe{FailureThreshold: 2},
			[]Result{Success, Failure, Failure, Success}, []Result{Success, Success, Failure, Success}},
		{"unknown results are dropped", Readiness, v1.Probe{},
			[]Result{Unknown, Success, Unknown}, []Result{Failure, Success, Success}},
		{"startup starts unknown", Startup, v1.Probe{FailureThreshold: 1},
			[]Result{Unknown, Success}, []Result{Unknown, Success}},
		{"liveness/startup successThreshold is always 1", Liveness, v1.Probe{SuccessThreshold: 5, FailureThreshold: 1},
			[]Result{Success}, []Result{Success}},
	} {
		s := newState(tc.kind, tc.spec)
		s.observe(Container{ID: "c1", Running: true})
		for i, r := range tc.results {
			s.record(r)
			if s.result != tc.want[i] {
				t.Errorf("%s: after %d results (%v) published %v, want %v", tc.name, i+1, tc.results[:i+1], s.result, tc.want[i])
				break
			}
		}
	}
}

func TestFailureHoldsUntilNewInstance(t *testing.T) {
	s := newState(Liveness, v1.Probe{FailureThreshold: 1})
	c := Container{ID: "c1", Running: true, StartedAt: t0, Started: true}
	s.observe(c)
	if !s.record(Failure) || s.result != Failure {
		t.Fatal("the failure is not published")
	}
	if d := s.decide(c, t0.Add(time.Hour)); d != skip {
		t.Fatalf("decision %d while on hold", d)
	}
	c2 := Container{ID: "c2", Running: true, StartedAt: t0.Add(time.Hour), Started: true}
	if !s.observe(c2) || s.result != Success {
		t.Fatalf("a new instance starts over: result %v", s.result)
	}
	if d := s.decide(c2, t0.Add(time.Hour)); d != probeNow {
		t.Fatalf("decision %d for the new instance", d)
	}
}

func TestDefaults(t *testing.T) {
	p := withDefaults(Readiness, v1.Probe{})
	if p.PeriodSeconds != 10 || p.TimeoutSeconds != 1 || p.FailureThreshold != 3 || p.SuccessThreshold != 1 {
		t.Fatalf("%+v", p)
	}
}

func TestAdoptedInstanceKeepsVerdicts(t *testing.T) {
	r := newState(Readiness, v1.Probe{})
	r.observe(Container{ID: "c1", Running: true, Started: true, WasReady: true})
	if r.result != Success {
		t.Fatalf("adopted ready container starts %v", r.result)
	}
	s := newState(Startup, v1.Probe{})
	s.observe(Container{ID: "c1", Running: true, WasStarted: true})
	if s.result != Success {
		t.Fatalf("adopted started container starts %v", s.result)
	}
	fresh := newState(Readiness, v1.Probe{})
	fresh.observe(Container{ID: "c2", Running: true})
	if fresh.result != Failure {
		t.Fatalf("new container starts %v", fresh.result)
	}
}
