package main

import "time"

// Run is everything one benchrun records; it is written as JSON as is.
type Run struct {
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Command  string        `json:"command"`
	Quick    bool          `json:"quick,omitempty"`
	Env      []string      `json:"env,omitempty"` // TUG_BENCH_* settings the benchmarks saw
	Machine  Machine       `json:"machine"`
	Load     Load          `json:"load"`
	Suites   []SuiteResult `json:"suites"`
	Goals    []GoalResult  `json:"goals"`
}

// Suite statuses.
const (
	SuiteOK          = "ok"
	SuiteFailed      = "failed"
	SuiteTimedOut    = "timed out"
	SuiteInterrupted = "interrupted"
	SuiteEmpty       = "no benchmarks yet"
)

// SuiteResult is one suite's outcome.
type SuiteResult struct {
	Name        string        `json:"name"`
	Packages    []string      `json:"packages"`
	Status      string        `json:"status"`
	Error       string        `json:"error,omitempty"`
	Elapsed     float64       `json:"elapsed_s"`
	Invocations []Invocation  `json:"invocations,omitempty"`
	Benchmarks  []BenchResult `json:"benchmarks,omitempty"`
}

// Invocation is one `go test` command run for a suite.
type Invocation struct {
	Package    string   `json:"package"`
	Benchmarks []string `json:"benchmarks"`
	Command    string   `json:"command"`
	Elapsed    float64  `json:"elapsed_s"`
	Error      string   `json:"error,omitempty"`
}

// Benchmark statuses.
const (
	BenchOK     = "ok"
	BenchSkip   = "skipped"
	BenchFail   = "failed"
	BenchNotRun = "not run"
)

// BenchResult is one benchmark (or sub-benchmark) and its figures.
type BenchResult struct {
	Package    string   `json:"package"`
	Name       string   `json:"name"` // without the -GOMAXPROCS suffix
	Procs      int      `json:"procs,omitempty"`
	Iterations int64    `json:"iterations,omitempty"`
	Metrics    []Metric `json:"metrics,omitempty"`
	Status     string   `json:"status"`
	Reason     string   `json:"reason,omitempty"`
	Log        []string `json:"log,omitempty"`
}

// Metric is one figure of a result line, as "value unit".
type Metric struct {
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
}

// Metric returns the value of unit, if the result has it.
func (b BenchResult) Metric(unit string) (float64, bool) {
	for _, m := range b.Metrics {
		if m.Unit == unit {
			return m.Value, true
		}
	}
	return 0, false
}
