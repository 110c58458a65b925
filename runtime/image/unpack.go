package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Whiteouts of the OCI image layer spec (and Docker's): ".wh.NAME" removes
// NAME of the layers below; ".wh..wh..opq" in a directory hides everything
// the layers below put in it. Other ".wh..wh." names are aufs bookkeeping.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// unpacker applies layers, bottom first, to one directory: the image's
// flattened root filesystem. Every path is resolved as if the directory
// were the root (openat2 RESOLVE_IN_ROOT), so neither ".." nor a symlink
// an earlier layer planted can make a write land outside it; names whose
// cleaned form leaves the root are refused outright.
type unpacker struct {
	rootfd  int
	log     *slog.Logger
	layer   int
	onEntry func(layer int, name string)

	written  map[string]bool // paths the current layer created
	dirTimes []entryTime     // applied when the layer is done
	buf      []byte
	warned   map[string]bool
}

type entryTime struct {
	name         string
	atime, mtime time.Time
}

func newUnpacker(rootfd int, log *slog.Logger) *unpacker {
	return &unpacker{rootfd: rootfd, log: log, buf: make([]byte, 256<<10), warned: map[string]bool{}}
}

// applyLayer applies one uncompressed layer tar.
func (u *unpacker) applyLayer(ctx context.Context, r io.Reader) error {
	u.written = map[string]bool{}
	u.dirTimes = u.dirTimes[:0]
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return fmt.Errorf("%w: layer %d: read tar: %v", ErrInvalidImage, u.layer, err)
		}
		if u.onEntry != nil {
			u.onEntry(u.layer, hdr.Name)
		}
		if err := u.applyEntry(ctx, hdr, tr); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return err
		}
	}
	// Children change their directory's mtime: set directories' times
	// last, deepest first.
	for i := len(u.dirTimes) - 1; i >= 0; i-- {
		t := u.dirTimes[i]
		if err := u.atParent(t.name, func(parent int, base string) error {
			return setTimes(parent, base, t.atime, t.mtime)
		}); err != nil {
			return u.entryErr(t.name, "set times", err)
		}
	}
	return nil
}

// cleanEntryName makes a tar entry name relative to the root and refuses
// names that leave it ("../x", "a/../../x"). Leading slashes are allowed:
// "/etc/passwd" is etc/passwd.
func cleanEntryName(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("invalid entry name %q", name)
	}
	p := path.Clean(strings.TrimLeft(name, "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("entry %q leaves the image root", name)
	}
	return p, nil
}

func (u *unpacker) applyEntry(ctx context.Context, hdr *tar.Header, tr io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader, tar.TypeXHeader:
		return nil
	}
	name, err := cleanEntryName(hdr.Name)
	if err != nil {
		return fmt.Errorf("%w: layer %d: %v", ErrInvalidImage, u.layer, err)
	}
	dir, base := path.Dir(name), path.Base(name)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(dir, base)
	}
	if name == "." {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%w: layer %d: the root entry is not a directory", ErrInvalidImage, u.layer)
		}
		return u.setMetadata(u.rootfd, ".", ".", hdr)
	}
	parent, err := u.ensureDir(dir)
	if err != nil {
		return u.entryErr(name, "create parent directory", err)
	}
	defer u.closeDir(parent)

	var st unix.Stat_t
	if err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		keepDir := hdr.Typeflag == tar.TypeDir && st.Mode&unix.S_IFMT == unix.S_IFDIR
		selfLink := hdr.Typeflag == tar.TypeLink && path.Clean(strings.TrimLeft(hdr.Linkname, "/")) == name
		if selfLink {
			return nil
		}
		if !keepDir {
			if err := removeAt(parent, base); err != nil {
				return u.entryErr(name, "replace", err)
			}
		}
	} else if !errors.Is(err, unix.ENOENT) {
		return u.entryErr(name, "stat", err)
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdirat(parent, base, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return u.entryErr(name, "mkdir", err)
		}
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeCont:
		if err := u.writeFile(ctx, parent, base, hdr, tr); err != nil {
			return u.entryErr(name, "write", err)
		}
	case tar.TypeSymlink:
		if hdr.Linkname == "" {
			return fmt.Errorf("%w: layer %d: symlink %s has no target", ErrInvalidImage, u.layer, name)
		}
		if err := unix.Symlinkat(hdr.Linkname, parent, base); err != nil {
			return u.entryErr(name, "symlink", err)
		}
	case tar.TypeLink:
		if err := u.hardlink(parent, base, name, hdr.Linkname); err != nil {
			if errors.Is(err, ErrInvalidImage) {
				return err
			}
			return u.entryErr(name, "hard link", err)
		}
		u.written[name] = true
		return nil // the inode has its metadata already
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		mode := uint32(hdr.Mode) & 0o7777
		switch hdr.Typeflag {
		case tar.TypeChar:
			mode |= unix.S_IFCHR
		case tar.TypeBlock:
			mode |= unix.S_IFBLK
		default:
			mode |= unix.S_IFIFO
		}
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(parent, base, mode, int(dev)); err != nil {
			return u.entryErr(name, "mknod", err)
		}
	default:
		return fmt.Errorf("%w: layer %d: %s: unsupported tar entry type %q", ErrInvalidImage, u.layer, name, hdr.Typeflag)
	}
	u.written[name] = true
	return u.setMetadata(parent, base, name, hdr)
}

func (u *unpacker) writeFile(ctx context.Context, parent int, base string, hdr *tar.Header, r io.Reader) error {
	fd, err := unix.Openat(parent, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	n, err := io.CopyBuffer(f, ctxReader{ctx, r}, u.buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != hdr.Size {
		err = fmt.Errorf("wrote %d of %d bytes", n, hdr.Size)
	}
	return err
}

func (u *unpacker) hardlink(parent int, base, name, linkname string) error {
	target, err := cleanEntryName(linkname)
	if err != nil {
		return fmt.Errorf("%w: layer %d: hard link target of %s: %v", ErrInvalidImage, u.layer, name, err)
	}
	if target == "." {
		return fmt.Errorf("%w: layer %d: hard link to the root", ErrInvalidImage, u.layer)
	}
	return u.atParent(target, func(tparent int, tbase string) error {
		// Without AT_SYMLINK_FOLLOW a link to a symlink links the symlink.
		return unix.Linkat(tparent, tbase, parent, base, 0)
	})
}

// setMetadata applies ownership, mode, xattrs and times, in the order that
// keeps them: chown clears setuid bits and file capabilities.
func (u *unpacker) setMetadata(parent int, base, name string, hdr *tar.Header) error {
	if err := unix.Fchownat(parent, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return u.entryErr(name, "chown", err)
	}
	if hdr.Typeflag != tar.TypeSymlink {
		if err := unix.Fchmodat(parent, base, uint32(hdr.Mode)&0o7777, 0); err != nil {
			return u.entryErr(name, "chmod", err)
		}
	}
	for k, v := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok {
			continue
		}
		// overlayfs' own attributes in a lower directory would redirect or
		// hide paths of the containers' root filesystems.
		if strings.HasPrefix(attr, "trusted.overlay.") || strings.HasPrefix(attr, "user.overlay.") {
			continue
		}
		p := fmt.Sprintf("/proc/self/fd/%d/%s", parent, base)
		if err := unix.Lsetxattr(p, attr, []byte(v), 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) {
				if !u.warned[attr] {
					u.warned[attr] = true
					u.log.Warn("the store's file system does not support an extended attribute of the image; skipped", "xattr", attr, "path", name)
				}
				continue
			}
			return u.entryErr(name, "set xattr "+attr, err)
		}
	}
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	if hdr.Typeflag == tar.TypeDir {
		u.dirTimes = append(u.dirTimes, entryTime{name: name, atime: atime, mtime: hdr.ModTime})
		return nil
	}
	if err := setTimes(parent, base, atime, hdr.ModTime); err != nil {
		return u.entryErr(name, "set times", err)
	}
	return nil
}

func setTimes(parent int, base string, atime, mtime time.Time) error {
	if mtime.IsZero() {
		return nil
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	return unix.UtimesNanoAt(parent, base, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// whiteout applies ".wh.NAME" or ".wh..wh..opq" found in dir.
func (u *unpacker) whiteout(dir, base string) error {
	if base == whiteoutOpaque {
		fd, err := u.openDir(dir, unix.O_RDONLY)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return u.entryErr(path.Join(dir, base), "open opaque directory", err)
		}
		f := os.NewFile(uintptr(fd), dir)
		defer f.Close()
		return u.clearOpaque(f, dir)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil
	}
	target := strings.TrimPrefix(base, whiteoutPrefix)
	if target == "" || target == "." || target == ".." {
		return fmt.Errorf("%w: layer %d: invalid whiteout %s", ErrInvalidImage, u.layer, path.Join(dir, base))
	}
	fd, err := u.openDir(dir, unix.O_PATH)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil // nothing below to hide
	}
	if err != nil {
		return u.entryErr(path.Join(dir, target), "whiteout", err)
	}
	defer unix.Close(fd)
	if err := removeAt(fd, target); err != nil {
		return u.entryErr(path.Join(dir, target), "whiteout", err)
	}
	return nil
}

// clearOpaque removes everything in dir (recursively) that the current
// layer did not create: the opaque marker may come after some of the
// layer's own entries in the directory.
func (u *unpacker) clearOpaque(d *os.File, dir string) error {
	names, err := d.Readdirnames(-1)
	if err != nil {
		return u.entryErr(dir, "read directory", err)
	}
	dfd := int(d.Fd())
	for _, n := range names {
		p := path.Join(dir, n)
		if !u.written[p] {
			if err := removeAt(dfd, n); err != nil {
				return u.entryErr(p, "opaque whiteout", err)
			}
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return u.entryErr(p, "stat", err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		cfd, err := unix.Openat(dfd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return u.entryErr(p, "open", err)
		}
		c := os.NewFile(uintptr(cfd), p)
		err = u.clearOpaque(c, p)
		c.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// openDir opens dir (relative to the root) resolving every component
// inside the root.
func (u *unpacker) openDir(dir string, flags int) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_DIRECTORY | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(u.rootfd, dir, &how)
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			continue // a concurrent rename elsewhere on the system; retry
		case errors.Is(err, unix.ENOSYS):
			return -1, fmt.Errorf("unpacking images needs openat2 (Linux 5.6): %w", err)
		}
		return fd, err
	}
}

// ensureDir opens dir, creating missing components (mode 0755, as Docker
// does for parents a layer does not list).
func (u *unpacker) ensureDir(dir string) (int, error) {
	if dir == "." {
		return u.rootfd, nil
	}
	fd, err := u.openDir(dir, unix.O_PATH)
	if !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	parent := u.rootfd
	cur := "."
	for _, c := range strings.Split(dir, "/") {
		next := path.Join(cur, c)
		fd, err := u.openDir(next, unix.O_PATH)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(parent, c, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				u.closeDir(parent)
				return -1, err
			}
			if err := unix.Fchmodat(parent, c, 0o755, 0); err != nil {
				u.closeDir(parent)
				return -1, err
			}
			u.written[next] = true
			fd, err = u.openDir(next, unix.O_PATH)
		}
		u.closeDir(parent)
		if err != nil {
			return -1, err
		}
		parent, cur = fd, next
	}
	return parent, nil
}

func (u *unpacker) closeDir(fd int) {
	if fd >= 0 && fd != u.rootfd {
		unix.Close(fd)
	}
}

// atParent runs fn with the directory holding name (resolved in the root,
// which must exist) and name's last component.
func (u *unpacker) atParent(name string, fn func(parent int, base string) error) error {
	if name == "." {
		return fn(u.rootfd, ".")
	}
	dir, base := path.Dir(name), path.Base(name)
	if dir == "." {
		return fn(u.rootfd, base)
	}
	fd, err := u.openDir(dir, unix.O_PATH)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return fn(fd, base)
}

func (u *unpacker) entryErr(name, op string, err error) error {
	return fmt.Errorf("image: layer %d: %s %s: %w", u.layer, op, name, err)
}

// removeAt removes name in dirfd and, for a directory, everything in it,
// never following symlinks.
func removeAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) {
		return err
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(fd), name)
	names, err := d.Readdirnames(-1)
	if err != nil {
		d.Close()
		return err
	}
	for _, n := range names {
		if err := removeAt(fd, n); err != nil {
			d.Close()
			return err
		}
	}
	d.Close()
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}
