package container

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// adoptFirstHalfEnv makes the test binary play an agent that starts a
// container and exits (see TestAdoptionAfterAgentExit).
const adoptFirstHalfEnv = "TUG_TEST_ADOPT_FIRST_HALF"

type adoptSpec struct {
	StateDir     string    `json:"stateDir"`
	CgroupParent string    `json:"cgroupParent"`
	Container    Container `json:"container"`
}

// adoptFirstHalf creates and starts the container with a Runtime of its
// own, prints the container's PID and exits without stopping anything.
func adoptFirstHalf(specJSON string) int {
	var spec adoptSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r, err := New(Config{StateDir: spec.StateDir, CgroupParent: spec.CgroupParent})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	if err := r.Create(ctx, spec.Container); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := r.Start(ctx, spec.Container.ID); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	st, err := r.State(spec.Container.ID)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(st.Pid)
	return 0
}

func TestAdoptionAfterAgentExit(t *testing.T) {
	first := newTestRuntime(t) // owns the state dir, the parent cgroup and cleanup
	c := baseContainer(t, "sh", "-c", `echo before; while [ ! -f /tmp/go ]; do sleep 0.05; done; echo after; exit 5`)
	spec, err := json.Marshal(adoptSpec{StateDir: first.stateDir, CgroupParent: first.cgroupParent, Container: c})
	if err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(os.Args[0])
	agent.Env = append(os.Environ(), adoptFirstHalfEnv+"="+string(spec))
	var stderr bytes.Buffer
	agent.Stderr = &stderr
	out, err := agent.Output()
	if err != nil {
		t.Fatalf("first agent: %v: %s", err, stderr.String())
	}
	var pid int
	if _, err := fmt.Sscan(string(out), &pid); err != nil || pid <= 0 {
		t.Fatalf("first agent printed %q", out)
	}
	// The first agent has exited. A new Runtime on the same state dir finds
	// the container still running with the same PID.
	r, err := New(Config{StateDir: first.stateDir, CgroupParent: first.cgroupParent, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	states, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states[0].ID != c.ID || states[0].Status != StatusRunning || states[0].Pid != pid {
		t.Fatalf("List after restart = %+v, want %s running as pid %d", states, c.ID, pid)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("pid %d: %v", pid, err)
	}
	if _, err := r.Stats(c.ID); err != nil {
		t.Fatalf("stats of the adopted container: %v", err)
	}
	// Exec into it; the container then finishes, and its exit code (kept by
	// its monitor) and its whole log are there.
	ctx := testCtx(t)
	if code, err := r.Exec(ctx, c.ID, ExecOptions{Command: []string{"touch", "/tmp/go"}}); err != nil || code != 0 {
		t.Fatalf("exec: code %d, %v", code, err)
	}
	exit, err := r.Wait(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if exit.Code != 5 || exit.Reason != "Error" {
		t.Fatalf("exit = %+v, want code 5", exit)
	}
	if log := readLog(t, c.LogPath); log != "before\nafter\n" {
		t.Fatalf("log = %q", log)
	}
	if err := r.Destroy(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
}

func TestAdoptedStopAndDestroy(t *testing.T) {
	r := newTestRuntime(t)
	c := baseContainer(t, "sleep", "1000")
	spec, _ := json.Marshal(adoptSpec{StateDir: r.stateDir, CgroupParent: r.cgroupParent, Container: c})
	agent := exec.Command(os.Args[0])
	agent.Env = append(os.Environ(), adoptFirstHalfEnv+"="+string(spec))
	if out, err := agent.CombinedOutput(); err != nil {
		t.Fatalf("first agent: %v: %s", err, out)
	}
	exit, err := r.Stop(testCtx(t), c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if exit.Code != 137 || exit.Signal != syscall.SIGKILL {
		t.Fatalf("exit = %+v", exit)
	}
	if err := r.Destroy(testCtx(t), c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.containersDir(), c.ID)); !os.IsNotExist(err) {
		t.Fatalf("state left: %v", err)
	}
}

func TestWaitWhenMonitorLost(t *testing.T) {
	r := newTestRuntime(t)
	c := baseContainer(t, "sleep", "1000")
	startContainer(t, r, c)
	var started startedRecord
	if err := readJSON(filepath.Join(r.containerDir(c.ID), startedFile), &started); err != nil {
		t.Fatal(err)
	}
	// Kill the monitor this test started; the container keeps running.
	if err := syscall.Kill(started.MonitorPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if _, err := waitProcess(ctx, started.MonitorPid, started.MonitorStartTime); err != nil {
		t.Fatal(err)
	}
	st, err := r.State(c.ID)
	if err != nil || st.Status != StatusRunning || st.Pid != started.InitPid {
		t.Fatalf("state with the monitor gone = %+v, %v; want running", st, err)
	}
	if err := r.Signal(c.ID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exit, err := r.Wait(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if exit.Code != -1 || exit.Reason != "Unknown" {
		t.Fatalf("exit = %+v, want the unknown exit", exit)
	}
}
