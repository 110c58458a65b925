package image

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Config configures a Store.
type Config struct {
	// Root is the store's directory, e.g. RootIn("/var/lib/tug/agent").
	Root string
	// Logger receives pull progress and warnings; nil discards.
	Logger *slog.Logger

	// InsecureRegistries are hosts ("host" or "host:port") reached over
	// plain HTTP when HTTPS fails, and over HTTPS without verifying the
	// certificate. Loopback and RFC 1918 addresses fall back to plain HTTP
	// anyway, as in Docker.
	InsecureRegistries []string
	// RegistryMirrors are tried, in order, before Docker Hub for images on
	// Docker Hub: "https://mirror.example", "http://10.0.0.1:5000" (plain
	// HTTP) or "host:5000". The origin is the last resort.
	RegistryMirrors []string
	// Mirrors are mirrors of other registries, by registry host. Mirrors
	// of "docker.io" are added after RegistryMirrors.
	Mirrors map[string][]string
	// DockerConfig is the docker config.json with registry credentials
	// (the file, or the directory holding config.json). Empty: Docker's
	// usual places ($DOCKER_CONFIG, ~/.docker/config.json, podman's
	// auth.json), including credential helpers.
	DockerConfig string

	// Platform selects the image from a multi-platform index: "os/arch"
	// or "os/arch/variant". Default "linux/" + runtime.GOARCH.
	Platform string
	// ProgressInterval is how often pull progress is logged and reported.
	// Default 1s.
	ProgressInterval time.Duration
	// MaxConcurrentDownloads is the number of layers downloaded at once.
	// Default 3.
	MaxConcurrentDownloads int
	// UserAgent is sent to registries. Default "tug".
	UserAgent string
}

// DefaultDataDir is the agent's data directory; the store is RootIn of it.
const DefaultDataDir = "/var/lib/tug/agent"

// RootIn is the store directory inside a node agent's data directory, so
// the agent and `tug image` agree on it.
func RootIn(dataDir string) string { return filepath.Join(dataDir, "images") }

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Platform == "" {
		c.Platform = "linux/" + runtime.GOARCH
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	if c.MaxConcurrentDownloads <= 0 {
		c.MaxConcurrentDownloads = 3
	}
	if c.UserAgent == "" {
		c.UserAgent = "tug"
	}
	return c
}

func parsePlatform(s string) (v1.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return v1.Platform{}, fmt.Errorf("image: platform %q: want os/arch or os/arch/variant, e.g. linux/amd64", s)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// mirror is one parsed mirror: a registry host and whether to use plain
// HTTP.
type mirror struct {
	host     string
	insecure bool
}

// parseMirror accepts "https://host[:port]", "http://host[:port]" and
// "host[:port]". Mirrors with a path are refused: the path would be lost.
func parseMirror(s string) (mirror, error) {
	raw := s
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return mirror{}, fmt.Errorf("image: registry mirror %q: want https://host[:port], http://host[:port] or host[:port]", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return mirror{}, fmt.Errorf("image: registry mirror %q: scheme must be http or https", raw)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		return mirror{}, fmt.Errorf("image: registry mirror %q: a path (%q) is not supported; mirror the registry at its root", raw, p)
	}
	return mirror{host: u.Host, insecure: u.Scheme == "http"}, nil
}

// mirrorTable maps a familiar registry host to its mirrors, in order.
func mirrorTable(c Config) (map[string][]mirror, error) {
	out := map[string][]mirror{}
	add := func(registry string, list []string) error {
		key := familiarRegistry(registry)
		for _, s := range list {
			m, err := parseMirror(s)
			if err != nil {
				return err
			}
			out[key] = append(out[key], m)
		}
		return nil
	}
	if err := add(dockerHub, c.RegistryMirrors); err != nil {
		return nil, err
	}
	// Docker Hub's own list first, then the others in a stable order.
	keys := make([]string, 0, len(c.Mirrors))
	for k := range c.Mirrors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := add(k, c.Mirrors[k]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PullPolicy is a Kubernetes imagePullPolicy.
type PullPolicy string

const (
	PullAlways       PullPolicy = "Always"
	PullIfNotPresent PullPolicy = "IfNotPresent"
	PullNever        PullPolicy = "Never"
)

// DefaultPullPolicy is Kubernetes' default for a container without one:
// Always for the tag latest (or no tag), else IfNotPresent.
func DefaultPullPolicy(ref Reference) PullPolicy {
	if ref.Digest() == "" && ref.Tag() == "latest" {
		return PullAlways
	}
	return PullIfNotPresent
}
