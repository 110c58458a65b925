package apitest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tug-sh/tug/control/apiserver"
	"github.com/tug-sh/tug/control/client"
	"github.com/tug-sh/tug/control/storage"
	"github.com/tug-sh/tug/control/storage/embedetcd"
)

// Env is a running API server.
type Env struct {
	// URL is the server's base URL (http://127.0.0.1:PORT).
	URL string
	// Server is the API server itself.
	Server *apiserver.Server
	// Store is the store the server uses.
	Store storage.Store
	// Etcd is the embedded member, nil when the test brought its own store.
	Etcd *embedetcd.Etcd
	// Config is a client-go config for the server (no rate limit).
	Config *rest.Config
	// Client is a clientset for the server.
	Client *kubernetes.Clientset
}

// Option adjusts what Start builds.
type Option func(*options)

type options struct {
	cfg   apiserver.Config
	store storage.Store
}

// WithServiceClusterIPRange sets the ClusterIP range.
func WithServiceClusterIPRange(p netip.Prefix) Option {
	return func(o *options) { o.cfg.ServiceClusterIPRange = p }
}

// WithServiceNodePortRange sets the NodePort range ("low-high").
func WithServiceNodePortRange(r string) Option {
	return func(o *options) { o.cfg.ServiceNodePortRange = r }
}

// WithStore makes the server use store (an external etcd, or the store of
// another Env to run two servers on one etcd) instead of starting an
// embedded etcd. The test keeps ownership of store.
func WithStore(store storage.Store) Option {
	return func(o *options) { o.store = store }
}

// WithLogger sends the server's logs to l (default: discarded).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.cfg.Logger = l }
}

// WithConfig lets the test change any other server setting; Store is set
// by Start afterwards.
func WithConfig(f func(*apiserver.Config)) Option {
	return func(o *options) { f(&o.cfg) }
}

// Start runs a server for the duration of t.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	env := &Env{Store: o.store}
	if env.Store == nil {
		e, err := embedetcd.Start(ctx, embedetcd.Config{Dir: filepath.Join(t.TempDir(), "etcd")})
		if err != nil {
			cancel()
			t.Fatalf("apitest: starting embedded etcd: %v", err)
		}
		t.Cleanup(e.Close)
		env.Etcd, env.Store = e, e.Store
	}
	cfg := o.cfg
	cfg.Store = env.Store
	srv, err := apiserver.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("apitest: starting API server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatalf("apitest: listening on loopback: %v", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("apitest: serving: %v", err)
		}
	}()
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		srv.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		hs.Close()
		<-served
		<-ran
	})
	env.URL = "http://" + ln.Addr().String()
	env.Server = srv
	if err := waitReady(ctx, env.URL); err != nil {
		t.Fatalf("apitest: %v", err)
	}
	// No overall Timeout: it would cut every watch; the server bounds
	// ordinary requests itself.
	env.Config = &rest.Config{Host: env.URL, QPS: -1}
	client.PoolConnections(env.Config)
	if env.Client, err = kubernetes.NewForConfig(env.Config); err != nil {
		t.Fatalf("apitest: building clientset: %v", err)
	}
	return env
}

// Kubeconfig writes a kubeconfig for the server into the test's temporary
// directory and returns its path (for kubectl --kubeconfig or KUBECONFIG).
func (e *Env) Kubeconfig(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	data := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: tug
  cluster:
    server: %s
contexts:
- name: tug
  context:
    cluster: tug
    namespace: default
current-context: tug
`, e.URL)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatalf("apitest: writing kubeconfig: %v", err)
	}
	return path
}

// waitReady polls /readyz until it answers 200: etcd answers and the watch
// caches are filled, so lists and watches are served from them from the
// start.
func waitReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, "GET", url+"/readyz", nil)
		if err != nil {
			return err
		}
		var last any
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the API server is not ready after 30s (last /readyz: %v)", last)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
