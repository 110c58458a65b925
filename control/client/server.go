package client

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

const (
	// DefaultServer is where tug looks for the API server when neither -s nor
	// $TUG_SERVER names one: the address `tug server` and `tug up` listen on.
	DefaultServer = "http://127.0.0.1:8080"

	// EnvServer names the environment variable that replaces -s.
	EnvServer = "TUG_SERVER"
)

// ErrBadServer is returned for a server address that is neither host:port
// nor an http(s) URL.
var ErrBadServer = errors.New("invalid API server address")

// ServerURL picks the API server address: the -s/--server flag value if
// set, else $TUG_SERVER (read through getenv, which may be nil), else
// DefaultServer; and normalizes it with NormalizeServer.
func ServerURL(flag string, getenv func(string) string) (string, error) {
	s := strings.TrimSpace(flag)
	if s == "" && getenv != nil {
		s = strings.TrimSpace(getenv(EnvServer))
	}
	if s == "" {
		s = DefaultServer
	}
	return NormalizeServer(s)
}

// NormalizeServer turns what a user typed into a base URL. The seed passes
// `172.17.1.4:8080`, which means plain HTTP as it did for kubectl in 2015;
// a URL keeps its scheme. Paths other than "/" are kept (an API server may
// sit behind a prefix); a trailing slash is dropped.
func NormalizeServer(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrBadServer)
	}
	raw := s
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v (use host:port or http://host:port)", ErrBadServer, raw, unwrapURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%w %q: scheme %q is not http or https", ErrBadServer, raw, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("%w %q: no host (use host:port or http://host:port)", ErrBadServer, raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w %q: credentials, queries and fragments are not allowed", ErrBadServer, raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
