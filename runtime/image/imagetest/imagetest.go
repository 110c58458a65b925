package imagetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tug-sh/tug/runtime/image/imagebuild"
)

// BusyboxImage is imagebuild.Busybox: the busybox-static image.
func BusyboxImage(opts imagebuild.BusyboxOptions) (v1.Image, error) {
	return imagebuild.Busybox(context.Background(), opts)
}

// MustBusyboxImage is BusyboxImage failing the test on error.
func MustBusyboxImage(t testing.TB, opts imagebuild.BusyboxOptions) v1.Image {
	t.Helper()
	img, err := BusyboxImage(opts)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// RegistryOption configures StartRegistry.
type RegistryOption func(*registryConfig)

type registryConfig struct {
	user, password string
	tls            bool
	wrap           []func(http.Handler) http.Handler
}

// BasicAuth makes the registry demand these credentials (HTTP basic auth,
// answering 401 with a registry-style UNAUTHORIZED error otherwise).
func BasicAuth(user, password string) RegistryOption {
	return func(c *registryConfig) { c.user, c.password = user, password }
}

// TLS serves HTTPS with a self-signed certificate: clients must treat the
// registry as insecure.
func TLS() RegistryOption { return func(c *registryConfig) { c.tls = true } }

// Wrap puts a handler in front of the registry (outermost last), e.g. to
// count requests.
func Wrap(w func(http.Handler) http.Handler) RegistryOption {
	return func(c *registryConfig) { c.wrap = append(c.wrap, w) }
}

// StartRegistry serves an empty in-memory registry on a loopback port
// until the test ends and returns its host ("127.0.0.1:PORT").
func StartRegistry(t testing.TB, opts ...RegistryOption) string {
	t.Helper()
	var c registryConfig
	for _, o := range opts {
		o(&c)
	}
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if c.user != "" {
		h = basicAuth(h, c.user, c.password)
	}
	for _, w := range c.wrap {
		h = w(h)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshakes of clients that refuse the certificate
	if c.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(strings.TrimPrefix(srv.URL, "https://"), "http://")
}

func basicAuth(next http.Handler, user, password string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="tug-test-registry"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{
				"code": "UNAUTHORIZED", "message": "authentication required for tug-test-registry",
			}}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Push uploads img as host/repoTag ("busybox:1" → 127.0.0.1:PORT/busybox:1).
// opts are go-containerregistry remote options (auth, transport).
func Push(t testing.TB, host, repoTag string, img v1.Image, opts ...remote.Option) string {
	t.Helper()
	ref, err := name.ParseReference(host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref.Name()
}

// WriteDockerConfig writes dir/config.json giving user:password for host
// and returns dir (for $DOCKER_CONFIG or a configured path).
func WriteDockerConfig(t testing.TB, dir, host, user, password string) string {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// RequestLog records the requests a registry receives.
type RequestLog struct {
	mu   sync.Mutex
	reqs []string
}

// Wrap is a RegistryOption-compatible handler wrapper.
func (l *RequestLog) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// Count returns how many requests had a path containing substr (e.g.
// "/blobs/").
func (l *RequestLog) Count(method, substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reqs {
		m, p, _ := strings.Cut(r, " ")
		if (method == "" || m == method) && strings.Contains(p, substr) {
			n++
		}
	}
	return n
}

// Reset forgets the requests seen so far.
func (l *RequestLog) Reset() {
	l.mu.Lock()
	l.reqs = nil
	l.mu.Unlock()
}
