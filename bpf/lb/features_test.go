package lb

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

func TestMissingBTFIsNamed(t *testing.T) {
	err := checkKernel(filepath.Join(t.TempDir(), "vmlinux"))
	if !errors.Is(err, ErrNoBTF) || !strings.Contains(err.Error(), "CONFIG_DEBUG_INFO_BTF") {
		t.Fatalf("checkKernel without BTF = %v, want ErrNoBTF naming CONFIG_DEBUG_INFO_BTF", err)
	}
}

func TestMissingHookIsNamed(t *testing.T) {
	err := sockAddrError("the bpf_set_retval helper in cgroup sock_addr programs", fmt.Errorf("probe: %w", ebpf.ErrNotSupported))
	if !errors.Is(err, ErrNoSockAddrHooks) || !errors.Is(err, ebpf.ErrNotSupported) {
		t.Fatalf("got %v, want ErrNoSockAddrHooks wrapping ErrNotSupported", err)
	}
	for _, want := range []string{"bpf_set_retval", "5.18", "CONFIG_CGROUP_BPF"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not mention %s", err, want)
		}
	}
	if err := sockAddrError("x", errors.New("other")); errors.Is(err, ErrNoSockAddrHooks) {
		t.Fatalf("an unrelated probe failure is reported as a missing feature: %v", err)
	}
}
