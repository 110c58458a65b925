package agent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/tug-sh/tug/bpf/lb"
	"github.com/tug-sh/tug/dataplane/overlay"
	"github.com/tug-sh/tug/dataplane/podnet"
	"github.com/tug-sh/tug/runtime/container"
)

// ResetConfig says where an agent put things (its Config's location
// fields, defaulted the same way).
type ResetConfig struct {
	DataDir      string
	RunDir       string
	CgroupParent string
	Bridge       string
	// HostNetns is the node's network namespace; empty is this process's.
	HostNetns string
	// VXLANDevice is the overlay's device (default "tug.1").
	VXLANDevice string
	// BPF, when set, also detaches the eBPF Service load balancer and
	// removes its pins (bpf/lb.Reset): `tug reset` passes the default
	// location; tests leave it nil so the machine's own stays.
	BPF    *lb.Config
	Logger *slog.Logger
}

// dataSubdirs are the directories an agent creates in its data directory;
// Reset removes only these (and the directory itself once empty), so a
// mistaken --data-dir cannot wipe unrelated files.
var dataSubdirs = []string{"containers", "pods", "ipam", "images"}

// Reset removes everything an agent put on the node, like `kubeadm
// reset`: it kills and removes every container (processes, cgroups,
// overlay mounts, state), the pods' IPC namespaces, network namespaces,
// veths, the bridge and its route, the vxlan device, the eBPF load
// balancer (when cfg.BPF is set), the IP allocations, images, pod files
// and logs. It goes on after a failure and returns all errors; running it
// again, or on a node without an agent, is harmless.
func Reset(ctx context.Context, cfg ResetConfig) error {
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.RunDir == "" {
		cfg.RunDir = DefaultRunDir
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = container.DefaultCgroupParent
	}
	if cfg.Bridge == "" {
		cfg.Bridge = podnet.DefaultBridge
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{cfg.DataDir, cfg.RunDir} {
		if !filepath.IsAbs(d) || filepath.Clean(d) == "/" {
			return fmt.Errorf("agent: reset: %q must be an absolute directory below /", d)
		}
	}
	log := cfg.Logger
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
			log.Warn("reset step failed", "err", err)
		}
	}

	stateDir := filepath.Join(cfg.DataDir, "containers")
	if _, err := os.Stat(stateDir); err == nil {
		note(resetContainers(ctx, stateDir, cfg.CgroupParent, log))
	}
	note(killCgroups(cfg.CgroupParent, log))
	note(podnet.ResetNode(ctx, podnet.Config{HostNetns: cfg.HostNetns, RunDir: cfg.RunDir, Bridge: cfg.Bridge, Logger: log}))
	note(overlay.Reset(ctx, overlay.Config{HostNetns: cfg.HostNetns, Device: cfg.VXLANDevice, Logger: log}))
	if cfg.BPF != nil {
		bc := *cfg.BPF
		bc.Logger = log
		note(lb.Reset(bc))
	}
	for _, dir := range []string{cfg.DataDir, cfg.RunDir} {
		note(unmountUnder(dir))
	}
	for _, sub := range dataSubdirs {
		note(removeTree(filepath.Join(cfg.DataDir, sub)))
	}
	for _, dir := range []string{cfg.DataDir, cfg.RunDir} {
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
			note(fmt.Errorf("agent: reset: remove %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// resetContainers destroys every container in the runtime's state and
// unpins every pod IPC namespace.
func resetContainers(ctx context.Context, stateDir, cgroupParent string, log *slog.Logger) error {
	rt, err := container.New(container.Config{StateDir: stateDir, CgroupParent: cgroupParent, Logger: log})
	if err != nil {
		return err
	}
	states, err := rt.List()
	if err != nil {
		return err
	}
	var errs []error
	for _, st := range states {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := rt.Destroy(dctx, st.ID); err != nil {
			errs = append(errs, err)
		} else {
			log.Info("removed container", "id", st.ID)
		}
		cancel()
	}
	ents, err := os.ReadDir(filepath.Join(stateDir, "pods"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range ents {
		if e.IsDir() {
			errs = append(errs, rt.RemovePodIPC(e.Name()))
		}
	}
	return errors.Join(errs...)
}

// killCgroups kills what is left in the cgroup parent (in every
// hierarchy) and removes its cgroups, deepest first.
func killCgroups(parent string, log *slog.Logger) error {
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return fmt.Errorf("agent: reset: list cgroup mounts: %w", err)
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
	if len(dirs) == 0 {
		return nil
	}
	for _, d := range dirs {
		for _, pid := range cgroupPids(d) {
			if pid > 1 && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				log.Info("killed a process left in a container cgroup", "pid", pid, "cgroup", d)
			}
		}
	}
	slices.SortFunc(dirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	var errs []error
	for _, d := range dirs {
		var err error
		for range 50 { // killed processes take a moment to leave
			if err = unix.Rmdir(d); err == nil || errors.Is(err, unix.ENOENT) {
				err = nil
				break
			}
			if !errors.Is(err, unix.EBUSY) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("agent: reset: remove cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

func cgroupPids(dir string) []int {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if n, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("agent: reset: list mounts: %w", err)
	}
	slices.SortFunc(mounts, func(a, b *mountinfo.Info) int {
		return strings.Count(b.Mountpoint, "/") - strings.Count(a.Mountpoint, "/")
	})
	var errs []error
	for _, m := range mounts {
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("agent: reset: unmount %s: %w", m.Mountpoint, err))
		}
	}
	return errors.Join(errs...)
}

// removeTree removes dir, refusing to descend into anything still mounted
// (os.RemoveAll would delete a mounted file system's content).
func removeTree(dir string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		return fmt.Errorf("agent: reset: %s still has %d mounts (first %s); not removing it", dir, len(mounts), mounts[0].Mountpoint)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("agent: reset: remove %s: %w", dir, err)
	}
	return nil
}
