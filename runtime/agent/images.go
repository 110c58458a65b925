package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/tug-sh/tug/runtime/image"
)

// pulledImage is an image ready to run a container from.
type pulledImage struct {
	// ref is the canonical reference (the container status's image).
	ref string
	// imageID is the repository digest reference, or the config digest
	// for an image without one (the container status's imageID).
	imageID string
	// configID is the image's ID, the config digest.
	configID string
	lower    string
	config   imageConfig
}

// ensureImage makes the container's image present per its
// imagePullPolicy, with the kubelet's events (Pulling, Pulled, Failed,
// BackOff) and waiting reasons (ErrImagePull, then ImagePullBackOff while
// the pull backoff runs; ErrImageNeverPull; InvalidImageName). ok is false
// when the container cannot start now.
func (a *Agent) ensureImage(ctx context.Context, ps *podState, pod *v1.Pod, c *v1.Container) (pulledImage, bool) {
	ref, err := image.ParseReference(c.Image)
	if err != nil {
		a.setWaiting(ps, c.Name, reasonInvalidImageName, fmt.Sprintf("Failed to apply default image tag %q: %v", c.Image, err))
		a.containerEvent(pod, c, v1.EventTypeWarning, "InspectFailed", "Failed to apply default image tag %q: %v", c.Image, err)
		return pulledImage{}, false
	}
	policy := image.PullPolicy(c.ImagePullPolicy)
	if policy == "" {
		policy = image.DefaultPullPolicy(ref)
	}
	canonical := ref.String()
	present := false
	if img, err := a.images.Get(canonical); err == nil && img.ID != "" {
		present = true
	}
	switch {
	case policy == image.PullNever && !present:
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
		a.setWaiting(ps, c.Name, reasonErrImageNeverPull, msg)
		a.containerEvent(pod, c, v1.EventTypeWarning, reasonErrImageNeverPull, "%s", msg)
		return pulledImage{}, false
	case policy == image.PullAlways || !present:
		if f, failed := ps.pullFailures[canonical]; failed {
			if wait, _ := f.backoff.inBackoff(f.at, time.Now()); wait {
				a.setWaiting(ps, c.Name, reasonImagePullBackOff, fmt.Sprintf("Back-off pulling image %q: %s", c.Image, f.message))
				a.containerEvent(pod, c, v1.EventTypeNormal, "BackOff", "Back-off pulling image %q", c.Image)
				return pulledImage{}, false
			}
		}
		a.containerEvent(pod, c, v1.EventTypeNormal, "Pulling", "Pulling image %q", c.Image)
		start := time.Now()
		res, err := a.images.Ensure(ctx, canonical, policy, image.PullOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return pulledImage{}, false
			}
			msg := pullErrorMessage(err)
			f := ps.pullFailures[canonical]
			now := time.Now()
			ps.mu.Lock()
			ps.pullFailures[canonical] = pullFailure{at: now, message: reasonErrImagePull + ": " + msg, backoff: f.backoff.next(now)}
			ps.mu.Unlock()
			a.setWaiting(ps, c.Name, reasonErrImagePull, msg)
			a.containerEvent(pod, c, v1.EventTypeWarning, "Failed", "Failed to pull image %q: %s", c.Image, msg)
			a.containerEvent(pod, c, v1.EventTypeWarning, "Failed", "Error: %s", reasonErrImagePull)
			return pulledImage{}, false
		}
		ps.mu.Lock()
		delete(ps.pullFailures, canonical)
		ps.mu.Unlock()
		if res.Pulled {
			a.containerEvent(pod, c, v1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %s (%s including waiting). Image size: %d bytes.",
				c.Image, time.Since(start).Round(time.Millisecond), res.Duration.Round(time.Millisecond), res.Image.Size)
		} else {
			a.containerEvent(pod, c, v1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.Image)
		}
	default:
		a.containerEvent(pod, c, v1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.Image)
	}
	return a.imageFor(ctx, ps, pod, c, canonical)
}

// imageFor reads what a container needs of a present image.
func (a *Agent) imageFor(ctx context.Context, ps *podState, pod *v1.Pod, c *v1.Container, canonical string) (pulledImage, bool) {
	img, err := a.images.Get(canonical)
	var lower string
	if err == nil {
		lower, err = a.lowerDir(ctx, canonical, img.ID)
	}
	if err != nil {
		a.setWaiting(ps, c.Name, reasonCreateContainerErr, err.Error())
		a.containerEvent(pod, c, v1.EventTypeWarning, "Failed", "Error: %v", err)
		return pulledImage{}, false
	}
	id := img.ID
	if d, err := a.images.RepoDigest(canonical); err == nil && d != "" {
		id = d
	}
	cfg := img.Config
	return pulledImage{
		ref: canonical, imageID: id, configID: img.ID, lower: lower,
		config: imageConfig{Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: cfg.WorkingDir, User: cfg.User},
	}, true
}

// pullErrorMessage is what users see of a failed pull: the store's error,
// which names the image and carries the registry's message.
func pullErrorMessage(err error) string {
	var pe *image.PullError
	if errors.As(err, &pe) {
		return pe.Error()
	}
	return err.Error()
}

// lowerRefresh is how often an image in use has its last-used time (for
// image GC) refreshed.
const lowerRefresh = 10 * time.Minute

// lowerDir returns the image's read-only root filesystem. The store's
// Lower also records the image as used now, a locked and synced index
// write; starting many containers of one image at once would queue on
// it, so the path is cached and the use recorded at most every
// lowerRefresh per image.
func (a *Agent) lowerDir(ctx context.Context, ref, id string) (string, error) {
	a.lowersMu.Lock()
	cached, ok := a.lowers[id]
	a.lowersMu.Unlock()
	if ok && time.Since(cached.at) < lowerRefresh {
		if _, err := os.Stat(cached.dir); err == nil {
			return cached.dir, nil
		}
	}
	dir, err := a.images.Lower(ctx, ref)
	if err != nil {
		return "", err
	}
	a.lowersMu.Lock()
	a.lowers[id] = lowerEntry{dir: dir, at: time.Now()}
	a.lowersMu.Unlock()
	return dir, nil
}

type lowerEntry struct {
	dir string
	at  time.Time
}
