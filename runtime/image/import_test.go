package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/tug-sh/tug/runtime/image/imagebuild"
	"github.com/tug-sh/tug/runtime/image/imagetest"
)

func twoImages(t *testing.T) (v1.Image, v1.Image) {
	other, err := imagetest.BusyboxImage(busyboxOptions("other"))
	if err != nil {
		t.Fatal(err)
	}
	return busyboxImage(t), other
}

func TestImportArchives(t *testing.T) {
	ctx := context.Background()
	bb, other := twoImages(t)
	for _, format := range []imagebuild.Format{imagebuild.FormatDocker, imagebuild.FormatOCI} {
		t.Run(string(format), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "images.tar")
			err := imagebuild.WriteArchiveFile(path, format,
				imagebuild.Named{Ref: "tug.local/busybox:1", Image: bb},
				imagebuild.Named{Ref: "busybox:other", Image: other})
			if err != nil {
				t.Fatal(err)
			}
			s := newStore(t)
			imgs, err := s.Import(ctx, path, ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(imgs) != 2 {
				t.Fatalf("imported %d images, want 2", len(imgs))
			}
			for ref, want := range map[string]v1.Image{"tug.local/busybox:1": bb, "busybox:other": other} {
				cfgName, _ := want.ConfigName()
				img, err := s.Get(ref)
				if err != nil || img.ID != cfgName.String() {
					t.Errorf("Get(%s) = %s, %v; want %s", ref, img.ID, err, cfgName)
					continue
				}
				lower, err := s.Lower(ctx, ref)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(filepath.Join(lower, "bin/busybox")); err != nil {
					t.Error(err)
				}
			}
			if got := readFile(t, filepath.Join(s.lowerPath(imgs[0].ID), "www/index.html")) +
				readFile(t, filepath.Join(s.lowerPath(imgs[1].ID), "www/index.html")); !bytes.Contains([]byte(got), []byte("other")) {
				t.Errorf("index pages %q: the two images are not distinct", got)
			}
			if format == imagebuild.FormatOCI {
				img, _ := s.Get("docker.io/library/busybox:other")
				digest, _ := other.Digest()
				if want := []string{"docker.io/library/busybox@" + digest.String()}; !slices.Equal(img.RepoDigests, want) {
					t.Errorf("RepoDigests = %v, want %v", img.RepoDigests, want)
				}
			}
			// Importing again changes nothing.
			again, err := s.Import(ctx, path, ImportOptions{})
			if err != nil || len(again) != 2 {
				t.Fatalf("second import: %v, %v", again, err)
			}
			if list, _ := s.List(); len(list) != 2 {
				t.Errorf("%d images after importing twice, want 2", len(list))
			}
		})
	}
}

func TestImportGzippedWithTag(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := imagebuild.WriteArchive(zw, imagebuild.FormatDocker, imagebuild.Named{Ref: "tug.local/busybox:1", Image: busyboxImage(t)}); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	path := filepath.Join(t.TempDir(), "busybox.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	imgs, err := s.Import(context.Background(), path, ImportOptions{Tag: "tug.local/busybox:extra"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"tug.local/busybox:1", "tug.local/busybox:extra"}; len(imgs) != 1 || !slices.Equal(imgs[0].RepoTags, want) {
		t.Errorf("imported %+v, want one image tagged %v", imgs, want)
	}
}

// dockerDaemonArchive writes what `docker save` (before 25) writes:
// uncompressed <id>/layer.tar files, <id>.json configs, manifest.json; the
// second image's identical layer is a symlink to the first's.
func dockerDaemonArchive(t *testing.T, img v1.Image) string {
	t.Helper()
	layers, _ := img.Layers()
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	layerTar, _ := io.ReadAll(rc)
	rc.Close()
	rawCfg, _ := img.RawConfigFile()
	cfgName, _ := img.ConfigName()
	manifest, _ := json.Marshal([]map[string]any{
		{"Config": cfgName.Hex + ".json", "RepoTags": []string{"tug.local/daemon:1"}, "Layers": []string{"aaaa/layer.tar"}},
		{"Config": cfgName.Hex + ".json", "RepoTags": nil, "Layers": []string{"bbbb/layer.tar"}},
	})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	put := func(name string, b []byte) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b))})
		tw.Write(b)
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "aaaa/", Mode: 0o755})
	put("aaaa/layer.tar", layerTar)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "bbbb/", Mode: 0o755})
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bbbb/layer.tar", Linkname: "../aaaa/layer.tar"})
	put(cfgName.Hex+".json", rawCfg)
	put("manifest.json", manifest)
	tw.Close()
	path := filepath.Join(t.TempDir(), "daemon.tar")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportDockerDaemonArchive(t *testing.T) {
	img := busyboxImage(t)
	s := newStore(t)
	imgs, err := s.Import(context.Background(), dockerDaemonArchive(t, img), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfgName, _ := img.ConfigName()
	// Both entries are the same image (same config): one record, tagged.
	if len(imgs) != 2 || imgs[0].ID != cfgName.String() || imgs[1].ID != cfgName.String() {
		t.Fatalf("imported %+v", imgs)
	}
	got, err := s.Get("tug.local/daemon:1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.RepoDigests) != 0 {
		t.Errorf("a docker-save import has no registry digest; got %v", got.RepoDigests)
	}
	if readFile(t, filepath.Join(s.lowerPath(got.ID), "etc/passwd")) == "" {
		t.Error("etc/passwd is empty")
	}
}

func TestImportErrors(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	dir := t.TempDir()
	notTar := filepath.Join(dir, "not.tar")
	os.WriteFile(notTar, []byte("hello"), 0o644)
	if _, err := s.Import(ctx, notTar, ImportOptions{}); !errors.Is(err, ErrInvalidImage) {
		t.Errorf("import of a non-archive: %v, want ErrInvalidImage", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "../escape", Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	tw.Close()
	evil := filepath.Join(dir, "evil.tar")
	os.WriteFile(evil, buf.Bytes(), 0o644)
	if _, err := s.Import(ctx, evil, ImportOptions{}); !errors.Is(err, ErrInvalidImage) {
		t.Errorf("import of an archive with ../escape: %v, want ErrInvalidImage", err)
	}
	bb, other := twoImages(t)
	two := filepath.Join(dir, "two.tar")
	imagebuild.WriteArchiveFile(two, imagebuild.FormatOCI, imagebuild.Named{Ref: "a:1", Image: bb}, imagebuild.Named{Ref: "b:1", Image: other})
	if _, err := s.Import(ctx, two, ImportOptions{Tag: "c:1"}); err == nil {
		t.Error("--tag accepted for a two-image archive")
	}
	if _, err := s.Import(ctx, filepath.Join(dir, "missing.tar"), ImportOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("import of a missing file: %v", err)
	}
}

func TestImportOCILayoutDirectory(t *testing.T) {
	ctx := context.Background()
	archive := filepath.Join(t.TempDir(), "oci.tar")
	if err := imagebuild.WriteArchiveFile(archive, imagebuild.FormatOCI, imagebuild.Named{Ref: "tug.local/busybox:dir", Image: busyboxImage(t)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := extractArchive(ctx, archive, dir); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	imgs, err := s.Import(ctx, dir, ImportOptions{})
	if err != nil || len(imgs) != 1 || !slices.Equal(imgs[0].RepoTags, []string{"tug.local/busybox:dir"}) {
		t.Fatalf("import of an OCI layout directory: %+v, %v", imgs, err)
	}
}
