package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(run()) }

type options struct {
	out    string
	suites string
	quick  bool
	tug    string
	node   string
	bench  string
	list   bool
}

func run() int {
	var o options
	flag.StringVar(&o.out, "out", "bench/results", "directory for <date>-<host>.md/.json and latest.md/.json (relative to the module root)")
	flag.StringVar(&o.suites, "suite", "all", "comma-separated suites to run: "+suiteNames())
	flag.BoolVar(&o.quick, "quick", false, "shorter runs for trying things out (results are marked quick)")
	flag.StringVar(&o.tug, "tug", "", "a built tug binary (bin/tug) for the benchmarks that run the real one; without it they build their own")
	flag.StringVar(&o.node, "tug-node", "", "tug's node build (bin/tug-node, make build-node) for the agent benchmarks that measure it")
	flag.StringVar(&o.bench, "bench", "", "run only top-level benchmarks matching this regexp")
	flag.BoolVar(&o.list, "list", false, "only list the benchmarks each suite would run")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: go run ./bench/cmd/benchrun [flags]\n\nRuns tug's benchmarks suite by suite and records the results (see bench/README.md).\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "benchrun: unexpected arguments %q\n", flag.Args())
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := execute(ctx, o); err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			return int(ec)
		}
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		return 2
	}
	return 0
}

// exitCode ends benchrun with a status after results were written.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func suiteNames() string {
	var n []string
	for _, s := range defaultSuites() {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

func execute(ctx context.Context, o options) error {
	suites, err := selectSuites(defaultSuites(), o.suites)
	if err != nil {
		return err
	}
	var filter *regexp.Regexp
	if o.bench != "" {
		if filter, err = regexp.Compile(o.bench); err != nil {
			return fmt.Errorf("-bench %q: %w", o.bench, err)
		}
	}
	g, err := newGoCmd(ctx, o)
	if err != nil {
		return err
	}
	out := o.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(g.root, out)
	}
	p := newProgress(os.Stderr, loadPrevious(filepath.Join(out, "latest.json")))

	if o.list {
		for _, s := range suites {
			pkgs, err := discover(ctx, g, s, filter)
			if err != nil {
				fmt.Printf("%s: %v\n", s.Name, err)
				continue
			}
			fmt.Printf("%s (%s): %d package(s) with benchmarks\n", s.Name, s.About, len(pkgs))
			for _, pk := range pkgs {
				if pk.Err != "" {
					fmt.Printf("  %s: does not build: %s\n", pk.Package, firstLine(pk.Err))
					continue
				}
				for _, gr := range groupBenchmarks(s, pk.Package, pk.Names, o.quick) {
					fmt.Printf("  go %s\n", strings.Join(goTestArgs(gr, s.Timeout), " "))
				}
			}
		}
		return nil
	}

	mon := startLoadMonitor()
	r := Run{Started: time.Now(), Command: commandLine(), Quick: o.quick}
	for _, e := range g.env {
		if strings.HasPrefix(e, "TUG_BENCH_") {
			r.Env = append(r.Env, e)
		}
	}
	r.Machine = describeMachine(ctx, g)
	p.printf("machine: %s, %d cores, %s GiB, %s, %s, cgroups %s", r.Machine.CPU, r.Machine.Cores, r.Machine.MemoryGiB, r.Machine.Kernel, r.Machine.Go, r.Machine.Cgroups)
	p.printf("suites: %s; results into %s", suiteList(suites), out)
	failed := false
	for i, s := range suites {
		if ctx.Err() != nil {
			r.Suites = append(r.Suites, SuiteResult{Name: s.Name, Status: SuiteInterrupted, Error: "not started: benchrun was interrupted"})
			continue
		}
		p.printf("suite %s (%d/%d): %s; budget %s", s.Name, i+1, len(suites), s.About, s.Timeout)
		sr := runSuite(ctx, g, s, o, filter, p, mon)
		p.printf("suite %s: %s in %s", s.Name, sr.Status, time.Duration(sr.Elapsed*float64(time.Second)).Round(time.Second))
		if sr.Status != SuiteOK && sr.Status != SuiteEmpty {
			failed = true
		}
		r.Suites = append(r.Suites, sr)
	}
	r.Load = mon.finish()
	r.Finished = time.Now()
	r.Goals = evaluateGoals(defaultGoals(), r.Suites)
	md, js, err := writeResults(out, r, len(suites) == len(defaultSuites()))
	if err != nil {
		return err
	}
	summary(os.Stdout, r)
	fmt.Printf("\nwrote %s, %s and latest.md/latest.json\n", rel(g.root, md), rel(g.root, js))
	switch {
	case ctx.Err() != nil:
		return exitCode(130)
	case failed:
		return exitCode(1)
	}
	return nil
}

// newGoCmd finds the go command and the module root, and sets the build
// environment the benchmarks need (cgo, the seccomp tag, the tug binary).
func newGoCmd(ctx context.Context, o options) (goCmd, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, serr := os.Stat(goBin); serr != nil {
			return goCmd{}, fmt.Errorf("no go command on PATH (%v) nor at %s", err, goBin)
		}
	}
	env := append(os.Environ(), "CGO_ENABLED=1", "PATH="+filepath.Dir(goBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if gf := os.Getenv("GOFLAGS"); !strings.Contains(gf, "seccomp") {
		env = append(env, strings.TrimSpace("GOFLAGS="+gf+" -tags=seccomp"))
	}
	g := goCmd{goBin: goBin, env: env}
	mod, err := g.output(ctx, "env", "GOMOD")
	mod = strings.TrimSpace(mod)
	if err != nil || mod == "" || mod == os.DevNull {
		return goCmd{}, fmt.Errorf("run benchrun inside the tug module (go env GOMOD: %q, %v)", mod, err)
	}
	g.root = filepath.Dir(mod)
	for _, b := range []struct {
		flag, path, target string
		env                []string
	}{
		{"-tug", o.tug, "build", []string{"TUG_BENCH_BINARY", "TUG_BENCH_EXECUTABLE"}},
		{"-tug-node", o.node, "build-node", []string{"TUG_BENCH_NODE_BINARY"}},
	} {
		if b.path == "" {
			continue
		}
		bin, err := filepath.Abs(b.path)
		if err != nil {
			return goCmd{}, err
		}
		if st, err := os.Stat(bin); err != nil || st.IsDir() {
			return goCmd{}, fmt.Errorf("%s %s: not a file (run make %s first): %v", b.flag, b.path, b.target, err)
		}
		for _, name := range b.env {
			g.env = append(g.env, name+"="+bin)
		}
	}
	return g, nil
}

// runSuite discovers and runs the benchmarks of s within its budget.
func runSuite(ctx context.Context, g goCmd, s Suite, o options, filter *regexp.Regexp, p *progress, mon *loadMonitor) (sr SuiteResult) {
	start := time.Now()
	deadline := start.Add(s.Timeout)
	sctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	sr.Name = s.Name
	defer func() { sr.Elapsed = time.Since(start).Seconds() }()

	stopBeat := make(chan struct{})
	defer close(stopBeat)
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-stopBeat:
				return
			case <-t.C:
				p.heartbeat(s.Name, deadline)
			}
		}
	}()

	p.printf("%s: finding benchmarks in %s (compiles the test binaries)", s.Name, strings.Join(s.Packages, " "))
	pkgs, err := discover(sctx, g, s, filter)
	if err != nil {
		sr.Status, sr.Error = suiteStatus(ctx, sctx, SuiteFailed), err.Error()
		return sr
	}
	if len(pkgs) == 0 {
		sr.Status = SuiteEmpty
		return sr
	}
	var groups []benchGroup
	for _, pk := range pkgs {
		sr.Packages = append(sr.Packages, pk.Package)
		if pk.Err != "" {
			for _, n := range pk.Names {
				sr.Benchmarks = append(sr.Benchmarks, BenchResult{Package: pk.Package, Name: n, Status: BenchFail, Reason: "package does not build:\n" + pk.Err})
			}
			sr.Error = joinErr(sr.Error, pk.Package+" does not build")
			continue
		}
		groups = append(groups, groupBenchmarks(s, pk.Package, pk.Names, o.quick)...)
	}
	var left time.Duration
	known := true
	for _, gr := range groups {
		d, ok := p.estimate(commandKey(gr))
		left += d
		known = known && ok
	}
	if known {
		p.printf("%s: %d command(s); the last run took %s for them", s.Name, len(groups), left.Round(time.Second))
	} else {
		p.printf("%s: %d command(s); no timing from a previous run for some", s.Name, len(groups))
	}

	for _, gr := range groups {
		remaining := time.Until(deadline)
		key := commandKey(gr)
		if sctx.Err() != nil || remaining < 30*time.Second {
			for _, n := range gr.Names {
				sr.Benchmarks = append(sr.Benchmarks, BenchResult{Package: gr.Package, Name: n, Status: BenchNotRun, Reason: "the suite's time budget was used up"})
			}
			continue
		}
		// go test's own timeout fires first, so a hung benchmark prints its
		// goroutines before the group is killed.
		args := goTestArgs(gr, remaining-15*time.Second)
		eta := "no previous timing"
		if d, ok := p.estimate(key); ok {
			eta = "last run took " + d.Round(time.Second).String()
		}
		p.printf("%s: go %s (%s; suite budget left %s)", s.Name, strings.Join(args, " "), eta, remaining.Round(time.Second))
		st := newStream()
		t0 := time.Now()
		res := g.goTestJSON(sctx, args, st, p.event, p.text)
		p.idle()
		mon.addOwn(res.cpu)
		inv := Invocation{Package: gr.Package, Benchmarks: gr.Names, Command: key, Elapsed: time.Since(t0).Seconds()}
		results := st.results(gr.Package)
		for _, n := range gr.Names {
			if !ranSomething(results, n) {
				reason := "no result"
				if pe := st.packageError(gr.Package); pe != "" {
					reason = pe
				} else if res.err != nil {
					reason = fmt.Sprintf("%v\n%s", res.err, res.stderr)
				}
				results = append(results, BenchResult{Package: gr.Package, Name: n, Status: BenchFail, Reason: reason})
			}
		}
		for _, b := range results {
			p.printf("%s: %s %s%s", s.Name, b.Name, b.Status, briefFigures(b))
			if b.Status == BenchFail {
				sr.Error = joinErr(sr.Error, b.Name+" failed")
			}
		}
		sr.Benchmarks = append(sr.Benchmarks, results...)
		switch {
		case res.killed:
			inv.Error = "killed: " + suiteStatus(ctx, sctx, SuiteFailed)
		case res.err != nil:
			inv.Error = res.err.Error()
		}
		if res.leftover > 0 {
			inv.Error = joinErr(inv.Error, fmt.Sprintf("killed %d process(es) it left running", res.leftover))
		}
		sr.Invocations = append(sr.Invocations, inv)
	}
	switch {
	case sctx.Err() != nil:
		sr.Status = suiteStatus(ctx, sctx, SuiteFailed)
		sr.Error = joinErr(sr.Error, "stopped: "+sr.Status)
	case sr.Error != "":
		sr.Status = SuiteFailed
	default:
		sr.Status = SuiteOK
	}
	return sr
}

// commandKey is a group's go command without the timeout, which varies
// with the budget left: how it is recorded, and the key of its timing
// across runs.
func commandKey(g benchGroup) string {
	args := goTestArgs(g, 0)
	for i, a := range args {
		if a == "-timeout" {
			args = append(append([]string{}, args[:i]...), args[i+2:]...)
			break
		}
	}
	return "go " + strings.Join(args, " ")
}

// suiteStatus says why a suite's context ended: the whole run was
// interrupted, or the suite's budget ran out; otherwise fallback.
func suiteStatus(runCtx, suiteCtx context.Context, fallback string) string {
	switch {
	case runCtx.Err() != nil:
		return SuiteInterrupted
	case errors.Is(suiteCtx.Err(), context.DeadlineExceeded):
		return SuiteTimedOut
	}
	return fallback
}

func ranSomething(rs []BenchResult, name string) bool {
	for _, r := range rs {
		if r.Name == name || strings.HasPrefix(r.Name, name+"/") {
			return true
		}
	}
	return false
}

// briefFigures is a few of a result's figures for the progress line.
func briefFigures(b BenchResult) string {
	if b.Status != BenchOK {
		if r := firstLine(b.Reason); r != "" {
			return ": " + r
		}
		return ""
	}
	var parts []string
	for i, m := range b.Metrics {
		if i == 6 {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, fmt.Sprintf("%s %s", fmtValue(m.Value), m.Unit))
	}
	return ": " + strings.Join(parts, ", ")
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func suiteList(ss []Suite) string {
	var n []string
	for _, s := range ss {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}

func commandLine() string {
	args := append([]string{"go run ./bench/cmd/benchrun"}, os.Args[1:]...)
	return strings.Join(args, " ")
}

func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}
