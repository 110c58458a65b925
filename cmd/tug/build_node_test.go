package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestNodeBuild builds tug with -tags tug_node, as make build-node does,
// and runs it: it has the node's commands and not the control plane's,
// and says which build has those.
func TestNodeBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "tug-node")
	build := exec.Command(goBin, "build", "-tags=seccomp,tug_node", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags tug_node: %v\n%s", err, out)
	}

	help, err := exec.Command(bin, "help").Output()
	if err != nil {
		t.Fatalf("tug-node help: %v", err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(help), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(line, "  ") {
			listed[f[0]] = true
		}
	}
	for _, c := range []string{"agent", "reset", "image", "bpf", "version"} {
		if !listed[c] {
			t.Errorf("the node build lacks %q:\n%s", c, help)
		}
	}
	for _, c := range []string{"up", "server", "get", "create"} {
		if listed[c] {
			t.Errorf("the node build lists the control plane's %q:\n%s", c, help)
		}
	}

	out, err := exec.Command(bin, "server").CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "full build") {
		t.Errorf("tug-node server: exit %d, %q; want exit 2 naming the full build", code, out)
	}
	out, err = exec.Command(bin, "agent", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--node-name") {
		t.Errorf("tug-node agent --help: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "version").Output()
	if err != nil || !strings.Contains(string(out), version) || !strings.Contains(string(out), "node build") {
		t.Errorf("tug-node version: %v, %q", err, out)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
