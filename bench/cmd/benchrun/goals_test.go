package main

import (
	"strings"
	"testing"
)

func TestEvaluateGoals(t *testing.T) {
	goals := []Goal{
		{Suite: "api", Benchmark: "BenchmarkLat/steady", Metric: "create-p99-ms", BaselineMetric: "etcd-create-p99-ms", Max: 50},
		{Suite: "api", Benchmark: "BenchmarkLat/steady", Metric: "list-p99-ms", BaselineMetric: "etcd-list-p99-ms"},
		{Suite: "api", Benchmark: "BenchmarkRSS", Metric: "pods-rss-MiB", BaselineMetric: "idle-rss-MiB", Max: 150},
		{Suite: "lb", Benchmark: "BenchmarkConn", Metric: "vip-p50-ns", BaselineMetric: "pod-p50-ns", MaxRatio: 1.05},
		{Suite: "lb", Benchmark: "BenchmarkConn", Metric: "vip-p99-ns", BaselineMetric: "pod-p99-ns", MaxRatio: 1.05},
		{Suite: "lb", Benchmark: "BenchmarkGone", Metric: "x", Max: 1},
		{Suite: "runtime", Benchmark: "BenchmarkRun", Metric: "median-ms", BaselineBenchmark: "BenchmarkBare", BaselineMetric: "median-ms"},
		{Suite: "runtime", Benchmark: "BenchmarkSkipped", Metric: "median-ms", Max: 1},
		{Suite: "agent", Benchmark: "BenchmarkNotSelected", Metric: "x", Max: 1},
	}
	ok := func(name string, ms ...Metric) BenchResult {
		return BenchResult{Name: name, Status: BenchOK, Metrics: ms}
	}
	suites := []SuiteResult{
		{Name: "api", Benchmarks: []BenchResult{
			ok("BenchmarkLat/steady", Metric{"create-p99-ms", 12}, Metric{"etcd-create-p99-ms", 3}, Metric{"list-p99-ms", 8}, Metric{"etcd-list-p99-ms", 2}),
			ok("BenchmarkRSS", Metric{"pods-rss-MiB", 170}, Metric{"idle-rss-MiB", 85}),
		}},
		{Name: "lb", Status: SuiteTimedOut, Benchmarks: []BenchResult{
			ok("BenchmarkConn", Metric{"vip-p50-ns", 1000}, Metric{"pod-p50-ns", 990}, Metric{"vip-p99-ns", 2000}, Metric{"pod-p99-ns", 1500}),
		}},
		{Name: "runtime", Benchmarks: []BenchResult{
			ok("BenchmarkBare", Metric{"median-ms", 50}),
			ok("BenchmarkRun", Metric{"median-ms", 60}),
			{Name: "BenchmarkSkipped", Status: BenchSkip, Reason: "needs root: not root"},
		}},
	}
	rs := evaluateGoals(goals, suites)
	want := []struct {
		verdict string
		ratio   float64
		why     string
	}{
		{Pass, 4, ""},
		{Comparison, 4, ""},
		{Miss, 2, ""},
		{Pass, 1000.0 / 990, ""},
		{Miss, 2000.0 / 1500, ""},
		{NotRun, 0, "did not run (suite lb: timed out)"},
		{Comparison, 1.2, ""},
		{NotRun, 0, "skipped: needs root"},
	}
	if len(rs) != len(want) {
		t.Fatalf("%d results, want %d (the unselected suite's goal left out)", len(rs), len(want))
	}
	for i, w := range want {
		r := rs[i]
		if r.Verdict != w.verdict || (w.ratio != 0 && !near(r.Ratio, w.ratio)) || !strings.Contains(r.Why, w.why) {
			t.Errorf("goal %d (%s %s): verdict %s ratio %.3f why %q; want %s %.3f %q", i, r.Benchmark, r.Metric, r.Verdict, r.Ratio, r.Why, w.verdict, w.ratio, w.why)
		}
	}
}

func TestVerdictRatioWithoutBaselineMisses(t *testing.T) {
	r := GoalResult{Goal: Goal{MaxRatio: 1.05}, Value: 1, HasValue: true}
	if v := verdict(r); v != Miss {
		t.Errorf("verdict = %s, want MISS when the baseline is missing", v)
	}
}

func TestDefaultGoalsNameKnownSuites(t *testing.T) {
	names := map[string]bool{}
	for _, s := range defaultSuites() {
		names[s.Name] = true
	}
	for _, g := range defaultGoals() {
		if !names[g.Suite] || g.Benchmark == "" || g.Metric == "" || g.Text == "" {
			t.Errorf("goal %+v: unknown suite or missing field", g)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
