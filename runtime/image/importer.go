package image

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// ImportOptions are the settings of Import.
type ImportOptions struct {
	// Tag names the image of a single-image archive, in addition to the
	// names the archive gives it (useful for archives without names).
	Tag string
}

// OCI annotations that name an image in an index.
const (
	annotationRefName        = "org.opencontainers.image.ref.name"
	annotationContainerdName = "io.containerd.image.name"
)

// Import adds the images of an archive to the store: a `docker save`
// tarball (manifest.json with RepoTags), an OCI image layout tarball
// (index.json, names from the io.containerd.image.name or
// org.opencontainers.image.ref.name annotations), either possibly gzipped,
// or an OCI image layout directory. Archives may hold several images.
func (s *Store) Import(ctx context.Context, archive string, opts ImportOptions) ([]Image, error) {
	var extraTag string
	if opts.Tag != "" {
		r, err := ParseReference(opts.Tag)
		if err != nil {
			return nil, err
		}
		if r.Tag() == "" {
			return nil, fmt.Errorf("%w %q: import tags an image: give a tag, not a digest", ErrInvalidReference, opts.Tag)
		}
		extraTag = r.String()
	}
	dir := archive
	st, err := os.Stat(archive)
	if err != nil {
		return nil, fmt.Errorf("image: import: %w", err)
	}
	if !st.IsDir() {
		tmp, err := s.tempDir("import-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		if err := extractArchive(ctx, archive, tmp); err != nil {
			return nil, err
		}
		dir = tmp
	}

	var found []archiveImage
	switch {
	case fileExists(filepath.Join(dir, "manifest.json")):
		found, err = dockerSaveImages(dir)
	case fileExists(filepath.Join(dir, "index.json")):
		found, err = s.ociLayoutImages(dir)
	default:
		err = fmt.Errorf("%w: %s is neither a docker-save archive (manifest.json) nor an OCI image layout (index.json)", ErrInvalidImage, archive)
	}
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: %s holds no image", ErrInvalidImage, archive)
	}
	if extraTag != "" {
		if len(found) != 1 {
			return nil, fmt.Errorf("image: import --tag needs a single-image archive; %s holds %d images", archive, len(found))
		}
		found[0].tags = append(found[0].tags, extraTag)
	}
	var out []Image
	for i, a := range found {
		res, err := s.ingest(ctx, ingestRequest{img: a.img, label: fmt.Sprintf("%s#%d", archive, i), tags: a.tags, repoDigests: a.repoDigests})
		if err != nil {
			return out, fmt.Errorf("image: import image %d of %s: %w", i+1, archive, err)
		}
		s.log.Info("imported image", "archive", archive, "id", res.image.ID, "tags", res.image.RepoTags)
		out = append(out, res.image)
	}
	return out, nil
}

// archiveImage is one image found in an archive, with its names.
type archiveImage struct {
	img         v1.Image
	tags        []string
	repoDigests []string
}

// dockerSaveImages reads manifest.json of an extracted `docker save`.
func dockerSaveImages(dir string) ([]archiveImage, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var entries []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("%w: docker-save manifest.json: %v", ErrInvalidImage, err)
	}
	var out []archiveImage
	for i, e := range entries {
		img, err := newSavedImage(dir, e.Config, e.Layers)
		if err != nil {
			return nil, fmt.Errorf("image %d of manifest.json: %w", i+1, err)
		}
		a := archiveImage{img: img}
		for _, t := range e.RepoTags {
			r, err := ParseReference(t)
			if err != nil || r.Tag() == "" {
				return nil, fmt.Errorf("%w: manifest.json names image %d %q: not a tag reference", ErrInvalidImage, i+1, t)
			}
			a.tags = append(a.tags, r.String())
		}
		out = append(out, a)
	}
	return out, nil
}

// ociLayoutImages reads the index of an OCI image layout. Each entry of
// index.json is an image (a nested index is resolved to this node's
// platform); entries of other kinds (signatures, attestations) are
// skipped.
func (s *Store) ociLayoutImages(dir string) ([]archiveImage, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: OCI layout: %v", ErrInvalidImage, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("%w: OCI layout index.json: %v", ErrInvalidImage, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%w: OCI layout index.json: %v", ErrInvalidImage, err)
	}
	var out []archiveImage
	for _, d := range im.Manifests {
		var img v1.Image
		switch {
		case d.MediaType.IsImage():
			img, err = idx.Image(d.Digest)
		case d.MediaType.IsIndex():
			img, err = s.platformImage(idx, d.Digest)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("image %s of the OCI layout: %w", d.Digest, err)
		}
		a := archiveImage{img: img}
		if r, ok := ociName(d.Annotations); ok {
			a.tags = []string{r.String()}
			a.repoDigests = []string{r.withDigest(d.Digest.String()).String()}
		} else if n := d.Annotations[annotationRefName]; n != "" {
			s.log.Warn("OCI layout image has only a tag, no repository: imported without a name (use --tag)", "digest", d.Digest, "ref.name", n)
		}
		out = append(out, a)
	}
	return out, nil
}

// ociName is the full reference of an index entry: containerd's name, or
// ref.name when it is a full reference ("repo:tag", not just "tag").
func ociName(ann map[string]string) (Reference, bool) {
	for _, n := range []string{ann[annotationContainerdName], ann[annotationRefName]} {
		if n == "" || !strings.ContainsAny(n, "/:") {
			continue
		}
		if r, err := ParseReference(n); err == nil && r.Tag() != "" {
			return r, true
		}
	}
	return Reference{}, false
}

func (s *Store) platformImage(idx v1.ImageIndex, h v1.Hash) (v1.Image, error) {
	child, err := idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	cm, err := child.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range cm.Manifests {
		if d.MediaType.IsImage() && d.Platform != nil && d.Platform.Satisfies(s.platform) {
			return child.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("%w: the index has no image for %s", ErrNoMatchingPlatform, s.cfg.Platform)
}

// extractArchive unpacks a (possibly gzipped) tar of regular files and
// directories into dir. Links become hard links to files inside dir (old
// docker-save archives link identical layers); anything leaving dir is
// refused.
func extractArchive(ctx context.Context, archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("image: import: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidImage, archive, err)
		}
		defer zr.Close()
		r = zr
	}
	type link struct{ name, target string }
	var links []link
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
			return fmt.Errorf("%w: %s is not a tar archive: %v", ErrInvalidImage, archive, err)
		}
		name, err := cleanEntryName(hdr.Name)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidImage, archive, err)
		}
		if name == "." {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o700)
		case tar.TypeReg, tar.TypeRegA:
			err = writeExtracted(ctx, p, tr)
		case tar.TypeSymlink:
			t := hdr.Linkname
			if !path.IsAbs(t) {
				t = path.Join(path.Dir(name), t)
			}
			links = append(links, link{name, t})
		case tar.TypeLink:
			links = append(links, link{name, hdr.Linkname})
		}
		if err != nil {
			return fmt.Errorf("image: import: extract %s: %w", name, err)
		}
	}
	// Resolve links, repeatedly for chains.
	for pass := 0; len(links) > 0 && pass < 8; pass++ {
		var rest []link
		for _, l := range links {
			t, err := cleanEntryName(l.target)
			if err != nil {
				return fmt.Errorf("%w: %s: link %s: %v", ErrInvalidImage, archive, l.name, err)
			}
			src := filepath.Join(dir, filepath.FromSlash(t))
			if st, err := os.Lstat(src); err != nil || !st.Mode().IsRegular() {
				rest = append(rest, l)
				continue
			}
			dst := filepath.Join(dir, filepath.FromSlash(l.name))
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				return err
			}
			os.Remove(dst)
			if err := os.Link(src, dst); err != nil {
				return fmt.Errorf("image: import: link %s: %w", l.name, err)
			}
		}
		links = rest
	}
	// Links to nothing (or to directories) are not needed by either format.
	return nil
}

func writeExtracted(ctx context.Context, p string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
