package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeModule is a goCmd for testdata/fakebench, a module whose benchmarks
// succeed, skip, fail, do not build, or leave a process behind.
func fakeModule(t *testing.T, env ...string) goCmd {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	root, err := filepath.Abs("testdata/fakebench")
	if err != nil {
		t.Fatal(err)
	}
	return goCmd{goBin: goBin, root: root, env: append(os.Environ(), append([]string{"GOFLAGS=", "GOWORK=off"}, env...)...)}
}

// gone reports whether pid has exited (absent, or a zombie).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 100 {
		if gone(pid) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("pid %d still running", pid)
}

func readPid(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestRunSuiteOnFakeModule(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	g := fakeModule(t, "FAKEBENCH_PIDFILE="+pidFile)
	s := Suite{Name: "fake", Packages: []string{"./..."}, Timeout: 5 * time.Minute}
	mon := startLoadMonitor()
	sr := runSuite(t.Context(), g, s, options{quick: true}, nil, newProgress(io.Discard, nil), mon)
	mon.finish()

	if sr.Status != SuiteFailed {
		t.Errorf("status %q, want failed (a benchmark fails, a package does not build)", sr.Status)
	}
	if got := strings.Join(sr.Packages, " "); got != "fakebench/broken fakebench/figures" {
		t.Errorf("packages %q: want the two with benchmarks only", got)
	}
	byName := map[string]BenchResult{}
	for _, b := range sr.Benchmarks {
		byName[b.Name] = b
	}
	for name, want := range map[string]struct {
		status, reason string
		p99            float64
	}{
		"BenchmarkFigures/n=1":   {BenchOK, "", 1.5},
		"BenchmarkFigures/n=10":  {BenchOK, "", 15},
		"BenchmarkSkips":         {BenchSkip, "needs CAP_BPF", 0},
		"BenchmarkFails":         {BenchFail, "boom: the thing broke", 0},
		"BenchmarkLeavesProcess": {BenchOK, "", 0},
		"BenchmarkBroken":        {BenchFail, "does not build", 0},
	} {
		b, ok := byName[name]
		if !ok {
			t.Errorf("%s: no result", name)
			continue
		}
		if b.Status != want.status || !strings.Contains(b.Reason, want.reason) {
			t.Errorf("%s: %s %q; want %s %q", name, b.Status, b.Reason, want.status, want.reason)
		}
		if v, _ := b.Metric("p99-ms"); v != want.p99 {
			t.Errorf("%s: p99-ms %v, want %v", name, v, want.p99)
		}
	}
	if l := byName["BenchmarkFigures/n=10"].Log; len(l) != 1 || l[0] != "progress: n=10" {
		t.Errorf("log of n=10 = %q", l)
	}
	var leftNote bool
	for _, inv := range sr.Invocations {
		// b.N is raised several times: each call left a sleep behind.
		leftNote = leftNote || regexp.MustCompile(`killed [1-9]\d* process\(es\) it left running`).MatchString(inv.Error)
	}
	if !leftNote {
		t.Errorf("no invocation reports the process left running: %+v", sr.Invocations)
	}
	waitGone(t, readPid(t, pidFile))
}

func TestDiscoverFilter(t *testing.T) {
	g := fakeModule(t)
	pkgs, err := discover(t.Context(), g, Suite{Name: "fake", Packages: []string{"./..."}}, regexp.MustCompile("Fig|Broken"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 {
		t.Fatalf("packages %+v", pkgs)
	}
	for _, p := range pkgs {
		switch p.Package {
		case "fakebench/figures":
			if strings.Join(p.Names, ",") != "BenchmarkFigures" || p.Err != "" {
				t.Errorf("figures: %+v", p)
			}
		case "fakebench/broken":
			if !strings.Contains(p.Err, "undefined") {
				t.Errorf("broken: %+v", p)
			}
		default:
			t.Errorf("unexpected package %s", p.Package)
		}
	}
}

// TestRunKillsGroupOnCancel checks that a cancelled command's process
// group (the go command and the test binary under it) is ended.
func TestRunKillsGroupOnCancel(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	g := fakeModule(t, "FAKEBENCH_SLEEP=1", "FAKEBENCH_PIDFILE="+pidFile)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if _, err := os.Stat(pidFile); err == nil {
				cancel()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	res := g.run(ctx, []string{"test", "-count=1", "-run", "^TestSleep$", "./figures"}, func(string) {}, nil)
	if !res.killed {
		t.Fatalf("command not killed: %+v", res)
	}
	if res.err == nil {
		t.Error("a killed command reported success")
	}
	waitGone(t, readPid(t, pidFile))
}

func TestProcessGroup(t *testing.T) {
	if pg, want := processGroup(os.Getpid()), syscall.Getpgrp(); pg != want {
		t.Errorf("processGroup(self) = %d, want %d", pg, want)
	}
	if pg := processGroup(-5); pg != -1 {
		t.Errorf("processGroup(-5) = %d, want -1", pg)
	}
}
