package apilatency

import (
	"testing"
	"time"
)

// TestWorkloadCounts runs short phases against both targets of a real API
// server and etcd and checks what they did: every pod created, updated and
// deleted, the base pods still there, reads made, nothing failed.
func TestWorkloadCounts(t *testing.T) {
	w := Workload{BasePods: 10, GetRate: 20, ListRate: 5, Logger: benchLogger(t)}
	api, raw := setupTargets(t, w)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		t    Target
	}{{"api", api}, {"etcd", raw}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := NewRecorder()
			// 30 writes/s for 1s: pods start at 0, 100, ... 900 ms.
			if err := RunSteady(ctx, tc.t, rec, SteadyConfig{Workload: w, WriteRate: 30, Duration: time.Second, Name: "steady"}); err != nil {
				t.Fatal(err)
			}
			s := rec.Summary()
			if s.Errors() != 0 {
				t.Fatalf("%d requests failed; first: %v", s.Errors(), s.FirstErr)
			}
			for _, op := range Mutating() {
				if n := s.Ops[op].Count; n != 10 {
					t.Errorf("steady: %d %s requests, want 10", n, op)
				}
			}
			if s.Ops[OpGet].Count == 0 || s.Ops[OpList].Count == 0 {
				t.Errorf("steady: %d gets and %d lists, want some of each", s.Ops[OpGet].Count, s.Ops[OpList].Count)
			}
			rec = NewRecorder()
			if _, err := RunClosed(ctx, tc.t, rec, ClosedConfig{Workload: w, Concurrency: 3, Duration: 300 * time.Millisecond, Name: "closed"}); err != nil {
				t.Fatal(err)
			}
			s = rec.Summary()
			if s.Errors() != 0 {
				t.Fatalf("closed: %d requests failed; first: %v", s.Errors(), s.FirstErr)
			}
			c, u, d := s.Ops[OpCreate].Count, s.Ops[OpUpdate].Count, s.Ops[OpDelete].Count
			if c == 0 || c != u || c != d {
				t.Errorf("closed: %d creates, %d updates, %d deletes; want equal and not zero", c, u, d)
			}
			n, err := tc.t.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != w.BasePods {
				t.Errorf("%d pods left, want the %d base pods (churned pods deleted)", n, w.BasePods)
			}
		})
	}
}

// TestRamperSteps runs a two-step ramp on the store and checks its
// bookkeeping: the steps taken, a stop reason, a best step.
func TestRamperSteps(t *testing.T) {
	w := Workload{BasePods: 5, Logger: benchLogger(t)}
	_, raw := setupTargets(t, w)
	res, err := Ramp(t.Context(), raw, RampConfig{Workload: w, Concurrency: []int{1, 2}, StepDuration: 200 * time.Millisecond, Name: "ramp"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) == 0 || len(res.Steps) > 2 || res.StopReason == "" {
		t.Fatalf("ramp = %d steps, stop reason %q", len(res.Steps), res.StopReason)
	}
	if res.Best < 0 || res.Steps[res.Best].Throughput <= 0 {
		t.Errorf("best step %d of %+v", res.Best, res.Steps)
	}
	for _, s := range res.Steps {
		if s.Summary.Errors() != 0 {
			t.Errorf("step %d: %d errors; first: %v", s.Concurrency, s.Summary.Errors(), s.Summary.FirstErr)
		}
	}
}
