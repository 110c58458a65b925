package imagebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestBusyboxIsReproducible(t *testing.T) {
	ctx := context.Background()
	a, err := Busybox(ctx, BusyboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Busybox(ctx, BusyboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("two builds differ: %s, %s", da, db)
	}
	c, err := Busybox(ctx, BusyboxOptions{IndexHTML: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if dc, _ := c.Digest(); dc == da {
		t.Error("a different index page gave the same digest")
	}
}

func TestBusyboxContent(t *testing.T) {
	img, err := Busybox(context.Background(), BusyboxOptions{Cmd: []string{"httpd", "-f"}, Files: map[string]string{"/opt/app/conf": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	seen := map[string]*tar.Header{}
	var order []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[h.Name] = h
		order = append(order, h.Name)
	}
	for _, name := range []string{"bin/busybox", "bin/sh", "usr/sbin/httpd", "etc/passwd", "etc/group", "www/index.html", "tmp", "opt", "opt/app", "opt/app/conf"} {
		if seen[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	if h := seen["bin/sh"]; h != nil && (h.Typeflag != tar.TypeSymlink || h.Linkname != "/bin/busybox") {
		t.Errorf("bin/sh: type %c -> %s", h.Typeflag, h.Linkname)
	}
	if h := seen["tmp"]; h != nil && h.Mode != 0o1777 {
		t.Errorf("tmp mode %o", h.Mode)
	}
	// Parents come before their content.
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	for _, n := range order {
		if d := filepath.Dir(n); d != "." && pos[d] > pos[n] {
			t.Errorf("%s comes before its directory", n)
		}
	}
	cf, _ := img.ConfigFile()
	if strings.Join(cf.Config.Cmd, " ") != "httpd -f" || cf.OS != "linux" {
		t.Errorf("config %+v", cf.Config)
	}
}

func TestBusyboxRefusesADynamicBinary(t *testing.T) {
	if _, err := Busybox(context.Background(), BusyboxOptions{Busybox: "/bin/ls"}); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("a dynamic busybox: %v", err)
	}
	if _, err := Busybox(context.Background(), BusyboxOptions{Busybox: "/nonexistent/busybox"}); err == nil || !strings.Contains(err.Error(), "busybox-static") {
		t.Errorf("a missing busybox: %v", err)
	}
}

func TestWriteDockerArchive(t *testing.T) {
	img, err := Busybox(context.Background(), BusyboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteArchive(&buf, FormatDocker, Named{Ref: "tug.local/busybox:1", Image: img}); err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil || len(m) != 1 || m[0].RepoTags[0] != "tug.local/busybox:1" {
		t.Errorf("manifest.json: %+v, %v", m, err)
	}
	if err := WriteArchive(io.Discard, "zip", Named{Ref: "a:1", Image: img}); err == nil {
		t.Error("unknown format accepted")
	}
	if err := WriteArchive(io.Discard, FormatOCI, Named{Ref: "a@sha256:" + strings.Repeat("a", 64), Image: img}); err == nil {
		t.Error("a digest reference accepted as an archive name")
	}
}
