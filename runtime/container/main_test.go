package container

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	// libcontainer's init runs in this test binary (see RunReexecRole).
	_ "github.com/opencontainers/cgroups/devices"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// testRootfs is the busybox image directory shared by the tests (read-only
// to them: each container gets its own overlay upper layer).
var testRootfs string

func TestMain(m *testing.M) {
	if code, ok := RunReexecRole(os.Args); ok {
		os.Exit(code)
	}
	if arg := os.Getenv(pureV2Env); arg != "" {
		os.Exit(pureV2Node(arg))
	}
	if spec := os.Getenv(adoptFirstHalfEnv); spec != "" {
		os.Exit(adoptFirstHalf(spec))
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tug-container-rootfs-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testRootfs = filepath.Join(dir, "rootfs")
	if err := buildBusyboxRootfs(testRootfs); err != nil {
		fmt.Fprintln(os.Stderr, "build busybox rootfs:", err)
		return 1
	}
	return m.Run()
}

// buildBusyboxRootfs makes an image directory from busybox-static: the
// binary, a symlink per applet, and a minimal /etc.
func buildBusyboxRootfs(root string) error {
	const busybox = "/usr/bin/busybox"
	for _, d := range []string{"bin", "etc", "tmp", "proc", "sys", "dev", "root", "mnt", "home/user"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		return err
	}
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("tests need busybox-static at %s: %w", busybox, err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\nuser:x:1000:\nnobody:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
