package image

import (
	"crypto/tls"
	"net"
	"net/http"
	"slices"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// hostTransport skips TLS verification for insecure registries only.
type hostTransport struct {
	secure, insecure http.RoundTripper
	isInsecure       func(host string) bool
}

func newHostTransport(isInsecure func(string) bool) *hostTransport {
	base := remote.DefaultTransport.(*http.Transport)
	insecure := base.Clone()
	insecure.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // configured insecure registries only
	return &hostTransport{secure: base.Clone(), insecure: insecure, isInsecure: isInsecure}
}

func (t *hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.isInsecure(req.URL.Host) {
		return t.insecure.RoundTrip(req)
	}
	return t.secure.RoundTrip(req)
}

// isInsecure reports whether host ("host" or "host:port") is one of the
// configured insecure registries; an entry without a port matches every
// port of its host.
func (s *Store) isInsecure(host string) bool {
	if slices.Contains(s.insecure, host) {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		return slices.Contains(s.insecure, h) || slices.Contains(s.insecure, "["+h+"]")
	}
	return false
}
