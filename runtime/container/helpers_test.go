package container

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/tug-sh/tug/runtime/logs"
)

// requireRoot skips tests that create containers when not root.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating containers needs root (CAP_SYS_ADMIN for namespaces, mounts and cgroups)")
	}
}

// testLogger sends the runtime's log to the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// newTestRuntime returns a Runtime on a fresh state directory with a unique
// cgroup parent. Cleanup destroys every container left and removes the
// parent cgroup in every hierarchy.
func newTestRuntime(t testing.TB, options ...func(*Config)) *Runtime {
	t.Helper()
	requireRoot(t)
	if !seccompBuiltIn {
		t.Fatal("runtime/container tests start containers with the default seccomp profile: run them with CGO_ENABLED=1 go test -tags seccomp (needs libseccomp-dev)")
	}
	parent := "tug-test-" + randomSuffix()
	cfg := Config{StateDir: t.TempDir(), CgroupParent: parent, Logger: testLogger(t)}
	for _, o := range options {
		o(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		states, err := r.List()
		if err != nil {
			t.Errorf("cleanup: list: %v", err)
		}
		for _, st := range states {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := r.Destroy(ctx, st.ID); err != nil {
				t.Errorf("cleanup: destroy %s: %v", st.ID, err)
			}
			cancel()
		}
		for _, d := range cgroupDirs(t, parent) {
			if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
				t.Errorf("cleanup: remove cgroup %s: %v", d, err)
			}
		}
	})
	return r
}

// cgroupMountPoints lists every cgroup hierarchy (v1 controllers and the
// unified one).
func cgroupMountPoints(t testing.TB) []string {
	t.Helper()
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range mounts {
		out = append(out, m.Mountpoint)
	}
	return out
}

// cgroupDirs lists the directories named rel and under it in every
// hierarchy, deepest first (the order to remove them).
func cgroupDirs(t testing.TB, rel string) []string {
	t.Helper()
	var dirs []string
	for _, mp := range cgroupMountPoints(t) {
		root := filepath.Join(mp, rel)
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	slices.SortFunc(dirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return dirs
}

// mountsUnder lists the mount points under dir.
func mountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range mounts {
		out = append(out, m.Mountpoint)
	}
	return out
}

// baseContainer is a container of the test busybox image.
func baseContainer(t testing.TB, command ...string) Container {
	id := strings.ToLower(strings.Map(func(r rune) rune {
		if r < 128 && idPattern.MatchString(string(r)) {
			return r
		}
		return '-'
	}, t.Name()))
	if len(id) > 40 {
		id = id[:40]
	}
	return Container{
		ID:          id + "-" + randomSuffix(),
		Pod:         PodSandbox{ID: "pod-" + randomSuffix()},
		Hostname:    "testpod",
		RootfsLower: testRootfs,
		Command:     command,
		LogPath:     logs.InstancePath(filepath.Join(t.TempDir(), "logs"), 0),
	}
}

// testCtx bounds a test's waits so a hang fails instead of blocking the
// package; it is not a timed assertion.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// run creates and starts c, waits for its exit and returns it with the
// container's log.
func run(t testing.TB, r *Runtime, c Container) (ExitStatus, string) {
	t.Helper()
	ctx := testCtx(t)
	if err := r.Create(ctx, c); err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := r.Start(ctx, c.ID); err != nil {
		t.Fatalf("start: %v", err)
	}
	exit, err := r.Wait(ctx, c.ID)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return exit, readLog(t, c.LogPath)
}

// readLog returns the content of a container's log (both streams).
func readLog(t testing.TB, path string) string {
	t.Helper()
	var b strings.Builder
	if err := logs.ReadFile(context.Background(), path, logs.ReadOptions{}, &b); err != nil {
		t.Fatalf("read log: %v", err)
	}
	return b.String()
}
