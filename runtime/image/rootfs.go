package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

// unpack builds the image's root filesystem from its stored layers in a
// temporary directory and renames it to lowers/<id>: the lower directory
// appears whole or not at all. Before the rename the file system is
// synced, so a power loss cannot leave a complete-looking directory with
// missing data.
func (s *Store) unpack(ctx context.Context, rec Image) (int64, error) {
	tmp, err := s.tempDir("unpack-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp) // after a successful rename there is nothing left
	if err := os.Chmod(tmp, 0o755); err != nil {
		return 0, err
	}
	rootfd, err := unix.Open(tmp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("image: open %s: %w", tmp, err)
	}
	defer unix.Close(rootfd)

	cfgHash, err := v1.NewHash(rec.ID)
	if err != nil {
		return 0, err
	}
	layers, err := parseHashes(rec.Layers)
	if err != nil {
		return 0, err
	}
	cfgBlob, err := os.ReadFile(s.blobPath(cfgHash))
	if err != nil {
		return 0, fmt.Errorf("image: read config: %w", err)
	}
	cf, err := v1.ParseConfigFile(bytesReader(cfgBlob))
	if err != nil {
		return 0, fmt.Errorf("%w: image config: %v", ErrInvalidImage, err)
	}
	u := newUnpacker(rootfd, s.log)
	u.onEntry = s.onUnpackEntry
	start := time.Now()
	if len(cf.RootFS.DiffIDs) != len(layers) {
		return 0, fmt.Errorf("%w: %d layers but %d diff IDs in the config", ErrInvalidImage, len(layers), len(cf.RootFS.DiffIDs))
	}
	for i, d := range layers {
		u.layer = i + 1 // 1-based in messages
		if err := s.applyStoredLayer(ctx, u, d, cf.RootFS.DiffIDs[i]); err != nil {
			return 0, err
		}
	}
	if err := unix.Syncfs(rootfd); err != nil {
		return 0, fmt.Errorf("image: sync unpacked image: %w", err)
	}
	size, err := diskUsage(tmp)
	if err != nil {
		return 0, err
	}
	dst := s.lowerPath(rec.ID)
	if err := os.Rename(tmp, dst); err != nil {
		if !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
			return 0, fmt.Errorf("image: move unpacked image into place: %w", err)
		}
		// Another process unpacked the same image meanwhile: keep theirs.
	}
	if err := syncDir(s.lowersDir()); err != nil {
		return 0, err
	}
	s.log.Debug("unpacked image", "id", rec.ID, "layers", len(rec.Layers), "bytes", size, "duration", time.Since(start))
	return size, nil
}

// applyStoredLayer decompresses a stored layer blob into u, checking the
// uncompressed stream against the config's diff ID.
func (s *Store) applyStoredLayer(ctx context.Context, u *unpacker, digest, diffID v1.Hash) error {
	layer, err := partial.CompressedToLayer(&blobLayer{path: s.blobPath(digest), digest: digest})
	if err != nil {
		return err
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		return fmt.Errorf("%w: layer %s: %v", ErrInvalidImage, digest, err)
	}
	defer rc.Close()
	h := sha256.New()
	tee := io.TeeReader(rc, h)
	if err := u.applyLayer(ctx, tee); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, tee); err != nil { // tar padding
		return fmt.Errorf("%w: layer %s: %v", ErrInvalidImage, digest, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != diffID.String() {
		return fmt.Errorf("%w: layer %s uncompresses to %s, the config says %s", ErrInvalidImage, digest, got, diffID)
	}
	return nil
}

// blobLayer is a stored layer blob for go-containerregistry's layer
// helpers (which pick gzip, zstd or none by the content).
type blobLayer struct {
	path      string
	digest    v1.Hash
	mediaType types.MediaType // "" is an OCI gzip layer (the content decides)
}

func (b *blobLayer) Digest() (v1.Hash, error)           { return b.digest, nil }
func (b *blobLayer) Compressed() (io.ReadCloser, error) { return os.Open(b.path) }
func (b *blobLayer) MediaType() (types.MediaType, error) {
	if b.mediaType == "" {
		return types.OCILayer, nil
	}
	return b.mediaType, nil
}
func (b *blobLayer) Size() (int64, error) {
	st, err := os.Stat(b.path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// diskUsage is the space dir's files take (hard links counted once).
func diskUsage(dir string) (int64, error) {
	var total int64
	seen := map[[2]uint64]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		key := [2]uint64{st.Dev, st.Ino}
		if !seen[key] {
			seen[key] = true
			total += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("image: measure %s: %w", dir, err)
	}
	return total, nil
}
