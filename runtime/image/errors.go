package image

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Sentinel errors. Pull errors are *PullError values that wrap one of the
// first four together with the registry's own message.
var (
	// ErrNotFound: the registry has no such repository, tag or digest.
	ErrNotFound = errors.New("image not found in registry")
	// ErrUnauthorized: the registry refused the credentials, or wants some.
	ErrUnauthorized = errors.New("registry denied access")
	// ErrUnreachable: the registry could not be reached (DNS, connection,
	// TLS handshake or certificate).
	ErrUnreachable = errors.New("registry unreachable")
	// ErrNoMatchingPlatform: the image index has no image for this node's
	// platform.
	ErrNoMatchingPlatform = errors.New("no image for this platform")

	// ErrInvalidReference: the image name cannot be parsed.
	ErrInvalidReference = errors.New("invalid image reference")
	// ErrInvalidImage: the content is not a usable container image: a
	// digest mismatch, an unsupported media type, a layer entry escaping
	// the root, another operating system.
	ErrInvalidImage = errors.New("invalid image")
	// ErrNotPresent: the store has no image for the reference.
	ErrNotPresent = errors.New("image not present")
	// ErrNeverPull: Ensure with PullNever and the image is not present
	// (the kubelet's ErrImageNeverPull). It also matches ErrNotPresent.
	ErrNeverPull = fmt.Errorf("%w with pull policy of Never", ErrNotPresent)
	// ErrInUse: the image's root filesystem is the lower layer of a
	// mounted overlay (a container uses it).
	ErrInUse = errors.New("image in use")
)

// PullError is a failed pull: which image, from which registry, why (Kind,
// one of ErrNotFound, ErrUnauthorized, ErrUnreachable,
// ErrNoMatchingPlatform or ErrInvalidImage, or nil when unclassified) and
// what the registry said (Message).
type PullError struct {
	Ref      string // canonical reference
	Registry string // the registry (or mirror) whose answer is reported
	Kind     error
	Message  string // the registry's message, e.g. "MANIFEST_UNKNOWN: manifest unknown"
	Err      error  // underlying error
}

func (e *PullError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pull %s", e.Ref)
	if e.Registry != "" && !strings.HasPrefix(e.Ref, e.Registry+"/") {
		fmt.Fprintf(&b, " from %s", e.Registry)
	}
	if e.Kind != nil {
		fmt.Fprintf(&b, ": %v", e.Kind)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// Unwrap lets errors.Is match Kind and the underlying error.
func (e *PullError) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// classify turns an error of go-containerregistry or the network into a
// sentinel and the text to show. Cancellation of ctx is not classified.
func classify(err error) (kind error, message string) {
	var terr *transport.Error
	if errors.As(err, &terr) {
		if terr.StatusCode == http.StatusBadRequest && strings.Contains(terr.Error(), "HTTP request to an HTTPS server") {
			// HTTPS failed (for a loopback or private address
			// go-containerregistry then tries plain HTTP, which reached
			// the TLS port): almost always an untrusted certificate.
			return ErrUnreachable, "the registry serves HTTPS with a certificate this node does not trust " +
				"(and plain HTTP reached its TLS port); trust its CA or list it as an insecure registry"
		}
		return classifyStatus(terr), registryMessage(terr)
	}
	for _, k := range []error{ErrNoMatchingPlatform, ErrInvalidImage, ErrInvalidReference} {
		if errors.Is(err, k) {
			return k, strings.TrimPrefix(err.Error(), k.Error()+": ")
		}
	}
	if errors.Is(err, context.Canceled) {
		return nil, err.Error()
	}
	if unreachable(err) {
		return ErrUnreachable, err.Error()
	}
	return nil, err.Error()
}

func classifyStatus(terr *transport.Error) error {
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
			return ErrNotFound
		case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
			return ErrUnauthorized
		}
	}
	switch terr.StatusCode {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	}
	return nil
}

// registryMessage is what the registry said, without the request line
// go-containerregistry prefixes (it may carry a token in the URL).
func registryMessage(terr *transport.Error) string {
	if len(terr.Errors) == 0 {
		msg := terr.Error()
		if terr.Request != nil {
			// Drop "GET https://...: "; the reference is reported separately.
			if i := strings.Index(msg, ": "); i >= 0 {
				msg = msg[i+2:]
			}
		}
		return msg
	}
	parts := make([]string, 0, len(terr.Errors))
	for _, d := range terr.Errors {
		parts = append(parts, d.String())
	}
	return strings.Join(parts, "; ")
}

func unreachable(err error) bool {
	var (
		dnsErr   *net.DNSError
		opErr    *net.OpError
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		recErr   tls.RecordHeaderError
	)
	return errors.As(err, &dnsErr) || errors.As(err, &opErr) || errors.As(err, &certErr) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &recErr) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, context.DeadlineExceeded)
}
