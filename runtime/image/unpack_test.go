package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"

	"github.com/tug-sh/tug/runtime/image/imagebuild"
	"github.com/tug-sh/tug/runtime/image/imagetest"
)

// layeredImage builds an image from layers of tar entries.
func layeredImage(t testing.TB, layers ...[]imagebuild.Entry) v1.Image {
	t.Helper()
	img := empty.Image
	for _, entries := range layers {
		l, err := imagebuild.Layer(entries)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", testPlatformArch()
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// pullImage pushes img to a fresh registry and pulls it into s.
func pullImage(t testing.TB, s *Store, img v1.Image) (string, error) {
	t.Helper()
	host := imagetest.StartRegistry(t)
	ref := host + "/tug/test:1"
	imagetest.Push(t, host, "tug/test:1", img)
	res, err := s.Pull(context.Background(), ref, PullOptions{})
	if err != nil {
		return "", err
	}
	return s.lowerPath(res.Image.ID), nil
}

func withOwner(e imagebuild.Entry, uid, gid int) imagebuild.Entry {
	e.Uid, e.Gid = uid, gid
	return e
}

func withXattrs(e imagebuild.Entry, kv ...string) imagebuild.Entry {
	e.PAXRecords = map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		e.PAXRecords["SCHILY.xattr."+kv[i]] = kv[i+1]
	}
	return e
}

func device(name string, typ byte, major, minor int64) imagebuild.Entry {
	return imagebuild.Entry{Header: tar.Header{Typeflag: typ, Name: name, Mode: 0o666, Devmajor: major, Devminor: minor, ModTime: time.Unix(1e9, 0)}}
}

func TestUnpackLayers(t *testing.T) {
	mtime := time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)
	stamped := imagebuild.File("etc/stamped", 0o644, "t")
	stamped.ModTime = mtime
	layer1 := []imagebuild.Entry{
		imagebuild.Dir("etc", 0o755),
		imagebuild.File("etc/keep", 0o644, "keep"),
		imagebuild.File("etc/gone", 0o644, "gone"),
		stamped,
		imagebuild.Dir("opq", 0o755),
		imagebuild.File("opq/old1", 0o644, "old"),
		imagebuild.Dir("opq/sub", 0o755),
		imagebuild.File("opq/sub/old2", 0o644, "old"),
		imagebuild.Dir("hl", 0o755),
		imagebuild.File("hl/orig", 0o640, "data"),
		imagebuild.Hardlink("hl/link", "hl/orig"),
		imagebuild.Symlink("lnk", "/etc/keep"),
		imagebuild.Dir("dirgone", 0o755),
		imagebuild.File("dirgone/x", 0o644, "x"),
		imagebuild.Dir("dev", 0o755),
		device("dev/mynull", tar.TypeChar, 1, 3),
		device("dev/fifo", tar.TypeFifo, 0, 0),
		withOwner(imagebuild.File("bin/suid", 0o4755, "#!/bin/sh\n"), 1000, 1000),
		withXattrs(imagebuild.File("etc/attrs", 0o644, "a"), "user.tug", "hello"),
		withXattrs(imagebuild.Dir("overlaytrick", 0o755), "trusted.overlay.opaque", "y"),
		withOwner(imagebuild.Dir("home/user", 0o750), 1000, 1001),
	}
	layer2 := []imagebuild.Entry{
		imagebuild.File("etc/.wh.gone", 0o644, ""),
		imagebuild.Dir("opq", 0o755),
		imagebuild.File("opq/new1", 0o644, "new"),
		imagebuild.File("opq/.wh..wh..opq", 0o644, ""),
		imagebuild.Dir("opq/sub", 0o755),
		imagebuild.File("opq/sub/new2", 0o644, "new"),
		imagebuild.File(".wh.dirgone", 0o644, ""),
		imagebuild.File("lnk", 0o644, "now a file"),
		imagebuild.Hardlink("hl/link2", "hl/orig"),
		imagebuild.File("etc/.wh..wh.plnk", 0o644, ""), // aufs bookkeeping: ignored
		imagebuild.File("etc/.wh.never-existed", 0o644, ""),
	}
	// A symlink to "/" and one climbing out: writes through them stay in
	// the image root.
	layer3 := []imagebuild.Entry{
		imagebuild.Symlink("escape", "/"),
		imagebuild.File("escape/etc/planted", 0o644, "inside"),
		imagebuild.Dir("tmp", 0o1777),
		imagebuild.Symlink("up", "../../../../../../../../tmp"),
		imagebuild.File("up/tug-image-test-escape", 0o644, "inside"),
	}
	s := newStore(t)
	lower, err := pullImage(t, s, layeredImage(t, layer1, layer2, layer3))
	if err != nil {
		t.Fatal(err)
	}
	p := func(rel string) string { return filepath.Join(lower, rel) }
	exists := func(rel string) bool { _, err := os.Lstat(p(rel)); return err == nil }

	for _, rel := range []string{"etc/gone", "opq/old1", "opq/sub/old2", "dirgone", "etc/.wh.gone", "opq/.wh..wh..opq", "etc/.wh..wh.plnk"} {
		if exists(rel) {
			t.Errorf("%s exists; a whiteout removed it", rel)
		}
	}
	for _, rel := range []string{"etc/keep", "opq/new1", "opq/sub/new2", "hl/orig", "hl/link", "hl/link2"} {
		if !exists(rel) {
			t.Errorf("%s is missing", rel)
		}
	}
	if got := readFile(t, p("etc/keep")); got != "keep" {
		t.Errorf("etc/keep = %q: replacing the symlink lnk wrote through it", got)
	}
	if got := readFile(t, p("lnk")); got != "now a file" {
		t.Errorf("lnk = %q", got)
	}
	var a, b, c unix.Stat_t
	unix.Lstat(p("hl/orig"), &a)
	unix.Lstat(p("hl/link"), &b)
	unix.Lstat(p("hl/link2"), &c)
	if a.Ino != b.Ino || a.Ino != c.Ino || a.Nlink != 3 {
		t.Errorf("hard links: inodes %d %d %d, nlink %d; want one inode, 3 links", a.Ino, b.Ino, c.Ino, a.Nlink)
	}
	if a.Mode&0o7777 != 0o640 {
		t.Errorf("hl/orig mode %o, want 640", a.Mode&0o7777)
	}
	var st unix.Stat_t
	if err := unix.Lstat(p("bin/suid"), &st); err != nil || st.Mode&0o7777 != 0o4755 || st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("bin/suid: mode %o uid %d gid %d (%v); want 4755 1000:1000", st.Mode&0o7777, st.Uid, st.Gid, err)
	}
	if err := unix.Lstat(p("home/user"), &st); err != nil || st.Mode&0o7777 != 0o750 || st.Uid != 1000 || st.Gid != 1001 {
		t.Errorf("home/user: mode %o uid %d gid %d (%v)", st.Mode&0o7777, st.Uid, st.Gid, err)
	}
	if err := unix.Lstat(p("home"), &st); err != nil || st.Mode&0o7777 != 0o755 {
		t.Errorf("implicit parent home: mode %o (%v), want 755", st.Mode&0o7777, err)
	}
	if err := unix.Lstat(p("dev/mynull"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		t.Errorf("dev/mynull: mode %o rdev %d:%d (%v)", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), err)
	}
	if err := unix.Lstat(p("dev/fifo"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("dev/fifo: mode %o (%v)", st.Mode, err)
	}
	if err := unix.Lstat(p("etc/stamped"), &st); err != nil || time.Unix(st.Mtim.Unix()).UTC() != mtime {
		t.Errorf("etc/stamped mtime %v (%v), want %v", time.Unix(st.Mtim.Unix()).UTC(), err, mtime)
	}
	// opq/sub got a child after its own entry, in the same layer.
	if err := unix.Lstat(p("opq/sub"), &st); err != nil || time.Unix(st.Mtim.Unix()).UTC() != time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) {
		t.Errorf("directory opq/sub mtime %v (%v): directory times are set after their children", time.Unix(st.Mtim.Unix()).UTC(), err)
	}
	buf := make([]byte, 64)
	if n, err := unix.Lgetxattr(p("etc/attrs"), "user.tug", buf); err != nil || string(buf[:n]) != "hello" {
		t.Errorf("xattr user.tug = %q, %v", buf[:max(n, 0)], err)
	}
	if _, err := unix.Lgetxattr(p("overlaytrick"), "trusted.overlay.opaque", buf); !errors.Is(err, unix.ENODATA) {
		t.Errorf("trusted.overlay.opaque was applied (%v); overlay attributes must not reach a lower directory", err)
	}
	if target, _ := os.Readlink(p("escape")); target != "/" {
		t.Errorf("escape -> %q", target)
	}
	if got := readFile(t, p("etc/planted")); got != "inside" {
		t.Errorf("etc/planted = %q: a write through a symlink to / must land in the image root", got)
	}
	if got := readFile(t, p("tmp/tug-image-test-escape")); got != "inside" {
		t.Errorf("tmp/tug-image-test-escape = %q", got)
	}
	for _, host := range []string{"/etc/planted", "/tmp/tug-image-test-escape"} {
		if _, err := os.Lstat(host); err == nil {
			os.Remove(host)
			t.Errorf("%s was written on the host", host)
		}
	}
}

func TestUnpackRejectsTraversal(t *testing.T) {
	for name, entries := range map[string][]imagebuild.Entry{
		"dot-dot":          {imagebuild.File("../tug-escape", 0o644, "x")},
		"nested dot-dot":   {imagebuild.Dir("a", 0o755), imagebuild.File("a/../../tug-escape", 0o644, "x")},
		"hard link out":    {imagebuild.Hardlink("passwd", "../../../../etc/passwd")},
		"whiteout dot-dot": {imagebuild.File("a/.wh...", 0o644, "")},
	} {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			_, err := pullImage(t, s, layeredImage(t, entries))
			var perr *PullError
			if !errors.As(err, &perr) || !errors.Is(err, ErrInvalidImage) {
				t.Fatalf("pull: %v, want a PullError wrapping ErrInvalidImage", err)
			}
			t.Log(err)
			if list, _ := s.List(); len(list) != 0 {
				t.Errorf("the rejected image is in the store: %+v", list)
			}
			if lowers, _ := os.ReadDir(s.lowersDir()); len(lowers) != 0 {
				t.Errorf("lowers/ has %d entries", len(lowers))
			}
			if _, err := os.Lstat(filepath.Join(filepath.Dir(s.root), "tug-escape")); err == nil {
				t.Error("a file escaped the image root")
			}
		})
	}
}

func TestCleanEntryName(t *testing.T) {
	for in, want := range map[string]string{
		"etc/passwd": "etc/passwd", "/etc/passwd": "etc/passwd", "./etc//x/": "etc/x",
		".": ".", "./": ".", "a/b/../c": "a/c", "..": "", "../x": "", "a/../../x": "", "/../x": "",
	} {
		got, err := cleanEntryName(in)
		if want == "" {
			if err == nil {
				t.Errorf("cleanEntryName(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("cleanEntryName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestOpaqueMarkerFirst(t *testing.T) {
	// The usual order (Docker, containerd): directory, marker, content.
	s := newStore(t)
	lower, err := pullImage(t, s, layeredImage(t,
		[]imagebuild.Entry{imagebuild.Dir("d", 0o755), imagebuild.File("d/a", 0o644, "a"), imagebuild.Dir("d/x", 0o755), imagebuild.File("d/x/y", 0o644, "y")},
		[]imagebuild.Entry{imagebuild.Dir("d", 0o700), imagebuild.File("d/.wh..wh..opq", 0, ""), imagebuild.File("d/b", 0o644, "b")},
	))
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(lower, "d"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"b"}) {
		t.Errorf("d holds %v, want [b]", names)
	}
	if st, _ := os.Stat(filepath.Join(lower, "d")); st.Mode().Perm() != 0o700 {
		t.Errorf("d mode %v, want the upper layer's 0700", st.Mode().Perm())
	}
}

func TestZstdLayer(t *testing.T) {
	b, err := imagebuild.Tar([]imagebuild.Entry{imagebuild.Dir("etc", 0o755), imagebuild.File("etc/zstd", 0o644, "zstd layer")})
	if err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", testPlatformArch()
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	lower, err := pullImage(t, newStore(t), img)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(lower, "etc/zstd")); got != "zstd layer" {
		t.Errorf("etc/zstd = %q", got)
	}
}

func TestForeignPlatformRefused(t *testing.T) {
	img := layeredImage(t, []imagebuild.Entry{imagebuild.File("x", 0o644, "x")})
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture = "s390x"
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pullImage(t, newStore(t), img); !errors.Is(err, ErrNoMatchingPlatform) {
		t.Errorf("pull of an s390x image: %v, want ErrNoMatchingPlatform", err)
	}
}
