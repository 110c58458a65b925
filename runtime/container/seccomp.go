package container

import (
	"runtime"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// deniedSyscalls is the RuntimeDefault deny-list, in the spirit of the
// Docker/containerd default profile: syscalls a container has no business
// making, denied with EPERM, except where the container was granted the
// capability that makes the syscall legitimate (then the kernel's own check
// applies). The empty capability means "denied whatever the capabilities".
var deniedSyscalls = []struct {
	unlessCap string
	names     []string
}{
	{"", []string{
		// Kernel keyring: not namespaced.
		"add_key", "keyctl", "request_key",
		// Obsolete or never containerised.
		"_sysctl", "create_module", "get_kernel_syms", "query_module", "nfsservctl",
		"uselib", "ustat", "vm86", "vm86old", "lookup_dcookie",
		// Host-wide memory and swap.
		"swapon", "swapoff", "kexec_load", "kexec_file_load",
		// Large attack surface, blocked by containerd since 2023.
		"io_uring_setup", "io_uring_enter", "io_uring_register",
		// Lets an unprivileged process stall the kernel on page faults.
		"userfaultfd",
	}},
	{"CAP_SYS_ADMIN", []string{
		"mount", "umount", "umount2", "pivot_root", "unshare", "setns",
		"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
		"quotactl", "quotactl_fd", "name_to_handle_at", "fanotify_init",
	}},
	{"CAP_DAC_READ_SEARCH", []string{"open_by_handle_at"}},
	{"CAP_SYS_MODULE", []string{"init_module", "finit_module", "delete_module"}},
	{"CAP_SYS_BOOT", []string{"reboot"}},
	{"CAP_SYS_TIME", []string{"settimeofday", "stime", "clock_settime", "clock_adjtime"}},
	{"CAP_SYS_PACCT", []string{"acct"}},
	{"CAP_SYS_RAWIO", []string{"iopl", "ioperm"}},
	{"CAP_SYSLOG", []string{"syslog"}},
	{"CAP_SYS_PTRACE", []string{"kcmp", "process_vm_readv", "process_vm_writev"}},
	{"CAP_BPF", []string{"bpf"}},
	{"CAP_PERFMON", []string{"perf_event_open"}},
}

// namespaceCloneFlags are the clone(2) flags that create namespaces; without
// CAP_SYS_ADMIN a clone with any of them is denied.
var namespaceCloneFlags = []uint64{
	unix.CLONE_NEWNS, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC, unix.CLONE_NEWUSER,
	unix.CLONE_NEWPID, unix.CLONE_NEWNET, unix.CLONE_NEWCGROUP, unix.CLONE_NEWTIME,
}

// seccompArchitectures lists the ABIs a process of this architecture can
// use, so a 32-bit syscall cannot bypass the filter.
func seccompArchitectures(goarch string) []specs.Arch {
	switch goarch {
	case "amd64":
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "arm64":
		return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	case "386":
		return []specs.Arch{specs.ArchX86}
	case "arm":
		return []specs.Arch{specs.ArchARM}
	case "ppc64le":
		return []specs.Arch{specs.ArchPPC64LE}
	case "s390x":
		return []specs.Arch{specs.ArchS390X, specs.ArchS390}
	case "riscv64":
		return []specs.Arch{specs.ArchRISCV64}
	}
	return nil
}

// DefaultSeccompProfile is the RuntimeDefault profile for a container whose
// bounding capability set is caps: every syscall allowed except the
// deny-list above (EPERM); clone(2) with namespace flags is denied and
// clone3(2) answers ENOSYS (its flags are behind a pointer a filter cannot
// read, and libc then falls back to clone), both unless CAP_SYS_ADMIN.
func DefaultSeccompProfile(caps []string) *specs.LinuxSeccomp {
	eperm := uint(unix.EPERM)
	enosys := uint(unix.ENOSYS)
	p := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: seccompArchitectures(runtime.GOARCH),
	}
	for _, group := range deniedSyscalls {
		if group.unlessCap != "" && slices.Contains(caps, group.unlessCap) {
			continue
		}
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
			Names:    slices.Clone(group.names),
			Action:   specs.ActErrno,
			ErrnoRet: &eperm,
		})
	}
	if !slices.Contains(caps, "CAP_SYS_ADMIN") {
		flagsArg := uint(0)
		if runtime.GOARCH == "s390x" {
			flagsArg = 1 // s390 swaps clone's first two arguments
		}
		for _, flag := range namespaceCloneFlags {
			p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
				Names:    []string{"clone"},
				Action:   specs.ActErrno,
				ErrnoRet: &eperm,
				Args:     []specs.LinuxSeccompArg{{Index: flagsArg, Value: flag, ValueTwo: flag, Op: specs.OpMaskedEqual}},
			})
		}
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
			Names:    []string{"clone3"},
			Action:   specs.ActErrno,
			ErrnoRet: &enosys,
		})
	}
	return p
}
