package container

import (
	"runtime"
	"slices"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// deniedNames lists the syscalls a profile denies unconditionally.
func deniedNames(p *specs.LinuxSeccomp) []string {
	var out []string
	for _, s := range p.Syscalls {
		if len(s.Args) == 0 {
			out = append(out, s.Names...)
		}
	}
	return out
}

func TestDefaultSeccompProfile(t *testing.T) {
	base := DefaultSeccompProfile(defaultCapabilities)
	if base.DefaultAction != specs.ActAllow {
		t.Fatalf("default action %s", base.DefaultAction)
	}
	if runtime.GOARCH == "amd64" && !slices.Equal(base.Architectures, []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}) {
		t.Errorf("architectures %v", base.Architectures)
	}
	denied := deniedNames(base)
	for _, name := range []string{"keyctl", "add_key", "request_key", "mount", "umount2", "unshare", "setns", "kexec_load",
		"init_module", "finit_module", "delete_module", "bpf", "perf_event_open", "reboot", "swapon", "swapoff",
		"clock_settime", "settimeofday", "acct", "pivot_root", "open_by_handle_at", "userfaultfd", "io_uring_setup", "clone3"} {
		if !slices.Contains(denied, name) {
			t.Errorf("default profile allows %s", name)
		}
	}
	for _, name := range []string{"ptrace", "read", "clone", "execve", "chown"} {
		if slices.Contains(denied, name) {
			t.Errorf("default profile denies %s unconditionally", name)
		}
	}
	for _, s := range base.Syscalls {
		want := uint(unix.EPERM)
		if slices.Contains(s.Names, "clone3") {
			want = uint(unix.ENOSYS)
		}
		if s.Action != specs.ActErrno || s.ErrnoRet == nil || *s.ErrnoRet != want {
			t.Errorf("rule %v: action %s errno %v, want errno %d", s.Names, s.Action, s.ErrnoRet, want)
		}
	}
	// clone is denied only with a namespace flag: one masked rule per flag.
	var cloneFlags []uint64
	for _, s := range base.Syscalls {
		if slices.Equal(s.Names, []string{"clone"}) && len(s.Args) == 1 && s.Args[0].Op == specs.OpMaskedEqual && s.Args[0].Value == s.Args[0].ValueTwo {
			cloneFlags = append(cloneFlags, s.Args[0].Value)
		}
	}
	if !slices.Contains(cloneFlags, unix.CLONE_NEWUSER) || len(cloneFlags) != len(namespaceCloneFlags) {
		t.Errorf("clone rules for flags %x", cloneFlags)
	}

	// Capabilities re-allow what they are for.
	admin := deniedNames(DefaultSeccompProfile(append(slices.Clone(defaultCapabilities), "CAP_SYS_ADMIN", "CAP_SYS_TIME")))
	for _, name := range []string{"mount", "unshare", "setns", "clone3", "clock_settime"} {
		if slices.Contains(admin, name) {
			t.Errorf("with CAP_SYS_ADMIN/CAP_SYS_TIME, %s is still denied", name)
		}
	}
	for _, name := range []string{"keyctl", "kexec_load", "reboot"} {
		if !slices.Contains(admin, name) {
			t.Errorf("with CAP_SYS_ADMIN, %s is allowed", name)
		}
	}
}
