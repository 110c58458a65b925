package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ErrUnreachable is wrapped by every error that means no API server answered.
var ErrUnreachable = errors.New("cannot reach the API server")

// UnreachableError is a transport failure before any HTTP answer, reduced to
// the one line a user needs.
type UnreachableError struct {
	Server string // base URL of the API server
	Reason string // "connection refused", "no such host", ...
	Err    error  // the transport error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the API server at %s: %s (is \"tug server\" or \"tug up\" running? set -s or %s)",
		e.Server, e.Reason, EnvServer)
}

// Unwrap exposes both the sentinel and the transport error.
func (e *UnreachableError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }

// Explain returns err unchanged unless it is a transport failure (a
// *url.Error from client-go, or a failed dial, wrapped or not), which it
// turns into an *UnreachableError for server.
func Explain(server string, err error) error {
	if err == nil {
		return nil
	}
	var already *UnreachableError
	if errors.As(err, &already) {
		return err
	}
	if _, ok := err.(apierrors.APIStatus); ok {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &UnreachableError{Server: server, Reason: transportReason(ue.Err), Err: err}
	}
	// Streaming clients (the exec WebSocket dialer) report dial failures
	// without a *url.Error around them.
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return &UnreachableError{Server: server, Reason: transportReason(opErr), Err: err}
	}
	return err
}

// transportReason names a transport failure in a few words.
func transportReason(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("no such host %q", dnsErr.Name)
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network is unreachable"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection was closed without an answer (is it an API server?)"
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr):
		return "its TLS certificate is not trusted (" + err.Error() + ")"
	case errors.As(err, &recordErr):
		return "it does not speak TLS (use http:// instead of https://)"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	}
	msg := err.Error()
	if strings.Contains(msg, "server gave HTTP response to HTTPS client") {
		return "it does not speak TLS (use http:// instead of https://)"
	}
	return msg
}

// Message renders err the way kubectl's error handler does, without a
// trailing newline (multi-line messages keep their inner newlines):
//
//	Error from server (NotFound): pods "x" not found
//	The ReplicationController "x" is invalid: spec.replicas: Invalid value: -1: ...
//	cannot reach the API server at http://127.0.0.1:8080: connection refused (...)
//	error: anything else
func Message(err error) string {
	if err == nil {
		return ""
	}
	var unreachable *UnreachableError
	if errors.As(err, &unreachable) {
		return unreachable.Error()
	}
	var statusErr apierrors.APIStatus
	if errors.As(err, &statusErr) {
		return statusMessage(statusErr.Status())
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "error: ") {
		return msg
	}
	return "error: " + msg
}

func statusMessage(s metav1.Status) string {
	if s.Reason == metav1.StatusReasonInvalid {
		return invalidMessage(s)
	}
	switch {
	case s.Reason == metav1.StatusReasonUnauthorized:
		return fmt.Sprintf("error: You must be logged in to the server (%s)", s.Message)
	case s.Reason != "":
		return fmt.Sprintf("Error from server (%s): %s", s.Reason, statusText(s))
	default:
		return fmt.Sprintf("Error from server: %s", statusText(s))
	}
}

// statusText is what StatusError.Error() returns: the message, or a
// generic text for an empty one.
func statusText(s metav1.Status) string {
	if s.Message != "" {
		return s.Message
	}
	return (&apierrors.StatusError{ErrStatus: s}).Error()
}

// invalidMessage formats a 422 like kubectl: "The Kind "name" is invalid:"
// then one cause inline or several as a bullet list.
func invalidMessage(s metav1.Status) string {
	d := s.Details
	head := "The request is invalid"
	if d == nil {
		if s.Message != "" {
			head += ": " + s.Message
		}
		return head
	}
	if d.Kind != "" || d.Name != "" {
		head = fmt.Sprintf("The %s %q is invalid", d.Kind, d.Name)
	} else if s.Message != "" && len(d.Causes) == 0 {
		head += ": " + s.Message
	}
	var causes []string
	seen := map[string]bool{}
	for _, c := range d.Causes {
		line := fmt.Sprintf("%s: %s", c.Field, c.Message)
		if !seen[line] {
			seen[line] = true
			causes = append(causes, line)
		}
	}
	switch len(causes) {
	case 0:
		return head
	case 1:
		return head + ": " + causes[0]
	default:
		var b strings.Builder
		b.WriteString(head + ": ")
		for _, c := range causes {
			b.WriteString("\n* " + c)
		}
		return b.String()
	}
}

// WithSource prefixes the message of err with `error when VERB "SOURCE": `,
// as kubectl does for objects read from files, keeping a Status a Status so
// Message still prints its reason.
func WithSource(verb, source string, err error) error {
	if err == nil || source == "" {
		return err
	}
	var unreachable *UnreachableError
	if errors.As(err, &unreachable) {
		return err
	}
	var statusErr apierrors.APIStatus
	if errors.As(err, &statusErr) {
		s := statusErr.Status()
		if s.Reason == metav1.StatusReasonInvalid && s.Details != nil && (s.Details.Kind != "" || s.Details.Name != "") {
			return err // kubectl prints invalid objects by kind and name, not by source
		}
		s.Message = fmt.Sprintf("error when %s %q: %s", verb, source, s.Message)
		return &apierrors.StatusError{ErrStatus: s}
	}
	return fmt.Errorf("error when %s %q: %w", verb, source, err)
}
