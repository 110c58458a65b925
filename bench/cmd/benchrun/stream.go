package main

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// event is one line of `go test -json`: cmd/test2json's TestEvent plus
// the build events of the go command.
type event struct {
	Time        time.Time `json:"Time"`
	Action      string    `json:"Action"`
	Package     string    `json:"Package"`
	ImportPath  string    `json:"ImportPath"`
	Test        string    `json:"Test"`
	Output      string    `json:"Output"`
	FailedBuild string    `json:"FailedBuild"`
}

// stream gathers the events of one go test command.
type stream struct {
	tests    map[string]*testState // by package + "\x00" + name
	order    []string
	pkgOut   map[string]*strings.Builder // output not tied to a test, and build output
	pkgFail  map[string]bool
	listings map[string][]string // `go test -list` names by package
}

type testState struct {
	pkg, name string
	out       strings.Builder
	action    string // last terminal action: skip, fail, pass
}

func newStream() *stream {
	return &stream{tests: map[string]*testState{}, pkgOut: map[string]*strings.Builder{}, pkgFail: map[string]bool{}, listings: map[string][]string{}}
}

// buildPackage is the package a build event concerns ("p [p.test]" → "p").
func buildPackage(importPath string) string {
	p, _, _ := strings.Cut(importPath, " ")
	return p
}

func (s *stream) pkgBuilder(pkg string) *strings.Builder {
	b := s.pkgOut[pkg]
	if b == nil {
		b = &strings.Builder{}
		s.pkgOut[pkg] = b
	}
	return b
}

// add takes one event.
func (s *stream) add(e event) {
	switch e.Action {
	case "build-output":
		s.pkgBuilder(buildPackage(e.ImportPath)).WriteString(e.Output)
		return
	case "build-fail":
		s.pkgFail[buildPackage(e.ImportPath)] = true
		return
	}
	if e.Test == "" {
		switch e.Action {
		case "output":
			s.pkgBuilder(e.Package).WriteString(e.Output)
			if name, ok := listedName(e.Output); ok {
				s.listings[e.Package] = append(s.listings[e.Package], name)
			}
		case "fail":
			s.pkgFail[e.Package] = true
		}
		return
	}
	key := e.Package + "\x00" + e.Test
	t := s.tests[key]
	if t == nil {
		t = &testState{pkg: e.Package, name: e.Test}
		s.tests[key] = t
		s.order = append(s.order, key)
	}
	switch e.Action {
	case "output":
		t.out.WriteString(e.Output)
	case "skip", "fail", "pass":
		t.action = e.Action
	}
}

var listedRE = regexp.MustCompile(`^(Benchmark\w*)\n$`)

// listedName recognises a name printed by `go test -list`.
func listedName(output string) (string, bool) {
	m := listedRE.FindStringSubmatch(output)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// packageError is the text explaining why pkg failed as a whole (build
// errors, a panic or timeout outside any benchmark), or "".
func (s *stream) packageError(pkg string) string {
	if !s.pkgFail[pkg] {
		return ""
	}
	out := ""
	if b := s.pkgOut[pkg]; b != nil {
		out = b.String()
	}
	return tail(out, 30)
}

// results turns the events of pkg into one result per benchmark and
// sub-benchmark that ran, in order. Parents of sub-benchmarks are left out. A benchmark that started but neither reported nor skipped
// nor failed (killed, timed out, crashed) fails with its last output.
func (s *stream) results(pkg string) []BenchResult {
	var names []string
	for _, k := range s.order {
		if t := s.tests[k]; t.pkg == pkg {
			names = append(names, t.name)
		}
	}
	var out []BenchResult
	for _, k := range s.order {
		t := s.tests[k]
		if t.pkg != pkg {
			continue
		}
		if hasChildren(t.name, names) {
			continue // its sub-benchmarks carry the figures and failures
		}
		text := t.out.String()
		r := BenchResult{Package: pkg, Name: t.name, Log: logLines(text)}
		procs, iters, metrics, found := findResult(t.name, text)
		switch {
		case t.action == "skip":
			r.Status, r.Reason = BenchSkip, strings.Join(r.Log, "; ")
			r.Log = nil
		case t.action == "fail":
			r.Status, r.Reason = BenchFail, tail(meaningful(text, t.name), 30)
		case found:
			r.Status, r.Procs, r.Iterations, r.Metrics = BenchOK, procs, iters, metrics
		default:
			r.Status = BenchFail
			r.Reason = "did not finish (killed, timed out or crashed); last output:\n" + tail(meaningful(text, t.name), 30)
			if pe := s.packageError(pkg); pe != "" {
				r.Reason += "\n" + pe
			}
		}
		out = append(out, r)
	}
	return out
}

func hasChildren(name string, names []string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, name+"/") })
}

// resultRE matches a benchmark result line: name, optional -GOMAXPROCS,
// iterations, then "value unit" pairs.
var resultRE = regexp.MustCompile(`^(Benchmark\S*?)(?:-(\d+))?\s+(\d+)\s+(\S.*)$`)

// findResult finds name's result line in its output.
func findResult(name, text string) (procs int, iters int64, metrics []Metric, ok bool) {
	for _, line := range strings.Split(text, "\n") {
		m := resultRE.FindStringSubmatch(strings.TrimRight(line, " \t\r"))
		if m == nil || m[1] != name {
			continue
		}
		ms, err := parseMetrics(m[4])
		if err != nil {
			continue
		}
		procs, _ = strconv.Atoi(m[2])
		iters, _ = strconv.ParseInt(m[3], 10, 64)
		return procs, iters, ms, true
	}
	return 0, 0, nil, false
}

// parseMetrics reads "12.5 ns/op\t3 p99-ms" into pairs.
func parseMetrics(s string) ([]Metric, error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f)%2 != 0 {
		return nil, strconv.ErrSyntax
	}
	var out []Metric
	for i := 0; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return nil, err
		}
		out = append(out, Metric{Unit: f[i+1], Value: v})
	}
	return out, nil
}

// logLinePrefixRE matches the "    file_test.go:12: " of t.Log output.
var logLinePrefixRE = regexp.MustCompile(`^\s+\S+\.go:\d+: `)

// logLines are the benchmark's own log lines (b.Log, b.Skip), without the
// file:line prefix and without debug-level slog lines; at most the last 60.
func logLines(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if loc := logLinePrefixRE.FindStringIndex(line); loc != nil && !isDebug(line) {
			out = append(out, line[loc[1]:])
		}
	}
	if len(out) > 60 {
		out = out[len(out)-60:]
	}
	return out
}

// isDebug recognises a debug-level slog line, which some benchmarks log by
// the hundred.
func isDebug(line string) bool { return strings.Contains(line, "level=DEBUG") }

// meaningful is a benchmark's output without go test's bookkeeping lines
// (=== RUN, the bare name, --- FAIL/SKIP/BENCH) and debug logs.
func meaningful(text, name string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t == name || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") || isDebug(line) {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
