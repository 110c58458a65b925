package main

import (
	"fmt"
	"strings"
)

// Goal relates one figure of one benchmark to a baseline measured in the
// same run and, when it has one, to a limit. A Goal with neither Max nor
// MaxRatio is a comparison only (no verdict).
type Goal struct {
	Suite     string
	Benchmark string // full name without the -GOMAXPROCS suffix
	Metric    string
	// BaselineBenchmark holds the baseline ("" means Benchmark itself).
	BaselineBenchmark string
	BaselineMetric    string
	// Max is the highest acceptable value of Metric (0: no limit).
	Max float64
	// MaxRatio is the highest acceptable Metric/baseline (0: no limit).
	MaxRatio float64
	Text     string // the goal or comparison in words
}

// defaultGoals are the project's stated goals and the same-run comparisons
// reported with them. Add a line here when a benchmark gains a goal.
func defaultGoals() []Goal {
	const steady = "BenchmarkAPILatency/steady"
	const maxRate = "BenchmarkAPILatency/max"
	const mutating = "API p99 of mutating calls ≤ 50 ms at 20 writes/s (Kubernetes SLO: 1 s); baseline: the same write straight to etcd"
	return []Goal{
		{Suite: "api", Benchmark: steady, Metric: "create-p99-ms", BaselineMetric: "etcd-create-p99-ms", Max: 50, Text: mutating},
		{Suite: "api", Benchmark: steady, Metric: "update-p99-ms", BaselineMetric: "etcd-update-p99-ms", Max: 50, Text: mutating},
		{Suite: "api", Benchmark: steady, Metric: "delete-p99-ms", BaselineMetric: "etcd-delete-p99-ms", Max: 50, Text: mutating},
		{Suite: "api", Benchmark: steady, Metric: "get-p99-ms", BaselineMetric: "etcd-get-p99-ms", Text: "API get p99 at 20 writes/s vs etcd get"},
		{Suite: "api", Benchmark: steady, Metric: "list-p99-ms", BaselineMetric: "etcd-list-p99-ms", Text: "API list (100 pods) p99 at 20 writes/s vs etcd range"},
		{Suite: "api", Benchmark: maxRate, Metric: "max-writes-per-s", BaselineMetric: "etcd-max-writes-per-s", Text: "highest sustainable write rate (closed-loop writers, p99 < 1 s, < 1% errors) vs raw etcd's"},
		{Suite: "api", Benchmark: "BenchmarkServerRSS", Metric: "pods-rss-MiB", BaselineMetric: "idle-rss-MiB", Max: 150,
			Text: "tug server RSS ≤ 150 MiB with 1,000 pods (k3s server ≈ 1.6 GB); baseline: the same process idle"},
		{Suite: "lb", Benchmark: "BenchmarkConnectLatency", Metric: "vip-p50-ns", BaselineMetric: "pod-p50-ns", MaxRatio: 1.05,
			Text: "connect+request p50 through a Service VIP ≤ 1.05× straight to the pod IP"},
		{Suite: "lb", Benchmark: "BenchmarkConnectLatency", Metric: "vip-p99-ns", BaselineMetric: "pod-p99-ns", MaxRatio: 1.05,
			Text: "connect+request p99 through a Service VIP ≤ 1.05× straight to the pod IP"},
		{Suite: "lb", Benchmark: "BenchmarkEndpointsChange/services=10000", Metric: "p99-ns", BaselineBenchmark: "BenchmarkEndpointsChange/services=1", BaselineMetric: "p99-ns", Max: 10e6,
			Text: "Endpoints change programmed into the BPF maps, p99 ≤ 10 ms at 10,000 Services; baseline: 1 Service"},
		{Suite: "runtime", Benchmark: "BenchmarkRuntimeRun", Metric: "median-ms", BaselineBenchmark: "BenchmarkCreateStart", BaselineMetric: "median-ms",
			Text: "a container's whole life through runtime/container vs bare libcontainer create-start-destroy"},
		{Suite: "runtime", Benchmark: "BenchmarkCreateStart", Metric: "create+start-median-ms", BaselineMetric: "median-ms", Max: 60,
			Text: "container create + start through libcontainer, median ≤ 60 ms (runc's published create-start-delete ≈ 225 ms, crun's ≈ 47 ms); baseline: the whole create-start-destroy"},
		{Suite: "agent", Benchmark: "BenchmarkPodStartup/pods=30", Metric: "p99-ms", BaselineBenchmark: "BenchmarkPodStartup/pods=1", BaselineMetric: "p99-ms", Max: 1000,
			Text: "pod startup (create → Running through the API, image present) p99 ≤ 1 s with 30 pods at once (Kubernetes SLO: 5 s); baseline: 1 pod"},
		{Suite: "agent", Benchmark: "BenchmarkAgentRSS/build=node", Metric: "RSS-MB", BaselineMetric: "PSS-MB", Max: 40,
			Text: "tug agent RSS ≤ 40 MB with 30 running pods, node build (a k3s agent ≈ 275 MB); baseline: its PSS (the binary's pages shared with the containers' monitors split among them)"},
		{Suite: "agent", Benchmark: "BenchmarkAgentRSS/build=full", Metric: "RSS-MB", BaselineBenchmark: "BenchmarkAgentRSS/build=node", BaselineMetric: "RSS-MB",
			Text: "tug agent RSS with 30 running pods, full build (server, etcd and CLI linked in too) vs the node build"},
		{Suite: "agent", Benchmark: "BenchmarkServiceLatency", Metric: "clusterip-p50-µs", BaselineMetric: "podip-p50-µs", MaxRatio: 1.05,
			Text: "full stack (tug agent, a pod): connect+request p50 through the ClusterIP ≤ 1.05× straight to the pod IP"},
		{Suite: "agent", Benchmark: "BenchmarkServiceLatency", Metric: "clusterip-p99-µs", BaselineMetric: "podip-p99-µs", MaxRatio: 1.05,
			Text: "full stack (tug agent, a pod): connect+request p99 through the ClusterIP ≤ 1.05× straight to the pod IP"},
		{Suite: "agent", Benchmark: "BenchmarkServiceProgramming/services=10000", Metric: "p99-ms", BaselineBenchmark: "BenchmarkServiceProgramming/services=1", BaselineMetric: "p99-ms", Max: 10,
			Text: "Endpoints update through the API server to the node's BPF maps, p99 ≤ 10 ms at 10,000 Services; baseline: 1 Service"},
	}
}

// Verdicts.
const (
	Pass       = "PASS"
	Miss       = "MISS"
	Comparison = "—"
	NotRun     = "NOT RUN"
)

// GoalResult is a Goal evaluated on a run.
type GoalResult struct {
	Goal
	Value    float64 `json:"value"`
	Baseline float64 `json:"baseline"`
	Ratio    float64 `json:"ratio"`
	HasValue bool    `json:"has_value"`
	HasBase  bool    `json:"has_baseline"`
	Verdict  string  `json:"verdict"`
	Why      string  `json:"why,omitempty"` // for NOT RUN
}

// evaluateGoals checks every goal of the suites that ran against their
// results. Goals of suites not selected are left out.
func evaluateGoals(goals []Goal, suites []SuiteResult) []GoalResult {
	var out []GoalResult
	for _, g := range goals {
		var sr *SuiteResult
		for i := range suites {
			if suites[i].Name == g.Suite {
				sr = &suites[i]
			}
		}
		if sr == nil {
			continue
		}
		r := GoalResult{Goal: g}
		b, ok := findBench(sr.Benchmarks, g.Benchmark)
		switch {
		case !ok:
			r.Verdict, r.Why = NotRun, fmt.Sprintf("%s did not run (suite %s: %s)", g.Benchmark, sr.Name, sr.Status)
		case b.Status != BenchOK:
			r.Verdict, r.Why = NotRun, fmt.Sprintf("%s %s: %s", g.Benchmark, b.Status, firstLine(b.Reason))
		default:
			r.Value, r.HasValue = b.Metric(g.Metric)
			base := b
			if g.BaselineBenchmark != "" {
				base, ok = findBench(sr.Benchmarks, g.BaselineBenchmark)
				ok = ok && base.Status == BenchOK
			}
			if ok {
				r.Baseline, r.HasBase = base.Metric(g.BaselineMetric)
			}
			if r.HasBase && r.Baseline != 0 {
				r.Ratio = r.Value / r.Baseline
			}
			r.Verdict = verdict(r)
			if !r.HasValue {
				r.Verdict, r.Why = NotRun, fmt.Sprintf("%s reported no %s", g.Benchmark, g.Metric)
			}
		}
		out = append(out, r)
	}
	return out
}

// verdict is PASS or MISS against the goal's limits, or Comparison when it
// has none. A ratio limit without a baseline is a MISS: the goal cannot be
// shown met.
func verdict(r GoalResult) string {
	if r.Max == 0 && r.MaxRatio == 0 {
		return Comparison
	}
	if r.Max != 0 && r.Value > r.Max {
		return Miss
	}
	if r.MaxRatio != 0 && (!r.HasBase || r.Baseline == 0 || r.Ratio > r.MaxRatio) {
		return Miss
	}
	return Pass
}

func findBench(bs []BenchResult, name string) (BenchResult, bool) {
	for _, b := range bs {
		if b.Name == name {
			return b, true
		}
	}
	return BenchResult{}, false
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
