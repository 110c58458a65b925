package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestResultName(t *testing.T) {
	day := time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)
	r := Run{Started: day, Machine: Machine{Hostname: "vm/1"}, Suites: []SuiteResult{{Name: "api"}, {Name: "lb"}}}
	if got := resultName(r, true); got != "2026-11-25-vm_1" {
		t.Errorf("full run: %q", got)
	}
	if got := resultName(r, false); got != "2026-11-25-vm_1-api+lb" {
		t.Errorf("some suites: %q", got)
	}
	r.Quick = true
	if got := resultName(r, true); got != "2026-11-25-vm_1-quick" {
		t.Errorf("quick: %q", got)
	}
}

func TestWriteResults(t *testing.T) {
	dir := t.TempDir()
	r := Run{
		Started: time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC), Finished: time.Date(2026, 11, 25, 19, 9, 0, 0, time.UTC),
		Command: "go run ./bench/cmd/benchrun", Machine: Machine{Hostname: "vm", CPU: "AMD EPYC", Cores: 2},
		Load: Load{OthersCPUShare: 0.6},
		Suites: []SuiteResult{
			{Name: "api", Status: SuiteOK, Benchmarks: []BenchResult{{Name: "BenchmarkRSS", Status: BenchOK, Metrics: []Metric{{"pods-rss-MiB", 122.4}}}}},
			{Name: "scheduler", Status: SuiteFailed, Error: "BenchmarkS failed", Benchmarks: []BenchResult{{Name: "BenchmarkS", Status: BenchFail, Reason: "only 1330 of 3000 pods bound"}}},
		},
		Goals: []GoalResult{{Goal: Goal{Suite: "api", Benchmark: "BenchmarkRSS", Metric: "pods-rss-MiB", Max: 150, Text: "RSS"}, Value: 122.4, HasValue: true, Verdict: Pass}},
	}
	md, js, err := writeResults(dir, r, true)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AMD EPYC, 2 logical cores", "loaded by other work", "| api | `BenchmarkRSS` | pods-rss-MiB | 122.4 |", "≤ 150: RSS | PASS", "only 1330 of 3000 pods bound", "### scheduler: failed"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	var back Run
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil || len(back.Suites) != 2 || back.Goals[0].Verdict != Pass {
		t.Errorf("JSON round trip: %v, %+v", err, back)
	}
	for _, f := range []string{"latest.md", "latest.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
