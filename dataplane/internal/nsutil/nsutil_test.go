package nsutil_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tug-sh/tug/dataplane/internal/nstest"
	"github.com/tug-sh/tug/dataplane/internal/nsutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestCreateDoRemove(t *testing.T) {
	nstest.RequireRoot(t)
	dir := t.TempDir()
	nstest.UnmountAllUnder(t, dir)
	path := filepath.Join(dir, "ns-"+nstest.UniqueSuffix())
	if err := nsutil.CreateAt(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nsutil.RemovePin(path) })
	if !nsutil.IsNetns(path) {
		t.Fatalf("%s is not a network namespace pin after CreateAt", path)
	}
	if err := nsutil.CreateAt(path); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second CreateAt on a pin: %v, want an ErrExist", err)
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()

	// A link (a bridge: every kernel tug runs on has them) made inside the namespace must show up there, and only
	// there; the calling thread must still be where it was.
	name := "d" + nstest.UniqueSuffix()
	err = nsutil.DoPath(path, func() error {
		return netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}})
	})
	if err != nil {
		t.Fatal(err)
	}
	after, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	if !before.Equal(after) {
		t.Fatal("DoPath changed the calling thread's namespace")
	}
	if _, err := nstest.Handle(t, path).LinkByName(name); err != nil {
		t.Fatalf("link made inside the namespace is not there: %v", err)
	}
	if _, err := netlink.LinkByName(name); err == nil {
		t.Fatal("link made inside the namespace appeared in the caller's namespace")
	}
	if err := nsutil.SetSysctl(mustOpen(t, path), "net/ipv4/ip_forward", "1"); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := nsutil.DoPath(path, func() error {
		var err error
		got, err = os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		return err
	}); err != nil || string(got) != "1\n" {
		t.Fatalf("ip_forward inside = %q, %v; want 1", got, err)
	}

	if err := nsutil.RemovePin(path); err != nil {
		t.Fatal(err)
	}
	if err := nsutil.RemovePin(path); err != nil {
		t.Fatalf("second RemovePin: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("pin file still there: %v", err)
	}
	if n := nstest.MountsUnder(t, dir); n != 0 {
		t.Fatalf("%d mounts left under %s", n, dir)
	}
}

func mustOpen(t *testing.T, path string) netns.NsHandle {
	t.Helper()
	h, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}
