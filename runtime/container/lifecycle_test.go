package container

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/tug-sh/tug/runtime/logs"
)

// startContainer creates and starts c; Cleanup destroys it.
func startContainer(t *testing.T, r *Runtime, c Container) {
	t.Helper()
	ctx := testCtx(t)
	if err := r.Create(ctx, c); err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Destroy(context.Background(), c.ID); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
	if err := r.Start(ctx, c.ID); err != nil {
		t.Fatalf("start: %v", err)
	}
}

// waitForLog blocks until the container's log contains want (following
// the log; the container's own progress, not a timer, ends the wait).
func waitForLog(t *testing.T, path, want string) {
	t.Helper()
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	w := &matchWriter{want: want, found: cancel}
	err := logs.ReadFile(ctx, path, logs.ReadOptions{Follow: true}, w)
	if !w.matched {
		t.Fatalf("log never contained %q (read error %v); log so far %q", want, err, w.buf.String())
	}
}

type matchWriter struct {
	want    string
	buf     strings.Builder
	found   func()
	matched bool
}

func (m *matchWriter) Write(p []byte) (int, error) {
	m.buf.Write(p)
	if !m.matched && strings.Contains(m.buf.String(), m.want) {
		m.matched = true
		m.found()
	}
	return len(p), nil
}

// cgroupPaths returns libcontainer's cgroup paths of a started container.
func cgroupPaths(t *testing.T, r *Runtime, id string) map[string]string {
	t.Helper()
	c, err := libcontainer.Load(r.lcRoot, id)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.State()
	if err != nil {
		t.Fatal(err)
	}
	return st.CgroupPaths
}

func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestMemoryLimitOOMKilled(t *testing.T) {
	r := newTestRuntime(t)
	// tail buffers its whole input looking for newlines; /dev/zero has none.
	c := baseContainer(t, "tail", "/dev/zero")
	c.Resources.MemoryLimitBytes = 32 << 20
	exit, log := run(t, r, c)
	if !exit.OOMKilled || exit.Reason != "OOMKilled" || exit.Code != 137 || exit.Signal != syscall.SIGKILL {
		t.Fatalf("exit = %+v (log %q), want OOMKilled, 137, SIGKILL", exit, log)
	}
}

func TestCgroupLimits(t *testing.T) {
	r := newTestRuntime(t)
	c := baseContainer(t, "sleep", "1000")
	c.Resources = Resources{CPURequestMilli: 250, CPULimitMilli: 500, MemoryLimitBytes: 64 << 20, PidsLimit: 100}
	startContainer(t, r, c)
	paths := cgroupPaths(t, r, c.ID)
	shares := cpuSharesFromRequest(250)
	if shares != 256 {
		t.Fatalf("cpuSharesFromRequest(250) = %d, want 256", shares)
	}
	var want map[string]string
	if r.host.cgroupV2 {
		u := paths[""]
		want = map[string]string{
			filepath.Join(u, "cpu.max"):      "50000 100000",
			filepath.Join(u, "cpu.weight"):   strconv.FormatUint(cpuWeightFromShares(shares), 10),
			filepath.Join(u, "memory.max"):   strconv.Itoa(64 << 20),
			filepath.Join(u, "pids.max"):     "100",
			filepath.Join(u, "cgroup.procs"): "", // checked below
		}
		delete(want, filepath.Join(u, "cgroup.procs"))
	} else {
		want = map[string]string{
			filepath.Join(paths["cpu"], "cpu.cfs_quota_us"):         "50000",
			filepath.Join(paths["cpu"], "cpu.cfs_period_us"):        "100000",
			filepath.Join(paths["cpu"], "cpu.shares"):               "256",
			filepath.Join(paths["memory"], "memory.limit_in_bytes"): strconv.Itoa(64 << 20),
			filepath.Join(paths["pids"], "pids.max"):                "100",
		}
		if r.host.swapAccounting {
			want[filepath.Join(paths["memory"], "memory.memsw.limit_in_bytes")] = strconv.Itoa(64 << 20)
		}
	}
	for file, v := range want {
		if got := readTrimmed(t, file); got != v {
			t.Errorf("%s = %q, want %q", file, got, v)
		}
	}
	// The container's process is in its cgroup, under the parent.
	st, err := r.State(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	procs := readTrimmed(t, filepath.Join(firstNonEmpty(paths["memory"], paths[""]), "cgroup.procs"))
	if !strings.Contains(procs, strconv.Itoa(st.Pid)) {
		t.Errorf("pid %d not in its cgroup (procs %q)", st.Pid, procs)
	}
	for key, p := range paths {
		if !strings.HasSuffix(p, "/"+r.cgroupParent+"/"+c.ID) {
			t.Errorf("cgroup %q path %s is not <parent>/<id>", key, p)
		}
	}
}

func TestStopGracePeriod(t *testing.T) {
	r := newTestRuntime(t)
	t.Run("SIGTERM handled", func(t *testing.T) {
		c := baseContainer(t, "sh", "-c", `trap 'echo got TERM; exit 3' TERM; echo ready; while true; do sleep 0.1; done`)
		startContainer(t, r, c)
		waitForLog(t, c.LogPath, "ready")
		exit, err := r.Stop(testCtx(t), c.ID, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if exit.Code != 3 || exit.Signal != 0 {
			t.Fatalf("exit = %+v, want code 3 from the TERM trap", exit)
		}
		if log := readLog(t, c.LogPath); log != "ready\ngot TERM\n" {
			t.Fatalf("log = %q", log)
		}
	})
	t.Run("SIGTERM ignored", func(t *testing.T) {
		c := baseContainer(t, "sh", "-c", `trap '' TERM; echo ready; while true; do sleep 0.1; done`)
		startContainer(t, r, c)
		waitForLog(t, c.LogPath, "ready")
		exit, err := r.Stop(testCtx(t), c.ID, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if exit.Code != 137 || exit.Signal != syscall.SIGKILL || exit.OOMKilled {
			t.Fatalf("exit = %+v, want 137 by SIGKILL after the grace period", exit)
		}
		st, err := r.State(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != StatusExited || st.Exit == nil || st.Exit.Code != 137 {
			t.Fatalf("state after stop = %+v", st)
		}
		if err := r.Signal(c.ID, syscall.SIGTERM); !errors.Is(err, ErrNotRunning) {
			t.Fatalf("signal after exit: err = %v, want ErrNotRunning", err)
		}
		if err := r.Start(testCtx(t), c.ID); !errors.Is(err, ErrAlreadyStarted) {
			t.Fatalf("restart: err = %v, want ErrAlreadyStarted", err)
		}
	})
}

func TestLifecycleErrors(t *testing.T) {
	r := newTestRuntime(t)
	ctx := testCtx(t)
	if _, err := r.State("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("State(missing) err = %v, want ErrNotFound", err)
	}
	if _, err := r.Wait(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Wait(missing) err = %v, want ErrNotFound", err)
	}
	if err := r.Signal("missing", syscall.SIGTERM); !errors.Is(err, ErrNotFound) {
		t.Errorf("Signal(missing) err = %v, want ErrNotFound", err)
	}
	if err := r.Destroy(ctx, "missing"); err != nil {
		t.Errorf("Destroy(missing) = %v, want nil", err)
	}
	c := baseContainer(t, "true")
	if err := r.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := r.Create(ctx, c); !errors.Is(err, ErrExists) {
		t.Errorf("second Create err = %v, want ErrExists", err)
	}
	if _, err := r.Wait(ctx, c.ID); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Wait before Start err = %v, want ErrNotRunning", err)
	}
	if st, err := r.State(c.ID); err != nil || st.Status != StatusCreated {
		t.Errorf("State before Start = %+v, %v", st, err)
	}
	bad := baseContainer(t, "/no/such/binary")
	if err := r.Create(ctx, bad); err != nil {
		t.Fatal(err)
	}
	err := r.Start(ctx, bad.ID)
	if err == nil || !strings.Contains(err.Error(), "/no/such/binary") {
		t.Errorf("Start of a missing binary: err = %v, want it to name the binary", err)
	}
	missingImage := baseContainer(t, "true")
	missingImage.RootfsLower = "/nonexistent/image"
	if err := r.Create(ctx, missingImage); !errors.Is(err, ErrInvalid) {
		t.Errorf("Create with a missing image: err = %v, want ErrInvalid", err)
	}
	for _, id := range []string{c.ID, bad.ID} {
		if err := r.Destroy(ctx, id); err != nil {
			t.Errorf("destroy %s: %v", id, err)
		}
	}
}
