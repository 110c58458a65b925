// Command benchrun runs tug's Go benchmarks suite by suite and records the
// results, with the machine they ran on, as bench/results/<date>-<host>.md
// and .json (and latest.md/latest.json).
//
//	go run ./bench/cmd/benchrun -out bench/results [-suite api,lb] [-quick] [-tug bin/tug] [-tug-node bin/tug-node]
//
// For each suite it lists the packages that hold benchmarks (go list, then
// `go test -list '^Benchmark'`, so new benchmarks are picked up without
// changes here), runs them with `go test -run '^$' -bench ... -json` one
// package at a time under the suite's time budget, and parses ns/op and
// every b.ReportMetric figure. Goals (goals.go) compare a figure with a
// limit and with the baseline measured in the same run, and say PASS or
// MISS.
//
// It never hangs and never leaves processes behind: each go command runs in
// its own process group, which gets SIGTERM when the suite's budget ends
// (or on Ctrl-C) and SIGKILL ten seconds later; stragglers left in the group
// after the command exits are killed too. A suite that fails or times out
// is recorded as such, with its error, and the results are still written;
// the exit status is then 1.
package main
