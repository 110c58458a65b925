package container

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// ensureOverlay mounts an overlay of lower (read-only) under upper/work at
// target, unless target is already a mount point. It uses the new mount API
// (Linux 5.2), whose per-key configuration takes paths with commas.
func ensureOverlay(lower, upper, work, target string) error {
	for _, d := range []string{upper, work, target} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("container: create overlay directory: %w", err)
		}
	}
	if mounted, err := mountinfo.Mounted(target); err != nil {
		return fmt.Errorf("container: check rootfs mount %s: %w", target, err)
	} else if mounted {
		return nil
	}
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("container: rootfs needs overlayfs and the new mount API (Linux 5.2): fsopen overlay: %w", err)
	}
	defer unix.Close(fsfd)
	set := func(key, value string) error {
		if err := unix.FsconfigSetString(fsfd, key, value); err != nil {
			return fmt.Errorf("container: overlay %s=%s: %w%s", key, value, err, fsContextLog(fsfd))
		}
		return nil
	}
	if err := set("source", "tug-rootfs"); err != nil {
		return err
	}
	// lowerdir is a colon-separated list: escape colons in the one path.
	if err := set("lowerdir", escapeOverlayPath(lower)); err != nil {
		return err
	}
	if err := set("upperdir", upper); err != nil {
		return err
	}
	if err := set("workdir", work); err != nil {
		return err
	}
	// xino is irrelevant here and, left automatic, logs warnings when the
	// layers are on different file systems.
	_ = unix.FsconfigSetString(fsfd, "xino", "off")
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("container: create overlay (lower %s): %w%s", lower, err, fsContextLog(fsfd))
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("container: fsmount overlay: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("container: mount rootfs at %s: %w", target, err)
	}
	return nil
}

func escapeOverlayPath(p string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(p)
}

// fsContextLog returns the kernel's explanation of a failed fsconfig call.
func fsContextLog(fsfd int) string {
	var msgs []string
	buf := make([]byte, 4096)
	for range 16 {
		n, err := unix.Read(fsfd, buf)
		if err != nil || n <= 0 {
			break
		}
		msgs = append(msgs, strings.TrimSpace(string(buf[:n])))
	}
	if len(msgs) == 0 {
		return ""
	}
	return " (" + strings.Join(msgs, "; ") + ")"
}

// ensureUnmounted unmounts target if it is a mount point.
func ensureUnmounted(target string) error {
	for {
		err := unix.Unmount(target, unix.UMOUNT_NOFOLLOW)
		switch {
		case err == nil:
			continue // stacked mounts: unmount until none is left
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil // not a mount point (any more), or gone
		case errors.Is(err, unix.EBUSY):
			// Something still holds it open; detach it so it goes away when
			// released, and the directory can be removed now.
			if err := unix.Unmount(target, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil {
				return fmt.Errorf("container: detach %s: %w", target, err)
			}
			return nil
		default:
			return fmt.Errorf("container: unmount %s: %w", target, err)
		}
	}
}
