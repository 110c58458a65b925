package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Image is the record of one image in the store.
type Image struct {
	// ID is the config digest ("sha256:..."): what `crictl images` shows
	// as IMAGE ID and the kubelet reports as a container's imageID with
	// Docker.
	ID string `json:"id"`
	// RepoTags are the tag references pointing at the image, canonical
	// ("docker.io/library/busybox:1").
	RepoTags []string `json:"repoTags,omitempty"`
	// RepoDigests are "repository@digest" references: the digest the
	// registry served (an index digest for multi-platform images).
	RepoDigests []string `json:"repoDigests,omitempty"`
	// ManifestDigest is the digest of the platform-specific manifest.
	ManifestDigest string `json:"manifestDigest"`
	// Layers are the layer blob digests, bottom first.
	Layers []string `json:"layers"`
	// Size is the manifest, config and (compressed) layers as served: the
	// "image size" of the kubelet's Pulled event and of `crictl images`.
	Size int64 `json:"size"`
	// UnpackedSize is the disk usage of the unpacked root filesystem.
	UnpackedSize int64 `json:"unpackedSize"`
	// Config is what the agent needs from the image config.
	Config ImageConfig `json:"config"`
	// Created is the image's creation time from its config (may be zero).
	Created time.Time `json:"created,omitzero"`
	// Pulled is when the image entered the store.
	Pulled time.Time `json:"pulled"`
	// LastUsed is the last pull or Lower of the image; garbage collection
	// removes the least recently used first.
	LastUsed time.Time `json:"lastUsed"`
}

// ImageConfig is the part of an image config a container is started
// from. Kubernetes: command replaces Entrypoint, args replace Cmd.
type ImageConfig struct {
	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Cmd          []string          `json:"cmd,omitempty"`
	Env          []string          `json:"env,omitempty"`
	WorkingDir   string            `json:"workingDir,omitempty"`
	User         string            `json:"user,omitempty"`
	ExposedPorts []string          `json:"exposedPorts,omitempty"` // "80/tcp", sorted
	Volumes      []string          `json:"volumes,omitempty"`      // sorted
	Labels       map[string]string `json:"labels,omitempty"`
	StopSignal   string            `json:"stopSignal,omitempty"`
	OS           string            `json:"os"`
	Architecture string            `json:"architecture"`
}

// index is the content of index.json.
type index struct {
	Version int      `json:"version"`
	Images  []*Image `json:"images"`
}

const indexVersion = 1

// readIndex reads index.json. Writers replace it by rename, so a reader
// without the lock still sees one whole version.
func (s *Store) readIndex() (*index, error) {
	b, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return &index{Version: indexVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image: read store index: %w", err)
	}
	var idx index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("image: store index %s is corrupt: %w", s.indexPath(), err)
	}
	if idx.Version != indexVersion {
		return nil, fmt.Errorf("image: store index %s has version %d, this tug understands %d", s.indexPath(), idx.Version, indexVersion)
	}
	return &idx, nil
}

// updateIndex runs fn on the index under the index lock and writes the
// result back atomically (temporary file, fsync, rename, fsync directory).
func (s *Store) updateIndex(ctx context.Context, fn func(*index) error) error {
	l, err := lockFile(ctx, s.indexLock(), true)
	if err != nil {
		return err
	}
	defer l.unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	slices.SortFunc(idx.Images, func(a, b *Image) int { return strings.Compare(a.ID, b.ID) })
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.indexPath(), b)
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("image: write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("image: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("image: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("image: replace %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// find returns the image a user's reference names: a tag or digest
// reference, an image ID ("sha256:<hex>") or a unique prefix of one
// (at least 4 hex digits, as `crictl rmi` takes).
func (idx *index) find(ref string) (*Image, error) {
	if strings.HasPrefix(ref, "sha256:") {
		return idx.byIDPrefix(ref, strings.TrimPrefix(ref, "sha256:"))
	}
	r, perr := ParseReference(ref)
	if perr == nil {
		if img := idx.byReference(r); img != nil {
			return img, nil
		}
	}
	if isHex(ref) && len(ref) >= 4 {
		if img, err := idx.byIDPrefix(ref, ref); err == nil || !errors.Is(err, ErrNotPresent) {
			return img, err
		}
	}
	if perr != nil {
		return nil, perr
	}
	return nil, fmt.Errorf("%w: %s", ErrNotPresent, r)
}

func (idx *index) byReference(r Reference) *Image {
	want := r.String()
	for _, img := range idx.Images {
		if r.Digest() == "" {
			if slices.Contains(img.RepoTags, want) {
				return img
			}
			continue
		}
		if slices.Contains(img.RepoDigests, want) {
			return img
		}
		// The platform manifest's digest also names the image, in any of
		// its repositories.
		if img.ManifestDigest == r.Digest() && slices.Contains(img.repositories(), r.Repository()) {
			return img
		}
	}
	return nil
}

func (idx *index) byIDPrefix(orig, prefix string) (*Image, error) {
	if !isHex(prefix) || prefix == "" {
		return nil, fmt.Errorf("%w %q: an image ID is sha256: and hex digits", ErrInvalidReference, orig)
	}
	var found *Image
	for _, img := range idx.Images {
		if strings.HasPrefix(strings.TrimPrefix(img.ID, "sha256:"), prefix) {
			if found != nil {
				return nil, fmt.Errorf("image ID prefix %q is ambiguous: give more digits", orig)
			}
			found = img
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: no image with ID %s", ErrNotPresent, orig)
	}
	return found, nil
}

func (idx *index) byID(id string) *Image {
	for _, img := range idx.Images {
		if img.ID == id {
			return img
		}
	}
	return nil
}

func (idx *index) remove(id string) {
	idx.Images = slices.DeleteFunc(idx.Images, func(img *Image) bool { return img.ID == id })
}

// repositories are the repositories the image has tags or digests in.
func (img *Image) repositories() []string {
	var out []string
	for _, t := range append(slices.Clone(img.RepoTags), img.RepoDigests...) {
		if r, err := ParseReference(t); err == nil && !slices.Contains(out, r.Repository()) {
			out = append(out, r.Repository())
		}
	}
	return out
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (img *Image) clone() Image {
	c := *img
	c.RepoTags = slices.Clone(img.RepoTags)
	c.RepoDigests = slices.Clone(img.RepoDigests)
	c.Layers = slices.Clone(img.Layers)
	return c
}
