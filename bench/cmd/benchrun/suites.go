package main

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Suite is a named group of packages whose benchmarks run together under
// one time budget.
type Suite struct {
	Name     string
	Packages []string // go package patterns, relative to the module root
	Timeout  time.Duration
	About    string
	// Benchtime is the -benchtime of benchmarks runSpecFor does not know
	// ("" means go's default, 1s). Suites of end-to-end benchmarks, where
	// one iteration is a whole scenario, use 1x.
	Benchtime string
}

// defaultSuites are the suites in the order they run. Packages without
// benchmarks are ignored, so a suite picks up new benchmarks on its own.
func defaultSuites() []Suite {
	return []Suite{
		{Name: "api", Timeout: 25 * time.Minute, About: "API latency under churn vs raw etcd; tug server memory",
			Packages: []string{"./bench/apilatency", "./bench/serverrss", "./control/apiserver/...", "./control/storage/...", "./control/allocator/..."}},
		{Name: "scheduler", Timeout: 20 * time.Minute, Benchtime: "1x", About: "scheduling throughput, RC convergence, endpoints delay (hollow nodes)",
			Packages: []string{"./control/controller/...", "./control/hollow/..."}},
		{Name: "runtime", Timeout: 20 * time.Minute, About: "container create/start/destroy through libcontainer; images",
			Packages: []string{"./runtime/container/...", "./runtime/image/...", "./runtime/logs/..."}},
		{Name: "lb", Timeout: 20 * time.Minute, About: "eBPF Service load balancer: connect latency, map programming",
			Packages: []string{"./bpf/...", "./dataplane/serviceproxy/..."}},
		{Name: "net", Timeout: 15 * time.Minute, About: "pod sandbox networking, overlay reconcile, IPAM",
			Packages: []string{"./dataplane/podnet/...", "./dataplane/overlay/...", "./dataplane/ipam/..."}},
		{Name: "agent", Timeout: 20 * time.Minute, Benchtime: "1x", About: "node agent: pod startup, agent memory (node and full builds), full-stack Service latency, Service programming",
			Packages: []string{"./runtime/agent/..."}},
	}
}

// selectSuites picks the suites named in list ("" or "all": every one).
func selectSuites(all []Suite, list string) ([]Suite, error) {
	if list == "" || list == "all" {
		return all, nil
	}
	var out []Suite
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, s := range all {
			if s.Name == name {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			var names []string
			for _, s := range all {
				names = append(names, s.Name)
			}
			return nil, fmt.Errorf("unknown suite %q: choose among %s", name, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// runSpec is how one top-level benchmark runs: its -benchtime and the
// arguments after -args. Benchmarks not listed use the go test default
// (1s) and no arguments.
type runSpec struct {
	Benchtime string
	Args      []string
}

func (r runSpec) key() string { return r.Benchtime + "\x00" + strings.Join(r.Args, "\x00") }

// runSpecFor says how to run a top-level benchmark of suite s, in full or
// quick mode. The full settings are the ones results are recorded with.
func runSpecFor(s Suite, name string, quick bool) runSpec {
	switch name {
	case "BenchmarkAPILatency":
		if quick {
			return runSpec{Benchtime: "1x", Args: []string{"-apilatency.steady=15s", "-apilatency.rounds=3", "-apilatency.step=2s"}}
		}
		return runSpec{Benchtime: "1x"}
	case "BenchmarkServerRSS":
		if quick {
			return runSpec{Benchtime: "1x", Args: []string{"-serverrss.settle=3s"}}
		}
		return runSpec{Benchtime: "1x"}
	case "BenchmarkConnectLatency":
		if quick {
			return runSpec{Benchtime: "1000x"}
		}
		return runSpec{Benchtime: "5000x"}
	case "BenchmarkServiceLatency":
		// One op is one connection each way: percentiles need many. At
		// 2,000 the p99 ratio of the two paths ranged 0.92–1.42 between
		// runs of one binary; at 10,000, 0.99–1.01.
		if quick {
			return runSpec{Benchtime: "300x"}
		}
		return runSpec{Benchtime: "10000x"}
	case "BenchmarkServiceProgramming":
		// One op is one Endpoints change, per number of Services.
		if quick {
			return runSpec{Benchtime: "20x"}
		}
		return runSpec{Benchtime: "200x"}
	case "BenchmarkCreateStart", "BenchmarkRuntimeRun":
		if quick {
			return runSpec{Benchtime: "20x"}
		}
		return runSpec{Benchtime: "100x"}
	}
	switch {
	case s.Benchtime != "":
		return runSpec{Benchtime: s.Benchtime}
	case quick:
		return runSpec{Benchtime: "200ms"}
	}
	return runSpec{Benchtime: "1s"}
}

// benchGroup is benchmarks of one package that run in one go test command.
type benchGroup struct {
	Package string
	Names   []string
	Spec    runSpec
}

// groupBenchmarks splits the benchmarks of a package into commands that
// share a run spec, keeping their order.
func groupBenchmarks(s Suite, pkg string, names []string, quick bool) []benchGroup {
	var out []benchGroup
	index := map[string]int{}
	for _, n := range names {
		spec := runSpecFor(s, n, quick)
		i, ok := index[spec.key()]
		if !ok {
			i = len(out)
			index[spec.key()] = i
			out = append(out, benchGroup{Package: pkg, Spec: spec})
		}
		out[i].Names = append(out[i].Names, n)
	}
	return out
}

// benchRegexp matches exactly the given top-level benchmarks (and so all
// their sub-benchmarks).
func benchRegexp(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = regexp.QuoteMeta(n)
	}
	return "^(" + strings.Join(q, "|") + ")$"
}

// goTestArgs is the go test command line of a group, bounded by timeout.
func goTestArgs(g benchGroup, timeout time.Duration) []string {
	args := []string{"test", "-run", "^$", "-bench", benchRegexp(g.Names), "-benchtime", g.Spec.Benchtime,
		"-count", "1", "-json", "-timeout", timeout.Round(time.Second).String(), g.Package}
	if len(g.Spec.Args) > 0 {
		args = append(append(args, "-args"), g.Spec.Args...)
	}
	return args
}
