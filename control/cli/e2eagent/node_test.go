package e2eagent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/tug-sh/tug/control/apiserver/apitest"
	"github.com/tug-sh/tug/runtime/agent"
)

// The node set-up follows runtime/agent's own tests (helpers_test.go):
// an agent on loopback whose bridge, veths and pod routes live in a
// network namespace of the test's own, containers under a cgroup parent
// of the test's own, and agent.Reset plus checks that nothing is left
// when the test ends.

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a real node agent needs root (namespaces, cgroups, mounts, network devices)")
	}
}

func suffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testLogger sends logs to the test log (debug level with -v).
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelInfo
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// node is a running agent registered with env.
type node struct {
	name  string
	agent *agent.Agent
}

// startNode runs an agent for a new node of env until the test ends, then
// stops it and removes everything it created.
func startNode(t *testing.T, env *apitest.Env) *node {
	t.Helper()
	dir := t.TempDir()
	ns := newNetns(t, filepath.Join(dir, "node-netns"))
	sfx := suffix()
	third, _ := rand.Int(rand.Reader, big.NewInt(250))
	cfg := agent.Config{
		RestConfig:        env.Config,
		NodeName:          "node-" + sfx,
		NodeIP:            netip.MustParseAddr("127.0.0.1"),
		Listen:            "127.0.0.1:0",
		DataDir:           filepath.Join(dir, "data"),
		RunDir:            filepath.Join(dir, "run"),
		CgroupParent:      "tug-test-" + sfx,
		HostNetns:         ns,
		Bridge:            "tugt" + sfx,
		PodCIDR:           netip.MustParsePrefix(fmt.Sprintf("10.244.%d.0/24", third.Int64()+1)),
		HeartbeatInterval: time.Second,
		ResyncInterval:    5 * time.Second,
		Logger:            testLogger(t),
	}
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent Run: %v", err)
			}
		case <-time.After(time.Minute):
			t.Errorf("the agent did not stop within a minute")
		}
		rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer rcancel()
		if err := agent.Reset(rctx, agent.ResetConfig{
			DataDir: cfg.DataDir, RunDir: cfg.RunDir, CgroupParent: cfg.CgroupParent,
			Bridge: cfg.Bridge, HostNetns: cfg.HostNetns, Logger: testLogger(t),
		}); err != nil {
			t.Errorf("cleanup: reset: %v", err)
		}
		if d := cgroupDirs(t, cfg.CgroupParent); len(d) > 0 {
			t.Errorf("cleanup: cgroups left: %v", d)
		}
		if m := mountsUnder(t, dir); len(m) > 1 || (len(m) == 1 && m[0] != ns) {
			t.Errorf("cleanup: mounts left: %v", m)
		}
	})
	return &node{name: cfg.NodeName, agent: a}
}

// newNetns pins a new network namespace at path (lo up) until the test
// ends.
func newNetns(t testing.TB, path string) string {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		err = unix.Mount(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), path, "", unix.MS_BIND, "")
		if lo, lerr := netlink.LinkByName("lo"); lerr == nil && err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if serr := netns.Set(orig); serr != nil {
			errc <- errors.Join(err, serr) // the thread stays locked and dies with the goroutine
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatalf("create network namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
			t.Errorf("cleanup: unmount %s: %v", path, err)
		}
		os.Remove(path)
	})
	return path
}

// cgroupDirs lists the directories of a cgroup parent in every hierarchy.
func cgroupDirs(t testing.TB, parent string) []string {
	t.Helper()
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, m := range mounts {
		root := filepath.Join(m.Mountpoint, parent)
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	return dirs
}

// mountsUnder lists the mount points at or below dir.
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
