package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// RemoveResult says what Remove did, as `docker rmi` prints it.
type RemoveResult struct {
	Untagged []string // names removed
	Deleted  string   // image ID, if the image itself was removed
}

// Remove removes ref. A tag removes that name, and the image with it when
// it was the image's last tag; an image ID, ID prefix or digest reference
// removes the image and all its names. An image whose root filesystem is
// the lower layer of a mounted overlay is kept: ErrInUse.
func (s *Store) Remove(ctx context.Context, ref string) (RemoveResult, error) {
	lock, err := lockFile(ctx, s.storeLock(), true)
	if err != nil {
		return RemoveResult{}, err
	}
	defer lock.unlock()

	var res RemoveResult
	err = s.updateIndex(ctx, func(idx *index) error {
		img, err := idx.find(ref)
		if err != nil {
			return err
		}
		if r, perr := ParseReference(ref); perr == nil && r.Tag() != "" && slices.Contains(img.RepoTags, r.String()) && len(img.RepoTags) > 1 {
			img.RepoTags = slices.DeleteFunc(img.RepoTags, func(t string) bool { return t == r.String() })
			res.Untagged = []string{r.String()}
			return nil
		}
		if err := s.checkNotMounted(img.ID); err != nil {
			return err
		}
		res.Untagged = append(slices.Clone(img.RepoTags), img.RepoDigests...)
		res.Deleted = img.ID
		idx.remove(img.ID)
		return nil
	})
	if err != nil || res.Deleted == "" {
		return res, err
	}
	return res, s.sweep()
}

func (s *Store) checkNotMounted(id string) error {
	lowers, err := overlayLowers()
	if err != nil {
		return err
	}
	if lowers[s.lowerPath(id)] {
		return fmt.Errorf("%w: image %s is the root filesystem of a running container (a mounted overlay's lower directory)", ErrInUse, id)
	}
	return nil
}

// sweep deletes what no image record references: blobs, root filesystems
// (including ones a crash left between unpack and record). The caller
// holds the store lock exclusively, so no pull is between storing a blob
// and recording it.
func (s *Store) sweep() error {
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	keepBlobs := map[string]bool{}
	keepLowers := map[string]bool{}
	for _, img := range idx.Images {
		for _, d := range append([]string{img.ID, img.ManifestDigest}, img.Layers...) {
			keepBlobs[strings.TrimPrefix(d, "sha256:")] = true
		}
		keepLowers[strings.TrimPrefix(img.ID, "sha256:")] = true
	}
	mounted, err := overlayLowers()
	if err != nil {
		return err
	}
	var errs []error
	blobs, err := os.ReadDir(s.blobDir())
	if err != nil {
		return err
	}
	for _, b := range blobs {
		if !keepBlobs[b.Name()] {
			errs = append(errs, ignoreNotExist(os.Remove(filepath.Join(s.blobDir(), b.Name()))))
		}
	}
	lowers, err := os.ReadDir(s.lowersDir())
	if err != nil {
		return err
	}
	for _, l := range lowers {
		p := filepath.Join(s.lowersDir(), l.Name())
		if keepLowers[l.Name()] || mounted[p] {
			continue
		}
		errs = append(errs, s.removeLower(p))
	}
	return errors.Join(errs...)
}

// removeLower moves a root filesystem into the session directory before
// deleting it, so a crash mid-deletion leaves nothing half-deleted in
// lowers/ (the session's leftovers are removed later).
func (s *Store) removeLower(p string) error {
	trash := filepath.Join(s.work, "delete-"+filepath.Base(p))
	if err := os.Rename(p, trash); err != nil {
		return ignoreNotExist(err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("image: delete %s: %w", p, err)
	}
	return nil
}

func ignoreNotExist(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// GCResult says what GC did.
type GCResult struct {
	Before  DiskUsage
	After   DiskUsage
	Removed []string // image IDs, in removal order
}

// GC removes unused images, least recently used first, when the store's
// file system is fuller than p.HighThresholdPercent, until it is below
// p.LowThresholdPercent (see ChooseVictims). inUse reports the images the
// caller's containers use (nil: none); images whose root filesystem is a
// mounted overlay's lower directory are in use regardless. It also
// deletes unreferenced blobs and root filesystems.
func (s *Store) GC(ctx context.Context, inUse func(imageID string) bool, p GCPolicy) (GCResult, error) {
	if err := p.Validate(); err != nil {
		return GCResult{}, err
	}
	lock, err := lockFile(ctx, s.storeLock(), true)
	if err != nil {
		return GCResult{}, err
	}
	defer lock.unlock()

	var res GCResult
	if res.Before, err = s.DiskUsage(); err != nil {
		return res, err
	}
	idx, err := s.readIndex()
	if err != nil {
		return res, err
	}
	mounted, err := overlayLowers()
	if err != nil {
		return res, err
	}
	var cands []GCCandidate
	for _, img := range idx.Images {
		cands = append(cands, GCCandidate{
			ID:       img.ID,
			Size:     img.Size + img.UnpackedSize,
			LastUsed: img.LastUsed,
			Pulled:   img.Pulled,
			InUse:    mounted[s.lowerPath(img.ID)] || inUse != nil && inUse(img.ID),
		})
	}
	victims := ChooseVictims(cands, res.Before, p, time.Now())
	for _, v := range victims {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		err := s.updateIndex(ctx, func(idx *index) error {
			if err := s.checkNotMounted(v.ID); err != nil {
				return err
			}
			idx.remove(v.ID)
			return nil
		})
		if errors.Is(err, ErrInUse) {
			continue
		}
		if err != nil {
			return res, err
		}
		s.log.Info("image garbage collection removed an image", "id", v.ID, "lastUsed", v.LastUsed, "bytes", v.Size)
		res.Removed = append(res.Removed, v.ID)
		// Free the space now: the next victim depends on it only through
		// the plan, but a crash should not leave it all for later.
		if err := s.removeLower(s.lowerPath(v.ID)); err != nil {
			return res, err
		}
	}
	if err := s.sweep(); err != nil {
		return res, err
	}
	res.After, err = s.DiskUsage()
	return res, err
}

// DiskUsage is the size and free space of the store's file system.
func (s *Store) DiskUsage() (DiskUsage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(s.root, &st); err != nil {
		return DiskUsage{}, fmt.Errorf("image: statfs %s: %w", s.root, err)
	}
	return DiskUsage{Capacity: int64(st.Blocks) * st.Bsize, Available: int64(st.Bavail) * st.Bsize}, nil
}
