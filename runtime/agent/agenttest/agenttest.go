package agenttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"k8s.io/client-go/rest"

	"github.com/tug-sh/tug/runtime/agent"
)

// RequireRoot skips the test unless it runs as root, which a real agent
// needs (namespaces, cgroups, mounts, network devices).
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a real node agent needs root (namespaces, cgroups, mounts, network devices)")
	}
}

// Suffix is 8 random hex digits, for names two runs never share.
func Suffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Logger sends logs to the test log (debug level with -v).
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelInfo
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(LogWriter(t), &slog.HandlerOptions{Level: level}))
}

// LogWriter writes each Write to the test log as one line (a child
// process's stderr, a logger's output).
func LogWriter(t testing.TB) io.Writer { return logWriter{t} }

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// NewNetns pins a new network namespace at path (lo up) until the test
// ends.
func NewNetns(t testing.TB, path string) string {
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

// CgroupDirs lists the directories of a cgroup parent in every hierarchy.
func CgroupDirs(t testing.TB, parent string) []string {
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

// MountsUnder lists the mount points at or below dir, sorted.
func MountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range mounts {
		out = append(out, m.Mountpoint)
	}
	slices.Sort(out)
	return out
}

// ResetNode runs agent.Reset for an agent of cfg (stopped already) and
// fails t if cgroups under its parent or mounts under dir other than the
// node namespace's pin at netnsPath are left: the cleanup every test of a
// real agent ends with.
func ResetNode(t testing.TB, cfg agent.Config, dir, netnsPath string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := agent.Reset(ctx, agent.ResetConfig{
		DataDir: cfg.DataDir, RunDir: cfg.RunDir, CgroupParent: cfg.CgroupParent,
		Bridge: cfg.Bridge, HostNetns: cfg.HostNetns, Logger: Logger(t),
	}); err != nil {
		t.Errorf("cleanup: reset: %v", err)
	}
	if d := CgroupDirs(t, cfg.CgroupParent); len(d) > 0 {
		t.Errorf("cleanup: cgroups left: %v", d)
	}
	if m := MountsUnder(t, dir); len(m) > 1 || (len(m) == 1 && m[0] != netnsPath) {
		t.Errorf("cleanup: mounts left: %v", m)
	}
}

// Node is the configuration of a real agent for a test's own node: a
// network namespace pinned in Dir as the node's (NetnsPath), data, run
// directory, cgroup parent and bridge of unique names, a random pod /24
// of 10.244.0.0/16, 1 s heartbeats and 5 s resyncs. Tests adjust Config
// before agent.New.
type Node struct {
	Config    agent.Config
	Dir       string
	NetnsPath string
}

// NewNode makes a Node whose agent talks to the API server at rc.
func NewNode(t testing.TB, rc *rest.Config) Node {
	t.Helper()
	dir := t.TempDir()
	ns := NewNetns(t, filepath.Join(dir, "node-netns"))
	sfx := Suffix()
	third, err := rand.Int(rand.Reader, big.NewInt(250))
	if err != nil {
		t.Fatal(err)
	}
	return Node{Dir: dir, NetnsPath: ns, Config: agent.Config{
		RestConfig:        rc,
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
		Logger:            Logger(t),
	}}
}
