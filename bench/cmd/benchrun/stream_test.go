package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// events recorded from `go test -bench -json` (go 1.26), trimmed.
const recorded = `{"Action":"start","Package":"p"}
{"Action":"output","Package":"p","Output":"goos: linux\n"}
{"Action":"run","Package":"p","Test":"BenchmarkA"}
{"Action":"output","Package":"p","Test":"BenchmarkA","Output":"=== RUN   BenchmarkA\n"}
{"Action":"output","Package":"p","Test":"BenchmarkA","Output":"BenchmarkA\n"}
{"Action":"run","Package":"p","Test":"BenchmarkA/sub=1"}
{"Action":"output","Package":"p","Test":"BenchmarkA/sub=1","Output":"=== RUN   BenchmarkA/sub=1\n"}
{"Action":"output","Package":"p","Test":"BenchmarkA/sub=1","Output":"BenchmarkA/sub=1\n"}
{"Action":"output","Package":"p","Test":"BenchmarkA/sub=1","Output":"    b_test.go:5: progress: starting\n"}
{"Action":"output","Package":"p","Test":"BenchmarkA/sub=1","Output":"BenchmarkA/sub=1-2         \t"}
{"Action":"output","Package":"p","Test":"BenchmarkA/sub=1","Output":"       1\t1100374526 ns/op\t         1.500 p99-ms\n"}
{"Action":"run","Package":"p","Test":"BenchmarkA/skip"}
{"Action":"output","Package":"p","Test":"BenchmarkA/skip","Output":"    b_test.go:11: needs foo: bar\n"}
{"Action":"output","Package":"p","Test":"BenchmarkA/skip","Output":"--- SKIP: BenchmarkA/skip\n"}
{"Action":"skip","Package":"p","Test":"BenchmarkA/skip"}
{"Action":"run","Package":"p","Test":"BenchmarkB"}
{"Action":"output","Package":"p","Test":"BenchmarkB","Output":"    b_test.go:13: boom\n"}
{"Action":"output","Package":"p","Test":"BenchmarkB","Output":"--- FAIL: BenchmarkB\n"}
{"Action":"fail","Package":"p","Test":"BenchmarkB"}
{"Action":"run","Package":"p","Test":"BenchmarkC"}
{"Action":"output","Package":"p","Test":"BenchmarkC","Output":"BenchmarkC\n"}
{"Action":"output","Package":"p","Test":"BenchmarkC","Output":"panic: test timed out after 1m0s\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t60.1s\n"}
{"Action":"fail","Package":"p","Elapsed":60.1}
{"ImportPath":"q [q.test]","Action":"build-output","Output":"q/b_test.go:3:33: undefined: undefined\n"}
{"ImportPath":"q [q.test]","Action":"build-fail"}
{"Action":"fail","Package":"q","FailedBuild":"q [q.test]"}
`

func feed(t *testing.T, text string) *stream {
	t.Helper()
	s := newStream()
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		s.add(e)
	}
	return s
}

func TestStreamResults(t *testing.T) {
	s := feed(t, recorded)
	rs := s.results("p")
	got := map[string]BenchResult{}
	var order []string
	for _, r := range rs {
		got[r.Name] = r
		order = append(order, r.Name)
	}
	if want := "BenchmarkA/sub=1 BenchmarkA/skip BenchmarkB BenchmarkC"; strings.Join(order, " ") != want {
		t.Fatalf("results for %q, want %q (parents left out)", order, want)
	}
	ok := got["BenchmarkA/sub=1"]
	if ok.Status != BenchOK || ok.Procs != 2 || ok.Iterations != 1 {
		t.Errorf("sub=1 = %+v", ok)
	}
	if v, _ := ok.Metric("p99-ms"); v != 1.5 {
		t.Errorf("p99-ms = %v, want 1.5", v)
	}
	if v, _ := ok.Metric("ns/op"); v != 1100374526 {
		t.Errorf("ns/op = %v", v)
	}
	if len(ok.Log) != 1 || ok.Log[0] != "progress: starting" {
		t.Errorf("log = %q", ok.Log)
	}
	if sk := got["BenchmarkA/skip"]; sk.Status != BenchSkip || sk.Reason != "needs foo: bar" {
		t.Errorf("skip = %+v", sk)
	}
	if f := got["BenchmarkB"]; f.Status != BenchFail || !strings.Contains(f.Reason, "boom") || strings.Contains(f.Reason, "--- FAIL") {
		t.Errorf("fail = %+v", f)
	}
	if c := got["BenchmarkC"]; c.Status != BenchFail || !strings.Contains(c.Reason, "did not finish") || !strings.Contains(c.Reason, "timed out") {
		t.Errorf("unfinished = %+v", c)
	}
	if pe := s.packageError("q"); !strings.Contains(pe, "undefined: undefined") {
		t.Errorf("build error of q = %q", pe)
	}
	if pe := s.packageError("p"); !strings.Contains(pe, "FAIL\tp") {
		t.Errorf("package error of p = %q", pe)
	}
}

func TestFindResult(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		ok         bool
		procs      int
		metrics    int
	}{
		{"BenchmarkX", "BenchmarkX-8   \t 100\t 12.5 ns/op\t 3 B/op\n", true, 8, 2},
		{"BenchmarkX", "BenchmarkX \t 100\t 12.5 ns/op\n", true, 0, 1}, // GOMAXPROCS=1 has no suffix
		{"BenchmarkX", "BenchmarkXY-8 \t 100\t 12.5 ns/op\n", false, 0, 0},
		{"BenchmarkX/n=1-2", "BenchmarkX/n=1-2-4 \t 1\t 5 ns/op\n", true, 4, 1},
		{"BenchmarkX", "BenchmarkX-8 \t 100\t 12.5 ns/op\t 7\n", false, 0, 0}, // odd pairs
		{"BenchmarkX", "    x_test.go:3: BenchmarkX-8 1 2 ns/op\n", false, 0, 0},
	} {
		procs, _, ms, ok := findResult(tc.name, tc.text)
		if ok != tc.ok || procs != tc.procs || len(ms) != tc.metrics {
			t.Errorf("findResult(%q, %q) = %d, %v, %v; want %d, %d metrics, %v", tc.name, tc.text, procs, ms, ok, tc.procs, tc.metrics, tc.ok)
		}
	}
}

func TestListedNames(t *testing.T) {
	s := feed(t, `{"Action":"output","Package":"p","Output":"BenchmarkA\n"}
{"Action":"output","Package":"p","Output":"TestA\n"}
{"Action":"output","Package":"p","Output":"BenchmarkB\n"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.006s\n"}`)
	if got := strings.Join(s.listings["p"], ","); got != "BenchmarkA,BenchmarkB" {
		t.Errorf("listed %q", got)
	}
}

func TestLogLinesAndMeaningful(t *testing.T) {
	text := "=== RUN   BenchmarkX\nBenchmarkX\n    x_test.go:3: time=t level=DEBUG msg=\"container created\"\n    x_test.go:4: all bound in 2s\n    x_test.go:9: second line\n--- FAIL: BenchmarkX\n"
	if got := strings.Join(logLines(text), "|"); got != "all bound in 2s|second line" {
		t.Errorf("logLines = %q", got)
	}
	if got := meaningful(text, "BenchmarkX"); got != "    x_test.go:4: all bound in 2s\n    x_test.go:9: second line" {
		t.Errorf("meaningful = %q", got)
	}
}
