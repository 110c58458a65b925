package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

func TestMissingControllers(t *testing.T) {
	for _, tt := range []struct {
		have string
		want []string
	}{
		{"cpuset cpu io memory hugetlb pids rdma misc", nil},
		{"hugetlb", []string{"cpu", "memory"}},
		{"", []string{"cpu", "memory"}},
		{"cpuset cpu io pids", []string{"memory"}},
		{"cpuset io memory", []string{"cpu"}},
	} {
		if got := missingControllers(tt.have, "cpu", "memory"); !slicesEqual(got, tt.want) {
			t.Errorf("missingControllers(%q) = %q, want %q", tt.have, got, tt.want)
		}
	}
}

func TestHostCheck(t *testing.T) {
	if err := (hostInfo{}).check(); err != nil {
		t.Errorf("cgroup v1 host: %v", err)
	}
	if err := (hostInfo{cgroupV2: true, v2Controllers: "cpuset cpu io memory pids"}).check(); err != nil {
		t.Errorf("cgroup v2 host with its controllers: %v", err)
	}
	err := (hostInfo{cgroupV2: true, v2Controllers: "hugetlb"}).check()
	if !errors.Is(err, ErrCgroupControllers) {
		t.Fatalf("cgroup v2 host with hugetlb only: %v, want ErrCgroupControllers", err)
	}
	for _, want := range []string{"cpu and memory not enabled", "/sys/fs/cgroup/cgroup.controllers", `"hugetlb"`, "systemd.unified_cgroup_hierarchy=1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func slicesEqual(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// pureV2Env makes the test binary play a node whose /sys/fs/cgroup is the
// cgroup2 hierarchy (TestPureCgroupV2Host); its value is the runtime's
// state directory and cgroup parent, "DIR:PARENT".
const pureV2Env = "TUG_TEST_PURE_CGROUP2"

// pureV2Skip is the exit code of that role when the hierarchy has the
// controllers: the host is then a real cgroup v2 one, which the rest of the
// tests cover.
const pureV2Skip = 3

// TestPureCgroupV2Host runs the runtime on a pure cgroup v2 host as far as
// a hybrid machine can be one: the test binary re-executes itself in a
// mount namespace of its own with the real cgroup2 hierarchy mounted at
// /sys/fs/cgroup, where libcontainer and the runtime take the host for pure
// v2. On a hybrid host that hierarchy lacks cpu and memory (their cgroup v1
// hierarchies hold them), so the runtime must say so, naming them, and
// create nothing.
func TestPureCgroupV2Host(t *testing.T) {
	requireRoot(t)
	unified := "/sys/fs/cgroup/unified"
	if !isCgroup2(unified) {
		t.Skipf("no cgroup2 hierarchy at %s (a pure cgroup v2 host runs every other test natively)", unified)
	}
	parent := "tug-v2test-" + randomSuffix()
	t.Cleanup(func() {
		if err := os.Remove(filepath.Join(unified, parent)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cleanup: %v", err)
		}
	})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), pureV2Env+"="+t.TempDir()+":"+parent)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == pureV2Skip:
		t.Skipf("%s", out)
	case err != nil:
		t.Fatalf("the pure cgroup v2 node: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if _, err := os.Stat(filepath.Join(unified, parent)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused container left its cgroup parent %s behind (%v)", parent, err)
	}
}

func isCgroup2(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// pureV2Node is the role of TestPureCgroupV2Host, in its own mount
// namespace: it returns the exit code.
func pureV2Node(arg string) int {
	stateDir, parent, _ := strings.Cut(arg, ":")
	if err := unix.Mount("cgroup2", cgroupV2Root, "cgroup2", 0, ""); err != nil {
		fmt.Printf("mount cgroup2 at %s: %v\n", cgroupV2Root, err)
		return 1
	}
	if !cgroups.IsCgroup2UnifiedMode() {
		fmt.Println("libcontainer does not take the host for pure cgroup v2 with cgroup2 at /sys/fs/cgroup")
		return 1
	}
	have, err := os.ReadFile(filepath.Join(cgroupV2Root, "cgroup.controllers"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	missing := missingControllers(string(have), "cpu", "memory")
	if len(missing) == 0 {
		fmt.Printf("the cgroup2 hierarchy has cpu and memory (%q): a real cgroup v2 host, which the other tests cover\n", strings.TrimSpace(string(have)))
		return pureV2Skip
	}
	r, err := New(Config{StateDir: stateDir, CgroupParent: parent})
	if err != nil {
		fmt.Println("New:", err)
		return 1
	}
	if !r.host.cgroupV2 {
		fmt.Println("the runtime does not take the host for pure cgroup v2")
		return 1
	}
	check := r.CheckHost()
	if !errors.Is(check, ErrCgroupControllers) {
		fmt.Printf("CheckHost = %v, want ErrCgroupControllers\n", check)
		return 1
	}
	for _, c := range missing {
		if !strings.Contains(check.Error(), c) {
			fmt.Printf("CheckHost does not name the missing controller %s: %v\n", c, check)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := Container{ID: "v2-" + randomSuffix(), Pod: PodSandbox{ID: "pod-" + randomSuffix()}, Command: []string{"true"}}
	if err := r.Create(ctx, c); !errors.Is(err, ErrCgroupControllers) {
		fmt.Printf("Create = %v, want ErrCgroupControllers\n", err)
		if err == nil {
			_ = r.Destroy(ctx, c.ID)
		}
		return 1
	}
	if states, err := r.List(); err != nil || len(states) != 0 {
		fmt.Printf("after the refused Create: List = %v, %v; want none\n", states, err)
		return 1
	}
	fmt.Printf("pure cgroup v2 detected; containers refused with: %v\n", check)
	return 0
}
