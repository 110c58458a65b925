package lb

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// kernelBTF is where a kernel built with CONFIG_DEBUG_INFO_BTF describes
// itself.
const kernelBTF = "/sys/kernel/btf/vmlinux"

// CheckKernel returns the first kernel feature the load balancer needs that
// this kernel lacks (ErrNoBTF or ErrNoSockAddrHooks), nil when all are there.
// The probes load tiny programs, so they need the same privileges as Load.
func CheckKernel() error { return checkKernel(kernelBTF) }

func checkKernel(btfPath string) error {
	if _, err := os.Stat(btfPath); err != nil {
		return wrapError(ErrNoBTF, err, "kernel BTF not available (%v): tug needs a kernel built with CONFIG_DEBUG_INFO_BTF=y so that its map keys and values are self-describing", err)
	}
	if err := features.HaveProgramType(ebpf.CGroupSockAddr); err != nil {
		return sockAddrError("cgroup sock_addr programs (BPF_PROG_TYPE_CGROUP_SOCK_ADDR)", err)
	}
	helpers := []struct {
		fn   asm.BuiltinFunc
		what string
	}{
		{asm.FnGetSocketCookie, "bpf_get_socket_cookie"},
		{asm.FnGetNetnsCookie, "bpf_get_netns_cookie"},
		{asm.FnKtimeGetNs, "bpf_ktime_get_ns"},
		// bpf_set_retval (Linux 5.18) is how an empty Service refuses.
		{asm.FnSetRetval, "bpf_set_retval"},
	}
	for _, h := range helpers {
		if err := features.HaveProgramHelper(ebpf.CGroupSockAddr, h.fn); err != nil {
			return sockAddrError("the "+h.what+" helper in cgroup sock_addr programs", err)
		}
	}
	if err := features.HaveV3ISA(); err != nil {
		return sockAddrError("BPF ISA v3 (atomic fetch-and-add)", err)
	}
	return nil
}

func sockAddrError(what string, err error) error {
	if errors.Is(err, ebpf.ErrNotSupported) {
		return wrapError(ErrNoSockAddrHooks, err, "kernel lacks %s: tug's Service load balancer needs Linux 5.18 or newer with CONFIG_BPF_SYSCALL=y and CONFIG_CGROUP_BPF=y", what)
	}
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("probe for %s: %w (loading BPF programs needs root, or CAP_BPF with CAP_NET_ADMIN)", what, err)
	}
	return fmt.Errorf("probe for %s: %w", what, err)
}

func fsType(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(st.Type), nil
}

func isBPFFS(path string) bool {
	t, err := fsType(path)
	return err == nil && t == unix.BPF_FS_MAGIC
}

func isCgroup2(path string) bool {
	t, err := fsType(path)
	return err == nil && t == unix.CGROUP2_SUPER_MAGIC
}

// ensureBPFFS makes sure path is on a BPF filesystem, mounting one there
// when allowed and none is.
func ensureBPFFS(path string, mount bool) error {
	if isBPFFS(path) {
		return nil
	}
	if !mount {
		return newError(ErrNoBPFFS, "%s is not on a BPF filesystem: mount one with 'mount -t bpf bpffs %s' (the tug agent mounts it when it starts)", path, path)
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return wrapError(ErrNoBPFFS, err, "create mount point for the BPF filesystem: %v", err)
	}
	if err := unix.Mount("bpffs", path, "bpf", 0, ""); err != nil {
		return wrapError(ErrNoBPFFS, err, "mount a BPF filesystem at %s: %v (is CONFIG_BPF_SYSCALL set, and are we root?)", path, err)
	}
	if !isBPFFS(path) {
		return newError(ErrNoBPFFS, "mounted a BPF filesystem at %s but it does not show there", path)
	}
	return nil
}

// Cgroup2Root is the cgroup2 hierarchy's mount point: /sys/fs/cgroup on a
// pure cgroup v2 host, /sys/fs/cgroup/unified on a hybrid one.
func Cgroup2Root() (string, error) {
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if isCgroup2(p) {
			return p, nil
		}
	}
	return "", newError(ErrNoCgroup2, "no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified: boot with systemd.unified_cgroup_hierarchy=1, or mount one with 'mount -t cgroup2 none /sys/fs/cgroup/unified'")
}

// attachCgroup resolves the configured cgroup2 directory.
func attachCgroup(cfg Config) (string, error) {
	if cfg.Cgroup == "" {
		return Cgroup2Root()
	}
	st, err := os.Stat(cfg.Cgroup)
	if err != nil {
		return "", wrapError(ErrNoCgroup2, err, "cgroup %s: %v: create it (mkdir under the cgroup2 mount) or pass an existing cgroup2 directory", cfg.Cgroup, err)
	}
	if !st.IsDir() || !isCgroup2(cfg.Cgroup) {
		return "", newError(ErrNoCgroup2, "%s is not a cgroup2 directory: attach to the cgroup2 hierarchy (see 'mount -t cgroup2'), not a cgroup v1 controller or another filesystem", cfg.Cgroup)
	}
	return cfg.Cgroup, nil
}

// cgroupID is the id the kernel reports for a cgroup2 directory (its inode).
func cgroupID(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
