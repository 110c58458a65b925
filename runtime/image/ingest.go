package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ingestRequest is an image to bring into the store, from a registry or
// an archive, and the names to give it.
type ingestRequest struct {
	img         v1.Image
	label       string   // for logs and progress: the reference or the archive
	tags        []string // canonical tag references
	repoDigests []string // canonical digest references
	progress    func(Progress)
}

// ingestResult says what ingest did.
type ingestResult struct {
	image      Image
	downloaded int64 // bytes fetched from the source
}

// ingest stores img's blobs, unpacks its root filesystem and records it.
// Work already done (blobs stored, root filesystem unpacked) is skipped,
// so a second pull of an image only updates its names. It holds the store
// lock shared: deletions wait for it, other pulls do not.
func (s *Store) ingest(ctx context.Context, req ingestRequest) (ingestResult, error) {
	lock, err := lockFile(ctx, s.storeLock(), false)
	if err != nil {
		return ingestResult{}, err
	}
	defer lock.unlock()

	manifest, err := req.img.Manifest()
	if err != nil {
		return ingestResult{}, fmt.Errorf("read manifest: %w", err)
	}
	mdigest, err := req.img.Digest()
	if err != nil {
		return ingestResult{}, fmt.Errorf("manifest digest: %w", err)
	}
	id := manifest.Config.Digest.String()

	idx, err := s.readIndex()
	if err != nil {
		return ingestResult{}, err
	}
	if rec := idx.byID(id); rec != nil && s.complete(rec) {
		img, err := s.commit(ctx, rec.clone(), req)
		return ingestResult{image: img}, err
	}

	rec, downloaded, err := s.fetch(ctx, req, manifest, mdigest)
	if err != nil {
		return ingestResult{downloaded: downloaded}, err
	}
	if _, err := os.Stat(s.lowerPath(id)); err != nil {
		size, err := s.unpack(ctx, rec)
		if err != nil {
			return ingestResult{downloaded: downloaded}, err
		}
		rec.UnpackedSize = size
	} else {
		rec.UnpackedSize, _ = diskUsage(s.lowerPath(id))
	}
	img, err := s.commit(ctx, rec, req)
	return ingestResult{image: img, downloaded: downloaded}, err
}

// complete reports whether an image's blobs and root filesystem are all
// on disk.
func (s *Store) complete(rec *Image) bool {
	if _, err := os.Stat(s.lowerPath(rec.ID)); err != nil {
		return false
	}
	for _, d := range append([]string{rec.ID, rec.ManifestDigest}, rec.Layers...) {
		h, err := v1.NewHash(d)
		if err != nil || !s.hasBlob(h, -1) {
			return false
		}
	}
	return true
}

// layerMediaTypes are the layer types a root filesystem is made of.
var layerMediaTypes = []types.MediaType{
	types.DockerLayer, types.DockerUncompressedLayer, types.DockerForeignLayer,
	types.OCILayer, types.OCILayerZStd, types.OCIUncompressedLayer,
	types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer,
}

// fetch stores the manifest, config and layer blobs and returns the
// image's record (without names).
func (s *Store) fetch(ctx context.Context, req ingestRequest, manifest *v1.Manifest, mdigest v1.Hash) (Image, int64, error) {
	rawManifest, err := req.img.RawManifest()
	if err != nil {
		return Image{}, 0, fmt.Errorf("read manifest: %w", err)
	}
	// A config stored by an earlier, interrupted pull is not fetched again.
	rawConfig, err := os.ReadFile(s.blobPath(manifest.Config.Digest))
	if err != nil {
		if rawConfig, err = req.img.RawConfigFile(); err != nil {
			return Image{}, 0, fmt.Errorf("read image config: %w", err)
		}
	}
	if sum := sha256.Sum256(rawConfig); hex.EncodeToString(sum[:]) != manifest.Config.Digest.Hex {
		return Image{}, 0, fmt.Errorf("%w: config does not match its digest %s", ErrInvalidImage, manifest.Config.Digest)
	}
	if sum := sha256.Sum256(rawManifest); hex.EncodeToString(sum[:]) != mdigest.Hex {
		return Image{}, 0, fmt.Errorf("%w: manifest does not match its digest %s", ErrInvalidImage, mdigest)
	}
	cf, err := v1.ParseConfigFile(bytesReader(rawConfig))
	if err != nil {
		return Image{}, 0, fmt.Errorf("%w: image config: %v", ErrInvalidImage, err)
	}
	if err := s.checkPlatform(cf); err != nil {
		return Image{}, 0, err
	}
	if len(manifest.Layers) != len(cf.RootFS.DiffIDs) {
		return Image{}, 0, fmt.Errorf("%w: %d layers but %d diff IDs in the config", ErrInvalidImage, len(manifest.Layers), len(cf.RootFS.DiffIDs))
	}
	for _, l := range manifest.Layers {
		if !slices.Contains(layerMediaTypes, l.MediaType) {
			return Image{}, 0, fmt.Errorf("%w: layer %s has media type %q: not a container image layer", ErrInvalidImage, l.Digest, l.MediaType)
		}
	}
	if err := s.writeBlobBytes(ctx, mdigest, rawManifest); err != nil {
		return Image{}, 0, err
	}
	if err := s.writeBlobBytes(ctx, manifest.Config.Digest, rawConfig); err != nil {
		return Image{}, 0, err
	}
	downloaded, err := s.fetchLayers(ctx, req, manifest)
	if err != nil {
		return Image{}, downloaded, err
	}

	rec := Image{
		ID:             manifest.Config.Digest.String(),
		ManifestDigest: mdigest.String(),
		Size:           int64(len(rawManifest) + len(rawConfig)),
		Config:         imageConfig(cf),
		Created:        cf.Created.Time,
	}
	for _, l := range manifest.Layers {
		rec.Layers = append(rec.Layers, l.Digest.String())
		rec.Size += l.Size
	}
	return rec, downloaded, nil
}

func (s *Store) checkPlatform(cf *v1.ConfigFile) error {
	if cf.OS != "" && cf.OS != s.platform.OS {
		return fmt.Errorf("%w: the image is for %s, this node runs %s", ErrNoMatchingPlatform, cf.OS, s.platform.OS)
	}
	if cf.Architecture != "" && cf.Architecture != s.platform.Architecture {
		return fmt.Errorf("%w: the image is for %s/%s, this node is %s/%s", ErrNoMatchingPlatform,
			cf.OS, cf.Architecture, s.platform.OS, s.platform.Architecture)
	}
	return nil
}

// fetchLayers downloads the missing layer blobs, a few at a time, and
// reports progress.
func (s *Store) fetchLayers(ctx context.Context, req ingestRequest, manifest *v1.Manifest) (int64, error) {
	layers, err := req.img.Layers()
	if err != nil {
		return 0, fmt.Errorf("list layers: %w", err)
	}
	tracker := newProgressTracker(req.label, s.log, s.cfg.ProgressInterval, req.progress)
	var missing []int
	counters := make([]*layerCounter, len(manifest.Layers))
	for i, d := range manifest.Layers {
		cached := s.hasBlob(d.Digest, d.Size)
		counters[i] = tracker.addLayer(d.Digest.String(), d.Size, cached)
		if !cached {
			missing = append(missing, i)
		}
	}
	tracker.start()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		total    int64
		sem      = make(chan struct{}, s.cfg.MaxConcurrentDownloads)
	)
	for _, i := range missing {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				return
			}
			n, err := s.fetchLayer(ctx, layers[i], manifest.Layers[i], counters[i])
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil && firstErr == nil {
				firstErr = err
				cancel()
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	tracker.finish(firstErr == nil)
	return total, firstErr
}

func (s *Store) fetchLayer(ctx context.Context, layer v1.Layer, d v1.Descriptor, c *layerCounter) (int64, error) {
	rc, err := layer.Compressed()
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	defer rc.Close()
	n, err := s.writeBlob(ctx, d.Digest, d.Size, countingReader{r: rc, c: c})
	if err != nil {
		return n, fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	return n, nil
}

// commit records the image and points the request's names at it (a tag
// names one image: it leaves the image it named before).
func (s *Store) commit(ctx context.Context, rec Image, req ingestRequest) (Image, error) {
	var out Image
	err := s.updateIndex(ctx, func(idx *index) error {
		// Deletions hold the store lock exclusively, so what ingest found
		// or made is still there.
		now := time.Now()
		cur := idx.byID(rec.ID)
		if cur == nil {
			r := rec
			r.RepoTags, r.RepoDigests = nil, nil
			r.Pulled = now
			cur = &r
			idx.Images = append(idx.Images, cur)
		}
		for _, t := range req.tags {
			for _, other := range idx.Images {
				if other != cur {
					other.RepoTags = slices.DeleteFunc(other.RepoTags, func(x string) bool { return x == t })
				}
			}
			if !slices.Contains(cur.RepoTags, t) {
				cur.RepoTags = append(cur.RepoTags, t)
			}
		}
		for _, d := range req.repoDigests {
			if !slices.Contains(cur.RepoDigests, d) {
				cur.RepoDigests = append(cur.RepoDigests, d)
			}
		}
		sort.Strings(cur.RepoTags)
		sort.Strings(cur.RepoDigests)
		cur.LastUsed = now
		out = cur.clone()
		return nil
	})
	return out, err
}

func imageConfig(cf *v1.ConfigFile) ImageConfig {
	c := cf.Config
	out := ImageConfig{
		Entrypoint:   c.Entrypoint,
		Cmd:          c.Cmd,
		Env:          c.Env,
		WorkingDir:   c.WorkingDir,
		User:         c.User,
		Labels:       c.Labels,
		StopSignal:   c.StopSignal,
		OS:           cf.OS,
		Architecture: cf.Architecture,
	}
	for p := range c.ExposedPorts {
		out.ExposedPorts = append(out.ExposedPorts, p)
	}
	sort.Strings(out.ExposedPorts)
	for v := range c.Volumes {
		out.Volumes = append(out.Volumes, v)
	}
	sort.Strings(out.Volumes)
	return out
}

func parseHashes(list []string) ([]v1.Hash, error) {
	out := make([]v1.Hash, 0, len(list))
	for _, d := range list {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, fmt.Errorf("image: store record holds an invalid digest %q: %w", d, err)
		}
		out = append(out, h)
	}
	return out, nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
