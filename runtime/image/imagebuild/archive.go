package imagebuild

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Format is an image archive format.
type Format string

const (
	// FormatDocker is `docker save`'s: manifest.json with RepoTags, one
	// file per layer and config.
	FormatDocker Format = "docker"
	// FormatOCI is an OCI image layout (oci-layout, index.json,
	// blobs/sha256/...) in a tar, as `docker save` (25+), containerd and
	// skopeo write it; names are in the io.containerd.image.name and
	// org.opencontainers.image.ref.name annotations.
	FormatOCI Format = "oci"
)

// Named is an image and the tag reference it is saved under.
type Named struct {
	Ref   string // e.g. "tug.local/busybox:1"
	Image v1.Image
}

// WriteArchiveFile writes the images to path (through a temporary file
// renamed into place).
func WriteArchiveFile(path string, format Format, images ...Named) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("imagebuild: %w", err)
	}
	defer os.Remove(f.Name())
	if err := WriteArchive(f, format, images...); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// WriteArchive writes the images as a tar archive in format.
func WriteArchive(w io.Writer, format Format, images ...Named) error {
	tags := make([]name.Tag, len(images))
	for i, n := range images {
		t, err := name.NewTag(n.Ref)
		if err != nil {
			return fmt.Errorf("imagebuild: archive name %q: %w", n.Ref, err)
		}
		tags[i] = t
	}
	switch format {
	case FormatDocker:
		refs := map[name.Reference]v1.Image{}
		for i, n := range images {
			refs[tags[i]] = n.Image
		}
		return tarball.MultiRefWrite(refs, w)
	case FormatOCI:
		return writeOCI(w, tags, images)
	}
	return fmt.Errorf("imagebuild: unknown archive format %q (want docker or oci)", format)
}

func writeOCI(w io.Writer, tags []name.Tag, images []Named) error {
	tw := tar.NewWriter(w)
	written := map[v1.Hash]bool{}
	put := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: epoch}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	putBytes := func(name string, b []byte) error { return put(name, int64(len(b)), bytesReader(b)) }
	putBlob := func(h v1.Hash, size int64, open func() (io.ReadCloser, error)) error {
		if written[h] {
			return nil
		}
		written[h] = true
		rc, err := open()
		if err != nil {
			return err
		}
		defer rc.Close()
		return put("blobs/"+h.Algorithm+"/"+h.Hex, size, rc)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "blobs/sha256/", Mode: 0o755, ModTime: epoch}); err != nil {
		return err
	}
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for i, n := range images {
		img := n.Image
		rawManifest, err := img.RawManifest()
		if err != nil {
			return err
		}
		digest, err := img.Digest()
		if err != nil {
			return err
		}
		mt, err := img.MediaType()
		if err != nil {
			return err
		}
		rawConfig, err := img.RawConfigFile()
		if err != nil {
			return err
		}
		cfgName, err := img.ConfigName()
		if err != nil {
			return err
		}
		if err := putBlob(cfgName, int64(len(rawConfig)), func() (io.ReadCloser, error) { return io.NopCloser(bytesReader(rawConfig)), nil }); err != nil {
			return err
		}
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		for _, l := range layers {
			h, err := l.Digest()
			if err != nil {
				return err
			}
			size, err := l.Size()
			if err != nil {
				return err
			}
			if err := putBlob(h, size, l.Compressed); err != nil {
				return err
			}
		}
		if err := putBlob(digest, int64(len(rawManifest)), func() (io.ReadCloser, error) { return io.NopCloser(bytesReader(rawManifest)), nil }); err != nil {
			return err
		}
		index.Manifests = append(index.Manifests, v1.Descriptor{
			MediaType: mt,
			Size:      int64(len(rawManifest)),
			Digest:    digest,
			Annotations: map[string]string{
				"io.containerd.image.name":          familiarName(tags[i]),
				"org.opencontainers.image.ref.name": tags[i].TagStr(),
			},
		})
	}
	idx, err := json.Marshal(index)
	if err != nil {
		return err
	}
	if err := putBytes("index.json", idx); err != nil {
		return err
	}
	if err := putBytes("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	return tw.Close()
}

// familiarName spells Docker Hub "docker.io", as containerd does.
func familiarName(t name.Tag) string {
	reg := t.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + t.RepositoryStr() + ":" + t.TagStr()
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
