package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// writeResults writes <date>-<host>.md and .json into dir, and copies them
// to latest.md and latest.json. It returns the paths of the dated files.
func writeResults(dir string, r Run, allSuites bool) (md, js string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("creating %s: %w", dir, err)
	}
	base := filepath.Join(dir, resultName(r, allSuites))
	var b strings.Builder
	writeMarkdown(&b, r)
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", "", err
	}
	j = append(j, '\n')
	for _, f := range []struct {
		path string
		data []byte
	}{
		{base + ".md", []byte(b.String())}, {base + ".json", j},
		{filepath.Join(dir, "latest.md"), []byte(b.String())}, {filepath.Join(dir, "latest.json"), j},
	} {
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			return "", "", fmt.Errorf("writing results: %w", err)
		}
	}
	return base + ".md", base + ".json", nil
}

// resultName is <date>-<host>, with the suites' names appended when only
// some ran and "-quick" for quick runs, so that those never replace the
// day's full record.
func resultName(r Run, allSuites bool) string {
	host := r.Machine.Hostname
	if host == "" {
		host = "unknown-host"
	}
	name := r.Started.Format("2006-01-02") + "-" + sanitize(host)
	if !allSuites {
		var names []string
		for _, s := range r.Suites {
			names = append(names, s.Name)
		}
		name += "-" + strings.Join(names, "+")
	}
	if r.Quick {
		name += "-quick"
	}
	return name
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

// writeMarkdown renders a run for people: machine, goals with their
// baselines and verdicts, then every suite's figures.
func writeMarkdown(w io.Writer, r Run) {
	m := r.Machine
	fmt.Fprintf(w, "# tug benchmarks: %s on %s\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), m.Hostname)
	mode := ""
	if r.Quick {
		mode = " Quick mode (shorter runs): figures are indicative only."
	}
	fmt.Fprintf(w, "`%s` at commit %s, %s (%s).%s Written by bench/cmd/benchrun; see bench/README.md.\n\n",
		r.Command, m.Commit, r.Started.UTC().Format("15:04")+"–"+r.Finished.UTC().Format("15:04 MST"),
		r.Finished.Sub(r.Started).Round(time.Second), mode)

	fmt.Fprintf(w, "## Machine\n\n| | |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(w, "| %s | %s |\n", k, mdEscape(v)) }
	row("CPU", fmt.Sprintf("%s, %d logical cores", m.CPU, m.Cores))
	row("Memory", m.MemoryGiB+" GiB")
	row("Kernel", m.Kernel)
	row("OS", m.OS)
	row("Go", m.Go)
	row("cgroups", m.Cgroups)
	row("temp dir filesystem", m.TempFS+" (etcd data of the benchmarks)")
	row("root", fmt.Sprint(m.Root))
	if len(r.Env) > 0 {
		row("benchmark settings", strings.Join(r.Env, " "))
	}
	l := r.Load
	row("load", fmt.Sprintf("1-min load average %.2f at start, %.2f at most, %.2f at end; other processes used %.0f%% of all CPU time during the run (benchmarks: %.0f CPU-s)",
		l.Start1m, l.Max1m, l.End1m, 100*l.OthersCPUShare, l.OwnCPUSeconds))
	fmt.Fprintln(w)
	if l.Loaded() {
		fmt.Fprintf(w, "> **The machine was loaded by other work during this run** (other processes took %.0f%% of the CPU): latencies and throughputs are pessimistic; the ratios, measured in the same run, suffer less.\n\n", 100*l.OthersCPUShare)
	}

	fmt.Fprintf(w, "## Goals and baselines\n\n")
	if len(r.Goals) == 0 {
		fmt.Fprintf(w, "No goal applies to the suites that ran.\n\n")
	} else {
		fmt.Fprintf(w, "Baselines are measured in the same run. Verdict — means a comparison without a goal.\n\n")
		fmt.Fprintf(w, "| suite | benchmark | figure | value | baseline (same run) | ratio | goal | verdict |\n|---|---|---|---:|---|---:|---|---|\n")
		for _, g := range r.Goals {
			value, base, ratio := "", "", ""
			if g.HasValue {
				value = fmtValue(g.Value)
			}
			if g.HasBase {
				bb := g.BaselineBenchmark
				if bb == "" {
					bb = "same"
				} else {
					bb = "`" + bb + "`"
				}
				base = fmt.Sprintf("%s %s = %s", bb, g.BaselineMetric, fmtValue(g.Baseline))
			}
			if g.Ratio != 0 {
				ratio = fmt.Sprintf("%.2f×", g.Ratio)
			}
			verdict := g.Verdict
			if g.Why != "" {
				verdict += ": " + g.Why
			}
			fmt.Fprintf(w, "| %s | `%s` | %s | %s | %s | %s | %s | %s |\n", g.Suite, g.Benchmark, g.Metric, value, base, ratio, mdEscape(goalText(g.Goal)), mdEscape(verdict))
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "## Suites\n\n| suite | status | time | packages with benchmarks |\n|---|---|---|---|\n")
	for _, s := range r.Suites {
		pk := strings.Join(s.Packages, ", ")
		if pk == "" {
			pk = "none"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", s.Name, s.Status, (time.Duration(s.Elapsed * float64(time.Second))).Round(time.Second), mdEscape(pk))
	}
	fmt.Fprintln(w)
	for _, s := range r.Suites {
		fmt.Fprintf(w, "### %s: %s\n\n", s.Name, s.Status)
		if s.Error != "" {
			fmt.Fprintf(w, "```\n%s\n```\n\n", s.Error)
		}
		for _, inv := range s.Invocations {
			fmt.Fprintf(w, "- `%s` (%s)", inv.Command, (time.Duration(inv.Elapsed * float64(time.Second))).Round(time.Second))
			if inv.Error != "" {
				fmt.Fprintf(w, ": %s", mdEscape(firstLine(inv.Error)))
			}
			fmt.Fprintln(w)
		}
		if len(s.Invocations) > 0 {
			fmt.Fprintln(w)
		}
		for _, b := range s.Benchmarks {
			writeBenchmark(w, b)
		}
	}
}

func writeBenchmark(w io.Writer, b BenchResult) {
	fmt.Fprintf(w, "#### `%s` (%s): %s\n\n", b.Name, b.Package, b.Status)
	if b.Reason != "" {
		fmt.Fprintf(w, "```\n%s\n```\n\n", b.Reason)
	}
	if len(b.Metrics) > 0 {
		fmt.Fprintf(w, "%d iteration(s), GOMAXPROCS %d.\n\n| figure | value |\n|---|---:|\n", b.Iterations, b.Procs)
		for _, m := range b.Metrics {
			fmt.Fprintf(w, "| %s | %s |\n", m.Unit, fmtValue(m.Value))
		}
		fmt.Fprintln(w)
	}
	if len(b.Log) > 0 {
		fmt.Fprintf(w, "<details><summary>log</summary>\n\n```\n%s\n```\n\n</details>\n\n", strings.Join(b.Log, "\n"))
	}
}

// goalText is the goal in words with its limit.
func goalText(g Goal) string {
	switch {
	case g.Max != 0:
		return fmt.Sprintf("≤ %s: %s", strconv.FormatFloat(g.Max, 'f', -1, 64), g.Text)
	case g.MaxRatio != 0:
		return fmt.Sprintf("ratio ≤ %s: %s", strconv.FormatFloat(g.MaxRatio, 'f', -1, 64), g.Text)
	}
	return g.Text
}

// fmtValue prints a figure with a sensible number of digits.
func fmtValue(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// summary prints the goal verdicts and suite statuses for the terminal.
func summary(w io.Writer, r Run) {
	fmt.Fprintln(w, "\nSuites:")
	for _, s := range r.Suites {
		fmt.Fprintf(w, "  %-10s %-18s %s\n", s.Name, s.Status, firstLine(s.Error))
	}
	if len(r.Goals) > 0 {
		fmt.Fprintln(w, "Goals and baselines:")
	}
	for _, g := range r.Goals {
		line := fmt.Sprintf("  %-7s %s %s", g.Verdict, g.Benchmark, g.Metric)
		if g.HasValue {
			line += " = " + fmtValue(g.Value)
		}
		if g.HasBase {
			line += fmt.Sprintf(" (baseline %s = %s, ratio %.2f×)", g.BaselineMetric, fmtValue(g.Baseline), g.Ratio)
		}
		if g.Why != "" {
			line += ": " + g.Why
		}
		fmt.Fprintln(w, line)
	}
}
