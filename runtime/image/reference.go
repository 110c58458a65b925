package image

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is how references to Docker Hub are written in records and
// output ("docker.io/library/nginx:latest"), as containerd and crictl do.
// go-containerregistry spells the registry index.docker.io.
const dockerHub = "docker.io"

// Reference is an image reference resolved the way Docker resolves what
// users write: a missing registry is Docker Hub, a missing namespace on
// Docker Hub is library/, a missing tag is latest.
type Reference struct {
	registry   string // host[:port]; "docker.io" for Docker Hub
	repository string // path inside the registry, e.g. "library/nginx"
	tag        string // "" when digest is set
	digest     string // "sha256:..." or ""
}

// ParseReference resolves s: "nginx" is docker.io/library/nginx:latest,
// "ruo91/nginx:latest", "gcr.io/google_containers/kube-ui:v3",
// "host:5000/x@sha256:...", "127.0.0.1:5000/x:tag". A reference with both a
// tag and a digest ("x:1@sha256:...") is the digest: the tag is ignored,
// as Docker does.
func ParseReference(s string) (Reference, error) {
	if s == "" {
		return Reference{}, fmt.Errorf("%w: empty image name", ErrInvalidReference)
	}
	if strings.TrimSpace(s) != s || strings.ContainsAny(s, " \t\n") {
		return Reference{}, fmt.Errorf("%w %q: contains white space", ErrInvalidReference, s)
	}
	r, err := name.ParseReference(s)
	if err != nil {
		return Reference{}, fmt.Errorf("%w %q: %v (expected [registry[:port]/]repository[:tag|@sha256:digest], e.g. nginx, gcr.io/google_containers/kube-ui:v3)",
			ErrInvalidReference, s, err)
	}
	out := fromName(r)
	for _, c := range strings.Split(out.repository, "/") {
		if !pathComponent.MatchString(c) {
			return Reference{}, fmt.Errorf("%w %q: repository path component %q must be lowercase letters and digits, separated by '.', '_', '__' or dashes", ErrInvalidReference, s, c)
		}
	}
	return out, nil
}

// pathComponent is a repository path component of the distribution
// reference grammar (go-containerregistry accepts empty ones, "a//b").
var pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)

func fromName(r name.Reference) Reference {
	out := Reference{
		registry:   familiarRegistry(r.Context().RegistryStr()),
		repository: r.Context().RepositoryStr(),
	}
	switch v := r.(type) {
	case name.Digest:
		out.digest = v.DigestStr()
	case name.Tag:
		out.tag = v.TagStr()
	}
	return out
}

// familiarRegistry spells Docker Hub the way users and Kubernetes do.
func familiarRegistry(host string) string {
	switch host {
	case name.DefaultRegistry, "docker.io", "registry-1.docker.io":
		return dockerHub
	}
	return host
}

// Registry is the registry host[:port]; Docker Hub is "docker.io".
func (r Reference) Registry() string { return r.registry }

// Repository is the full repository name: "docker.io/library/nginx".
func (r Reference) Repository() string { return r.registry + "/" + r.repository }

// Path is the repository inside its registry: "library/nginx".
func (r Reference) Path() string { return r.repository }

// Tag is the tag, or "" for a reference by digest.
func (r Reference) Tag() string { return r.tag }

// Digest is the manifest digest of a reference by digest, or "".
func (r Reference) Digest() string { return r.digest }

// IsZero reports whether r is the zero Reference.
func (r Reference) IsZero() bool { return r.registry == "" }

// String is the canonical form: "docker.io/library/nginx:latest" or
// "host:5000/x@sha256:...".
func (r Reference) String() string {
	if r.digest != "" {
		return r.Repository() + "@" + r.digest
	}
	return r.Repository() + ":" + r.tag
}

// withRegistry is r served by another registry (a mirror).
func (r Reference) withRegistry(host string) Reference {
	r.registry = familiarRegistry(host)
	return r
}

// withDigest is the reference by digest to r's repository.
func (r Reference) withDigest(d string) Reference {
	r.tag, r.digest = "", d
	return r
}

// nameRef converts r for go-containerregistry; insecure lets it fall back
// to plain HTTP for this registry.
func (r Reference) nameRef(insecure bool) (name.Reference, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(r.String(), opts...)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrInvalidReference, r.String(), err)
	}
	return ref, nil
}
