package imagebuild

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the time stamp of every entry and of the image: the same
// busybox binary always makes the same image digest.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultBusybox is Debian's busybox-static binary.
const DefaultBusybox = "/usr/bin/busybox"

// DefaultIndexHTML is /www/index.html of the busybox image.
const DefaultIndexHTML = "<!DOCTYPE html>\n<title>tug</title>\n<h1>Hello from tug</h1>\n"

// BusyboxOptions shape the busybox image. The zero value is a usable
// image whose default command is sh.
type BusyboxOptions struct {
	// Busybox is a statically linked busybox; default DefaultBusybox.
	Busybox string
	// IndexHTML is the content of /www/index.html (serve it with
	// `httpd -f -p 80 -h /www`); default DefaultIndexHTML.
	IndexHTML string
	// Files are extra regular files, path → content (mode 0644).
	Files map[string]string
	// Entrypoint and Cmd of the image config; Cmd defaults to ["sh"] when
	// both are empty.
	Entrypoint, Cmd []string
	// Env adds to PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin.
	Env []string
	// ExposedPorts are "80/tcp"-style ports.
	ExposedPorts []string
	WorkingDir   string
	// Architecture of the config; default runtime.GOARCH (the binary's).
	Architecture string
}

// Busybox builds a one-layer image: /bin/busybox, one symlink per applet
// at the path `busybox --list-full` gives (bin/sh, usr/sbin/httpd, ...),
// /etc/passwd and /etc/group with root, nobody and www-data, /www/index.html
// and the usual empty directories.
func Busybox(ctx context.Context, opts BusyboxOptions) (v1.Image, error) {
	bin := opts.Busybox
	if bin == "" {
		bin = DefaultBusybox
	}
	if err := checkStatic(bin); err != nil {
		return nil, err
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("imagebuild: %w", err)
	}
	out, err := exec.CommandContext(ctx, bin, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("imagebuild: %s --list-full: %w", bin, err)
	}
	entries, err := busyboxEntries(body, strings.Fields(string(out)), opts)
	if err != nil {
		return nil, err
	}
	layer, err := Layer(entries)
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "tug imagebuild busybox", Comment: "busybox-static"},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = opts.Architecture
	if cf.Architecture == "" {
		cf.Architecture = runtime.GOARCH
	}
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{
		Entrypoint: opts.Entrypoint,
		Cmd:        opts.Cmd,
		Env:        append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, opts.Env...),
		WorkingDir: opts.WorkingDir,
	}
	if len(opts.Entrypoint) == 0 && len(opts.Cmd) == 0 {
		cf.Config.Cmd = []string{"sh"}
	}
	if len(opts.ExposedPorts) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range opts.ExposedPorts {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	return mutate.ConfigFile(img, cf)
}

// checkStatic refuses a dynamically linked busybox: it would not run in
// an image without a C library.
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("imagebuild: %s not found: install Debian's busybox-static (apt-get install busybox-static)", bin)
	}
	if err != nil {
		return fmt.Errorf("imagebuild: %s is not an ELF binary: %w", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("imagebuild: %s is dynamically linked; the image needs a static busybox (Debian: busybox-static)", bin)
		}
	}
	return nil
}

func busyboxEntries(busybox []byte, applets []string, opts BusyboxOptions) ([]Entry, error) {
	index := opts.IndexHTML
	if index == "" {
		index = DefaultIndexHTML
	}
	entries := []Entry{
		Dir("bin", 0o755), Dir("dev", 0o755), Dir("etc", 0o755), Dir("home", 0o755),
		Dir("proc", 0o555), Dir("root", 0o700), Dir("sbin", 0o755), Dir("sys", 0o555),
		Dir("tmp", 0o1777), Dir("usr", 0o755), Dir("usr/bin", 0o755), Dir("usr/sbin", 0o755),
		Dir("var", 0o755), Dir("var/www", 0o755), Dir("www", 0o755),
		{Header: File("bin/busybox", 0o755, "").Header, Body: busybox},
		File("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\n"+
			"www-data:x:33:33:www-data:/var/www:/bin/false\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
		File("etc/group", 0o644, "root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n"),
		File("www/index.html", 0o644, index),
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name] = true
	}
	slices.Sort(applets)
	for _, a := range applets {
		a = strings.TrimPrefix(path.Clean("/"+a), "/")
		if have[a] || a == "" {
			continue
		}
		if !have[path.Dir(a)] && path.Dir(a) != "." {
			return nil, fmt.Errorf("imagebuild: busybox applet %s is in an unexpected directory", a)
		}
		have[a] = true
		entries = append(entries, Symlink(a, "/bin/busybox"))
	}
	extra := make([]string, 0, len(opts.Files))
	for p := range opts.Files {
		extra = append(extra, p)
	}
	slices.Sort(extra)
	for _, p := range extra {
		name := strings.TrimPrefix(path.Clean("/"+p), "/")
		for d := path.Dir(name); d != "." && !have[d]; d = path.Dir(d) {
			entries = append(entries, Dir(d, 0o755))
			have[d] = true
		}
		entries = append(entries, File(name, 0o644, opts.Files[p]))
	}
	return sortParentsFirst(entries), nil
}

// sortParentsFirst orders directories before what they contain (stable).
func sortParentsFirst(entries []Entry) []Entry {
	slices.SortStableFunc(entries, func(a, b Entry) int {
		return bytes.Compare([]byte(a.Name), []byte(b.Name))
	})
	return entries
}

// WriteBusyboxArchive builds the busybox image and writes it to path as
// an archive named ref; it returns the image ID (config digest). This is
// `tug image build-busybox`.
func WriteBusyboxArchive(ctx context.Context, path, ref string, format Format, opts BusyboxOptions) (string, error) {
	img, err := Busybox(ctx, opts)
	if err != nil {
		return "", err
	}
	if err := WriteArchiveFile(path, format, Named{Ref: ref, Image: img}); err != nil {
		return "", err
	}
	id, err := img.ConfigName()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}
