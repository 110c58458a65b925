package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSelectSuites(t *testing.T) {
	all := defaultSuites()
	if s, err := selectSuites(all, ""); err != nil || len(s) != len(all) {
		t.Errorf("default = %d suites, %v", len(s), err)
	}
	s, err := selectSuites(all, "lb, api")
	if err != nil || len(s) != 2 || s[0].Name != "lb" || s[1].Name != "api" {
		t.Errorf("lb,api = %+v, %v", s, err)
	}
	if _, err := selectSuites(all, "api,nope"); err == nil || !strings.Contains(err.Error(), "choose among") {
		t.Errorf("unknown suite: %v", err)
	}
}

func TestGroupBenchmarks(t *testing.T) {
	gs := groupBenchmarks(Suite{}, "p", []string{"BenchmarkA", "BenchmarkCreateStart", "BenchmarkB", "BenchmarkRuntimeRun"}, false)
	if len(gs) != 2 {
		t.Fatalf("groups = %+v", gs)
	}
	if !slices.Equal(gs[0].Names, []string{"BenchmarkA", "BenchmarkB"}) || gs[0].Spec.Benchtime != "1s" {
		t.Errorf("first group = %+v", gs[0])
	}
	if !slices.Equal(gs[1].Names, []string{"BenchmarkCreateStart", "BenchmarkRuntimeRun"}) || gs[1].Spec.Benchtime != "100x" {
		t.Errorf("second group = %+v", gs[1])
	}
}

func TestSuiteBenchtime(t *testing.T) {
	e2e := Suite{Benchtime: "1x"}
	if got := runSpecFor(e2e, "BenchmarkUnknown", false).Benchtime; got != "1x" {
		t.Errorf("suite default = %q, want 1x", got)
	}
	if got := runSpecFor(e2e, "BenchmarkConnectLatency", false).Benchtime; got != "5000x" {
		t.Errorf("a known benchmark keeps its own: %q", got)
	}
	if got := runSpecFor(Suite{}, "BenchmarkUnknown", true).Benchtime; got != "200ms" {
		t.Errorf("quick default = %q", got)
	}
}

func TestGoTestArgs(t *testing.T) {
	g := benchGroup{Package: "example.com/p", Names: []string{"BenchmarkA", "BenchmarkB"}, Spec: runSpec{Benchtime: "1x", Args: []string{"-x.y=1"}}}
	got := strings.Join(goTestArgs(g, 90*time.Second+400*time.Millisecond), " ")
	want := "test -run ^$ -bench ^(BenchmarkA|BenchmarkB)$ -benchtime 1x -count 1 -json -timeout 1m30s example.com/p -args -x.y=1"
	if got != want {
		t.Errorf("args = %q\nwant   %q", got, want)
	}
	re := regexp.MustCompile(benchRegexp(g.Names))
	for name, match := range map[string]bool{"BenchmarkA": true, "BenchmarkB": true, "BenchmarkAB": false, "XBenchmarkA": false} {
		if re.MatchString(name) != match {
			t.Errorf("%s matches %s: %v", re, name, !match)
		}
	}
	if key := commandKey(g); strings.Contains(key, "-timeout") || !strings.HasPrefix(key, "go test ") {
		t.Errorf("key keeps the timeout: %q", key)
	}
}
