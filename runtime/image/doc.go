// Package image is a node's image store: it resolves image references,
// pulls images from registries, imports image archives, keeps their
// content by digest and unpacks each image once into a read-only root
// filesystem, the lower directory of its containers' overlays. It is the
// only user of go-containerregistry in tug, and a mechanism package: no
// Kubernetes API client, plain values in and out. The agent maps
// imagePullPolicy, imagePullSecrets and events onto it.
//
// # References
//
// ParseReference resolves names as Docker does: "nginx" is
// docker.io/library/nginx:latest, "ruo91/nginx" is docker.io/ruo91/nginx,
// "host:5000/x@sha256:..." is a reference by digest. Records and output
// spell Docker Hub "docker.io" (containerd's canonical form).
//
// # Pulling
//
// Store.Pull fetches the manifest (an index is resolved to
// Config.Platform, default linux/<GOARCH>), then the config and the
// layers it lacks (a few at once), verifying every blob's sha256 digest
// and size, and unpacks the image. Credentials come from a pull's
// PullSecret (a docker config JSON, i.e. an imagePullSecret), then from
// Config.DockerConfig, else from Docker's usual places
// (authn.DefaultKeychain: $DOCKER_CONFIG, ~/.docker/config.json,
// credential helpers). Config.InsecureRegistries are reached over plain
// HTTP or unverified HTTPS; loopback and private addresses fall back to
// plain HTTP anyway. Mirrors (Config.RegistryMirrors for Docker Hub,
// Config.Mirrors for any registry) are tried in order before the origin,
// which is the last resort; the image keeps the name asked for.
//
// Progress (bytes per layer and overall) is logged and passed to
// PullOptions.Progress every Config.ProgressInterval. Pulls of one
// reference running at once share one download; the shared pull is
// cancelled only when every caller waiting for it has given up. Failures
// are *PullError values wrapping ErrNotFound, ErrUnauthorized,
// ErrUnreachable, ErrNoMatchingPlatform or ErrInvalidImage, with the
// registry's own message (e.g. "MANIFEST_UNKNOWN: manifest unknown"), for
// the agent's ErrImagePull events. Store.Ensure applies a pull policy:
// Always, IfNotPresent, Never (ErrNeverPull when absent).
//
// # Unpacking
//
// Layers are applied bottom first into one directory, with the OCI
// whiteouts (".wh.NAME" removes NAME, ".wh..wh..opq" hides what lower
// layers put in a directory) and with hard links, symlinks, devices,
// FIFOs, modes (setuid included), ownership, extended attributes (except
// overlayfs' own trusted.overlay.* and user.overlay.*, which would steer
// the containers' overlays) and times preserved. Every path is resolved
// inside the image root with openat2(RESOLVE_IN_ROOT) (Linux 5.6), so a
// symlink in the image cannot redirect a write outside it; entries whose
// names leave the root ("../x") are refused as ErrInvalidImage. Each
// layer's uncompressed stream is checked against its diff ID. The
// directory is built in a temporary directory, synced (syncfs) and renamed
// into place: a crash or a cancelled context never leaves a half image.
//
// # The store
//
// Under Config.Root (RootIn(dataDir): the agent and `tug image` share
// it): index.json (image records, replaced atomically), blobs/sha256/,
// lowers/<image-id>/ and tmp/<session>/ (work in progress of each open
// Store, removed once its owner is gone). Processes coordinate with
// flock(2): pulls and imports hold store.lock shared, removals and garbage
// collection exclusively; index.json changes under index.lock. An image
// whose lower directory is a mounted overlay's lower layer (read from
// /proc/self/mountinfo) is never removed (ErrInUse).
//
// Store.GC is the kubelet's image garbage collection: above
// GCPolicy.HighThresholdPercent disk usage (default 85%) of the store's
// file system it removes unused images, least recently used first (Lower
// marks an image used), until usage is below LowThresholdPercent (80%),
// sparing images pulled less than MinAge (2m) ago. ChooseVictims is the
// pure decision.
//
// Subpackages: imagebuild makes the busybox-static image and docker-save
// or OCI archives without a registry (`tug image build-busybox`);
// imagetest serves an in-process registry for tests.
package image
