package image

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// Get returns the record of the image ref names (a reference as users
// write it, an image ID or a unique ID prefix); ErrNotPresent if none.
func (s *Store) Get(ref string) (Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return Image{}, err
	}
	img, err := idx.find(ref)
	if err != nil {
		return Image{}, err
	}
	return img.clone(), nil
}

// List returns every image, ordered by repository tag (untagged last,
// by ID).
func (s *Store) List() ([]Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	out := make([]Image, 0, len(idx.Images))
	for _, img := range idx.Images {
		out = append(out, img.clone())
	}
	slices.SortFunc(out, func(a, b Image) int {
		ka, kb := sortKey(a), sortKey(b)
		if c := strings.Compare(ka, kb); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func sortKey(img Image) string {
	if len(img.RepoTags) > 0 {
		return slices.Min(img.RepoTags)
	}
	return "\xff" + img.ID
}

// Lower returns the image's unpacked, read-only root filesystem: the
// lower directory of its containers' overlays. The caller must not write
// to it. It marks the image used now (garbage collection spares recently
// used images).
func (s *Store) Lower(ctx context.Context, ref string) (string, error) {
	img, err := s.Get(ref)
	if err != nil {
		return "", err
	}
	dir := s.lowerPath(img.ID)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("image %s: root filesystem %s missing (remove and pull the image again): %w", img.ID, dir, err)
	}
	if err := s.touch(ctx, img.ID, time.Now()); err != nil {
		return "", err
	}
	return dir, nil
}

// Config returns the image config a container is started from.
func (s *Store) Config(ref string) (ImageConfig, error) {
	img, err := s.Get(ref)
	if err != nil {
		return ImageConfig{}, err
	}
	return img.Config, nil
}

// ImageID returns the image ID (config digest, "sha256:...").
func (s *Store) ImageID(ref string) (string, error) {
	img, err := s.Get(ref)
	if err != nil {
		return "", err
	}
	return img.ID, nil
}

// RepoDigest returns "repository@sha256:..." for ref: the digest the
// registry served for ref's repository (what containerd reports as a
// container's imageID), or "" if the image came without one (a docker-save
// import).
func (s *Store) RepoDigest(ref string) (string, error) {
	img, err := s.Get(ref)
	if err != nil {
		return "", err
	}
	if r, err := ParseReference(ref); err == nil {
		for _, d := range img.RepoDigests {
			if rd, err := ParseReference(d); err == nil && rd.Repository() == r.Repository() {
				return d, nil
			}
		}
	}
	if len(img.RepoDigests) > 0 {
		return img.RepoDigests[0], nil
	}
	return "", nil
}

// touch sets an image's last-used time.
func (s *Store) touch(ctx context.Context, id string, now time.Time) error {
	return s.updateIndex(ctx, func(idx *index) error {
		if img := idx.byID(id); img != nil && now.After(img.LastUsed) {
			img.LastUsed = now
		}
		return nil
	})
}
