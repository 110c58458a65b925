package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func (s *Store) blobPath(h v1.Hash) string { return filepath.Join(s.blobDir(), h.Hex) }

// hasBlob reports whether the blob is stored with the expected size
// (size < 0: any). Blobs are verified when written, so presence suffices.
func (s *Store) hasBlob(h v1.Hash, size int64) bool {
	st, err := os.Stat(s.blobPath(h))
	return err == nil && st.Mode().IsRegular() && (size < 0 || st.Size() == size)
}

// writeBlob stores r's content as blob h, verifying its sha256 digest and
// (when size >= 0) its size. It writes a temporary file in the session
// directory and renames it into place, so a blob is either whole or
// absent; writing a blob that exists already is harmless.
func (s *Store) writeBlob(ctx context.Context, h v1.Hash, size int64, r io.Reader) (int64, error) {
	if h.Algorithm != "sha256" {
		return 0, fmt.Errorf("%w: digest %s: only sha256 is supported", ErrInvalidImage, h)
	}
	f, err := os.CreateTemp(s.work, "blob-")
	if err != nil {
		return 0, fmt.Errorf("image: create blob: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	hasher := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, hasher), ctxReader{ctx, r}, make([]byte, 256<<10))
	if err != nil {
		return n, fmt.Errorf("image: download blob %s: %w", h, err)
	}
	if size >= 0 && n != size {
		return n, fmt.Errorf("%w: blob %s has %d bytes, the manifest says %d", ErrInvalidImage, h, n, size)
	}
	if got := hex.EncodeToString(hasher.Sum(nil)); got != h.Hex {
		return n, fmt.Errorf("%w: blob %s has digest sha256:%s", ErrInvalidImage, h, got)
	}
	if err := f.Sync(); err != nil {
		return n, fmt.Errorf("image: sync blob %s: %w", h, err)
	}
	if err := f.Close(); err != nil {
		return n, err
	}
	if err := os.Rename(f.Name(), s.blobPath(h)); err != nil {
		return n, fmt.Errorf("image: store blob %s: %w", h, err)
	}
	return n, nil
}

// writeBlobBytes stores b as blob h (manifests and configs).
func (s *Store) writeBlobBytes(ctx context.Context, h v1.Hash, b []byte) error {
	if s.hasBlob(h, int64(len(b))) {
		return nil
	}
	_, err := s.writeBlob(ctx, h, int64(len(b)), bytes.NewReader(b))
	return err
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
