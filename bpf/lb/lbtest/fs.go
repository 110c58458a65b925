package lbtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// UniqueName returns prefix with a random suffix, short enough for kernel
// object names.
func UniqueName(prefix string) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// BPFFS mounts a private BPF filesystem instance for the test and returns
// its path. Unmounting it in cleanup drops every pin the test left.
func BPFFS(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bpffs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("bpffs", dir, "bpf", 0, ""); err != nil {
		t.Skipf("needs a BPF filesystem (mount -t bpf): %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount test bpffs %s: %v", dir, err)
		}
	})
	return dir
}

// Cgroup creates a cgroup2 directory of the test's own under root (the
// cgroup2 mount) and removes it in cleanup, after the processes in it have
// exited.
func Cgroup(t testing.TB, root string) string {
	t.Helper()
	dir := filepath.Join(root, UniqueName("tug-lbtest-"))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create test cgroup: %v", err)
	}
	t.Cleanup(func() {
		// Clients are killed and reaped by their own cleanups (registered
		// later, so run earlier); the kernel may still be tearing them down.
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := os.Remove(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
				procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
				t.Errorf("remove test cgroup %s: %v (processes: %q)", dir, err, procs)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return dir
}

// openDir opens a directory for use as a CLONE_INTO_CGROUP target.
func openDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return f, nil
}
