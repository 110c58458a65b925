package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PullOptions are the per-pull settings.
type PullOptions struct {
	// Progress, when set, receives the download progress when the pull
	// starts, every Config.ProgressInterval and when every layer is stored.
	// It is called from another goroutine and must not block.
	Progress func(Progress)
	// PullSecret is a docker config JSON (the .dockerconfigjson of a
	// Kubernetes imagePullSecret) whose credentials are tried before the
	// store's.
	PullSecret []byte
}

// PullResult describes a successful Pull or Ensure.
type PullResult struct {
	Image Image
	// Ref is the canonical reference asked for.
	Ref string
	// Pulled is true when a registry was asked (Pull, or Ensure with an
	// image that had to be pulled); false when Ensure found the image.
	Pulled bool
	// Source is the registry or mirror the image came from.
	Source string
	// Downloaded is the number of layer bytes fetched; 0 when every layer
	// was stored already.
	Downloaded int64
	// Duration is how long the caller waited, including waiting for a pull
	// of the same image another caller started (the kubelet's "Successfully
	// pulled image ... in 1.2s (1.2s including waiting)").
	Duration time.Duration
}

// Pull fetches ref from its registry (or a mirror) and makes it usable:
// blobs stored, root filesystem unpacked, ref pointing at it. Layers
// already stored are not fetched again. Concurrent pulls of one reference
// share the work. Errors are *PullError values wrapping ErrNotFound,
// ErrUnauthorized, ErrUnreachable, ErrNoMatchingPlatform or
// ErrInvalidImage, or ctx's error.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (PullResult, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return PullResult{}, err
	}
	// Different credentials must not share a pull.
	key := r.String()
	if len(opts.PullSecret) > 0 {
		sum := sha256.Sum256(opts.PullSecret)
		key += "|" + hex.EncodeToString(sum[:])
	}
	start := time.Now()
	res, _, err := s.flights.do(ctx, key, opts.Progress, func(ctx context.Context, f *flight) (PullResult, error) {
		return s.pull(ctx, r, opts.PullSecret, f.report)
	})
	if err != nil {
		return PullResult{}, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// Ensure makes ref present according to a Kubernetes pull policy: Always
// pulls; IfNotPresent pulls only if the store lacks it; Never never pulls
// and returns ErrNeverPull when the store lacks it. An empty policy is
// DefaultPullPolicy(ref).
func (s *Store) Ensure(ctx context.Context, ref string, policy PullPolicy, opts PullOptions) (PullResult, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return PullResult{}, err
	}
	if policy == "" {
		policy = DefaultPullPolicy(r)
	}
	switch policy {
	case PullAlways:
		return s.Pull(ctx, ref, opts)
	case PullIfNotPresent, PullNever:
	default:
		return PullResult{}, fmt.Errorf("image: unknown pull policy %q (want Always, IfNotPresent or Never)", policy)
	}
	img, err := s.Get(r.String())
	if err == nil && s.complete(&img) {
		return PullResult{Image: img, Ref: r.String()}, nil
	}
	if err != nil && !errors.Is(err, ErrNotPresent) {
		return PullResult{}, err
	}
	if policy == PullNever {
		return PullResult{}, fmt.Errorf("image %q: %w", r.String(), ErrNeverPull)
	}
	return s.Pull(ctx, ref, opts)
}

// source is one place to pull from: a mirror or the origin registry.
type source struct {
	ref      Reference
	insecure bool
	mirror   bool
}

// sources lists the mirrors of ref's registry, in order, then the
// registry itself.
func (s *Store) sources(r Reference) []source {
	var out []source
	for _, m := range s.mirrors[r.Registry()] {
		out = append(out, source{ref: r.withRegistry(m.host), insecure: m.insecure || s.isInsecure(m.host), mirror: true})
	}
	return append(out, source{ref: r, insecure: s.isInsecure(r.Registry())})
}

func (s *Store) pull(ctx context.Context, r Reference, secret []byte, report func(Progress)) (PullResult, error) {
	kc, err := s.keychain(secret)
	if err != nil {
		return PullResult{}, err
	}
	start := time.Now()
	var lastErr error
	for _, src := range s.sources(r) {
		res, err := s.pullFrom(ctx, r, src, kc, report)
		if err == nil {
			s.log.Info("pulled image", "ref", r.String(), "source", src.ref.Registry(), "id", res.Image.ID,
				"size", res.Image.Size, "downloaded", res.Downloaded, "duration", time.Since(start).Round(time.Millisecond))
			return res, nil
		}
		if ctx.Err() != nil {
			return PullResult{}, ctx.Err()
		}
		lastErr = err
		if src.mirror {
			s.log.Warn("registry mirror failed, trying the next source", "ref", r.String(), "mirror", src.ref.Registry(), "err", err)
		}
	}
	return PullResult{}, lastErr // the origin's error: it is the last source
}

func (s *Store) pullFrom(ctx context.Context, r Reference, src source, kc authn.Keychain, report func(Progress)) (PullResult, error) {
	fail := func(err error) error {
		kind, msg := classify(err)
		return &PullError{Ref: r.String(), Registry: src.ref.Registry(), Kind: kind, Message: msg, Err: err}
	}
	nref, err := src.ref.nameRef(src.insecure)
	if err != nil {
		return PullResult{}, fail(err)
	}
	desc, err := remote.Get(nref,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(s.transport),
		remote.WithPlatform(s.platform),
		remote.WithUserAgent(s.cfg.UserAgent),
	)
	if err != nil {
		return PullResult{}, fail(err)
	}
	img, err := desc.Image()
	if err != nil {
		if desc.MediaType.IsIndex() {
			err = fmt.Errorf("%w: %s has no image for %s: %v", ErrNoMatchingPlatform, r, s.cfg.Platform, err)
		}
		return PullResult{}, fail(err)
	}
	req := ingestRequest{
		img:         img,
		label:       r.String(),
		repoDigests: []string{r.withDigest(desc.Digest.String()).String()},
		progress:    report,
	}
	if r.Tag() != "" {
		req.tags = []string{r.String()}
	}
	res, err := s.ingest(ctx, req)
	if err != nil {
		return PullResult{}, fail(err)
	}
	return PullResult{Image: res.image, Ref: r.String(), Pulled: true, Source: src.ref.Registry(), Downloaded: res.downloaded}, nil
}
