package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadPreviousEstimates(t *testing.T) {
	g := benchGroup{Package: "p", Names: []string{"BenchmarkA"}, Spec: runSpec{Benchtime: "1x"}}
	r := Run{Suites: []SuiteResult{{Name: "api", Invocations: []Invocation{
		{Command: commandKey(g), Elapsed: 90},
		{Command: "go test -bench ^(BenchmarkBroken)$ q", Elapsed: 5, Error: "exit status 1"},
	}}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "latest.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p := newProgress(nil, loadPrevious(file))
	if d, ok := p.estimate(commandKey(g)); !ok || d != 90*time.Second {
		t.Errorf("estimate = %s, %v; want 1m30s", d, ok)
	}
	if _, ok := p.estimate("go test -bench ^(BenchmarkBroken)$ q"); ok {
		t.Error("a failed command's time was used as an estimate")
	}
	if len(loadPrevious(filepath.Join(t.TempDir(), "missing.json"))) != 0 {
		t.Error("estimates from a missing file")
	}
}

func TestProgressShowsWholeLines(t *testing.T) {
	var out strings.Builder
	p := newProgress(&out, nil)
	for _, e := range []event{
		{Action: "run", Test: "BenchmarkA"},
		{Action: "output", Test: "BenchmarkA", Output: "=== RUN   BenchmarkA\n"},
		{Action: "output", Test: "BenchmarkA", Output: "BenchmarkA\n"},
		{Action: "output", Test: "BenchmarkA", Output: "    a_test.go:3: level=DEBUG noise\n"},
		{Action: "output", Test: "BenchmarkA", Output: "BenchmarkA-2  \t"},
		{Action: "output", Test: "BenchmarkA", Output: "1\t5 ns/op\n"},
	} {
		p.event(e)
	}
	if got, want := out.String(), "    BenchmarkA-2  \t1\t5 ns/op\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}
