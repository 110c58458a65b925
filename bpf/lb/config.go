package lb

import (
	"log/slog"
	"path/filepath"
	"strings"
)

// Defaults, as Cilium lays them out.
const (
	DefaultBPFFS  = "/sys/fs/bpf"
	DefaultPinDir = DefaultBPFFS + "/tug"
)

// Config says where the load balancer lives. The node agent's is the zero
// Config with MountBPFFS set: pins under /sys/fs/bpf/tug (mounting bpffs at
// /sys/fs/bpf if needed), programs on the cgroup2 root.
type Config struct {
	// BPFFS is a directory on a BPF filesystem (usually its mount point).
	// Default DefaultBPFFS.
	BPFFS string
	// PinDir holds the pinned maps and links; it must be inside BPFFS.
	// Default BPFFS/tug.
	PinDir string
	// MountBPFFS mounts a BPF filesystem at BPFFS when there is none, as
	// Cilium does. The agent sets it; inspection never mounts anything.
	MountBPFFS bool
	// Cgroup is the cgroup2 directory the programs attach to: they
	// translate for every process in its subtree. Default: the cgroup2
	// root, /sys/fs/cgroup or (hybrid hierarchy) /sys/fs/cgroup/unified.
	Cgroup string
	// Logger receives what Load did (adopted, repaired, re-attached).
	// Default: discard.
	Logger *slog.Logger
}

// complete fills in defaults and checks that the paths fit together.
func (c Config) complete() (Config, error) {
	if c.BPFFS == "" {
		c.BPFFS = DefaultBPFFS
	}
	c.BPFFS = filepath.Clean(c.BPFFS)
	if c.PinDir == "" {
		c.PinDir = filepath.Join(c.BPFFS, "tug")
	}
	c.PinDir = filepath.Clean(c.PinDir)
	if !filepath.IsAbs(c.BPFFS) || !filepath.IsAbs(c.PinDir) {
		return c, newError(ErrInvalidConfig, "bpffs %q and pin directory %q must be absolute paths", c.BPFFS, c.PinDir)
	}
	if rel, err := filepath.Rel(c.BPFFS, c.PinDir); err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return c, newError(ErrInvalidConfig, "pin directory %s must be a directory inside the BPF filesystem %s: pass a --pin-dir under --bpffs", c.PinDir, c.BPFFS)
	}
	if c.Cgroup != "" {
		c.Cgroup = filepath.Clean(c.Cgroup)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// linkDir holds one pinned link per hook.
func (c Config) linkDir() string { return filepath.Join(c.PinDir, "links") }

// mapNames are the pinned maps' file names in PinDir (LIBBPF_PIN_BY_NAME).
func mapNames() []string {
	return []string{lbMapTugLb4Front, lbMapTugLb4Back, lbMapTugLbRr, lbMapTugLb4Reverse, lbMapTugLb4Select, lbMapTugLbAffinity}
}
