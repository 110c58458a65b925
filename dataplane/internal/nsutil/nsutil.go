package nsutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Do runs fn on a fresh goroutine whose OS thread is switched into the
// network namespace ns, then switches the thread back. Sockets created by fn
// stay in ns after Do returns. Do waits for fn and returns its error.
func Do(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open the current thread's network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace %s: %w", ns, err)
			return
		}
		fnErr := fn()
		if err := netns.Set(orig); err != nil {
			// Keep the thread locked: the runtime discards it when this
			// goroutine exits instead of reusing it in the wrong namespace.
			errc <- errors.Join(fnErr, fmt.Errorf("switch back to the original network namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- fnErr
	}()
	return <-errc
}

// DoPath is Do for a namespace named by a path (a bind-mounted nsfs file or
// /proc/<pid>/ns/net).
func DoPath(path string, fn func() error) error {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer ns.Close()
	return Do(ns, fn)
}

// IsNetns reports whether path is a mounted network namespace pin (an nsfs
// file). A plain file left behind by an interrupted create is not.
func IsNetns(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}

// CreateAt creates a new network namespace and pins it with a bind mount at
// path, creating the (empty) mount point file if needed. The caller's thread
// never changes namespace. If path already pins a namespace CreateAt returns
// an error wrapping os.ErrExist rather than stacking a second mount.
func CreateAt(path string) error {
	if IsNetns(path) {
		return fmt.Errorf("network namespace pin %s: %w", path, os.ErrExist)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return fmt.Errorf("create network namespace mount point %s: %w", path, err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open the current thread's network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare a new network namespace (needs CAP_SYS_ADMIN): %w", err)
			return
		}
		self := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		mountErr := unix.Mount(self, path, "none", unix.MS_BIND, "")
		if mountErr != nil {
			mountErr = fmt.Errorf("bind-mount the new network namespace at %s: %w", path, mountErr)
		}
		if err := netns.Set(orig); err != nil {
			// Thread stays locked and is discarded when the goroutine exits.
			errc <- errors.Join(mountErr, fmt.Errorf("switch back to the original network namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- mountErr
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// Unmount removes every mount stacked on path (lazily, so a namespace still
// used by a process lives on until that process exits). A path that is not a
// mount point, or does not exist, is not an error.
func Unmount(path string) error {
	for range 16 {
		err := unix.Unmount(path, unix.MNT_DETACH)
		switch {
		case err == nil:
			continue
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil
		default:
			return fmt.Errorf("unmount %s: %w", path, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted after 16 unmounts", path)
}

// RemovePin unmounts a namespace pin and deletes its mount point file.
// Missing files are not an error.
func RemovePin(path string) error {
	if err := Unmount(path); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network namespace file %s: %w", path, err)
	}
	return nil
}

// EnsureSharedDir makes dir a mount point with shared propagation, the way
// `ip netns add` prepares /run/netns: namespace pins mounted below it then
// propagate to (and their unmounts reach) mount namespaces cloned later, such
// as containers', so an unmount here really releases the namespace.
func EnsureSharedDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create network namespace directory %s: %w", dir, err)
	}
	bound := false
	for {
		err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) || bound {
			return fmt.Errorf("make %s a shared mount: %w", dir, err)
		}
		// Not a mount point yet: bind it onto itself, then retry.
		if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount %s onto itself: %w", dir, err)
		}
		bound = true
	}
}

// RemoveSharedDir undoes EnsureSharedDir when dir holds nothing any more. A
// non-empty directory is left alone (it may be shared with `ip netns`).
func RemoveSharedDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return nil
	}
	if err := Unmount(filepath.Clean(dir)); err != nil {
		return err
	}
	// Unmounting may uncover entries hidden below the mount: then the
	// directory stays, and a caller that wants it gone lists it again.
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ENOTEMPTY) {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// SetSysctl writes value to /proc/sys/<key> (key with slashes, e.g.
// "net/ipv4/ip_forward") as seen from inside network namespace ns: net.*
// sysctls are per namespace.
func SetSysctl(ns netns.NsHandle, key, value string) error {
	return Do(ns, func() error {
		p := filepath.Join("/proc/sys", key)
		cur, err := os.ReadFile(p)
		if err == nil && string(cur) == value+"\n" {
			return nil
		}
		if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
			return fmt.Errorf("set sysctl %s=%s: %w", key, value, err)
		}
		return nil
	})
}

// maxDumpRetries bounds retries of a netlink dump the kernel interrupted
// because the table changed while it was being read.
const maxDumpRetries = 8

// Dump calls list until it returns a result the kernel did not interrupt.
func Dump[T any](list func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range maxDumpRetries {
		v, err = list()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}
