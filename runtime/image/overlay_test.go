package image

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tug-sh/tug/runtime/image/imagetest"
)

// mountOverlay mounts an overlay of lower under a fresh upper and work
// directory, as runtime/container does, and unmounts it when the test ends.
func mountOverlay(t *testing.T, lower string) (merged, upper string) {
	t.Helper()
	dir := t.TempDir()
	upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
	for _, d := range []string{upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		if errors.Is(err, unix.ENODEV) {
			t.Skipf("test needs overlayfs: %v", err)
		}
		t.Fatalf("mount overlay (%s): %v", opts, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(merged, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", merged, err)
		}
	})
	return merged, upper
}

func TestLowerIsAnOverlayLower(t *testing.T) {
	ctx := context.Background()
	host := imagetest.StartRegistry(t)
	imagetest.Push(t, host, "tug/busybox:1", busyboxImage(t))
	s := newStore(t)
	if _, err := s.Pull(ctx, host+"/tug/busybox:1", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	lower, err := s.Lower(ctx, host+"/tug/busybox:1")
	if err != nil {
		t.Fatal(err)
	}
	merged, upper := mountOverlay(t, lower)

	// Run the image's shell, chrooted into the overlay.
	cmd := exec.Command("/bin/sh", "-c", "cat /www/index.html && echo written > /tmp/new && rm /etc/group && id -u && ls /usr/sbin/httpd")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: merged}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/bin:/usr/bin:/sbin:/usr/sbin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("busybox sh in the overlay: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Hello from tug") || !strings.Contains(string(out), "/usr/sbin/httpd") {
		t.Errorf("output:\n%s", out)
	}
	// Writes went to the upper directory; the lower is untouched.
	if got := readFile(t, filepath.Join(upper, "tmp/new")); got != "written\n" {
		t.Errorf("upper tmp/new = %q", got)
	}
	if _, err := os.Stat(filepath.Join(lower, "tmp/new")); err == nil {
		t.Error("the container's write reached the lower directory")
	}
	if _, err := os.Stat(filepath.Join(lower, "etc/group")); err != nil {
		t.Errorf("the container's rm reached the lower directory: %v", err)
	}

	// The store knows the image is in use.
	if _, err := s.Remove(ctx, host+"/tug/busybox:1"); !errors.Is(err, ErrInUse) {
		t.Errorf("Remove of a mounted image: %v, want ErrInUse", err)
	}
	res, err := s.GC(ctx, nil, GCPolicy{HighThresholdPercent: 1, LowThresholdPercent: 1, MinAge: 1})
	if err != nil || len(res.Removed) != 0 {
		t.Errorf("GC removed %v (%v) while the image is mounted", res.Removed, err)
	}
}
