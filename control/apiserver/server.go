package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tug-sh/tug/control/registry"
	"github.com/tug-sh/tug/control/storage"
)

// Defaults applied by New to a zero Config field.
const (
	DefaultMaxRequestBodyBytes  = 3 << 20 // as kube-apiserver's --max-request-bytes for JSON
	DefaultCompactionInterval   = 5 * time.Minute
	DefaultServiceNodePortRange = "30000-32767"
	DefaultRequestTimeout       = time.Minute
)

// DefaultServiceClusterIPRange is the ClusterIP range when none is given.
var DefaultServiceClusterIPRange = netip.MustParsePrefix("10.96.0.0/12")

// Config configures a Server.
type Config struct {
	// Store is where objects live (required).
	Store storage.Store
	// ServiceClusterIPRange is the range Service ClusterIPs come from
	// (default DefaultServiceClusterIPRange).
	ServiceClusterIPRange netip.Prefix
	// ServiceNodePortRange is the NodePort range, "low-high" (default
	// DefaultServiceNodePortRange).
	ServiceNodePortRange string
	// MaxRequestBodyBytes bounds request bodies; larger ones get 413
	// (default DefaultMaxRequestBodyBytes).
	MaxRequestBodyBytes int64
	// CompactionInterval is how often Run compacts etcd history to the
	// revision seen one interval earlier, as kube-apiserver does. Zero
	// means DefaultCompactionInterval; a negative value disables compaction.
	CompactionInterval time.Duration
	// RequestTimeout bounds every request but watches and pods/log and
	// pods/exec streams; a storage call still pending then is answered 503
	// (default DefaultRequestTimeout, as kube-apiserver's
	// --request-timeout).
	RequestTimeout time.Duration
	// WatchCacheSize is how many recent events the watch cache keeps per
	// resource for watches that resume from a resourceVersion (default
	// DefaultWatchCacheSize). A negative value disables the watch cache:
	// every list and watch then reads etcd.
	WatchCacheSize int
	// Logger receives the server's logs (default: discard).
	Logger *slog.Logger
	// NodeProxy says how pods/log and pods/exec reach node agents.
	NodeProxy NodeProxy
}

// NodeProxy says how the server reaches node agents (kubelet's role) for
// pods/log and pods/exec. The agent's address is the node's InternalIP and
// status.daemonEndpoints.kubeletEndpoint.Port.
type NodeProxy struct {
	// Scheme is "http" (default) or "https".
	Scheme string
	// Transport carries the proxied requests, upgrades included (default:
	// a clone of http.DefaultTransport).
	Transport http.RoundTripper
}

// Server is tug's API server.
type Server struct {
	cfg       Config
	store     storage.Store
	log       *slog.Logger
	scheme    *runtime.Scheme
	resources map[string]*resource
	ordered   []*resource
	ranges    *serviceRanges
	// caches are the watch caches by resource name (none when disabled);
	// Run runs them.
	caches map[string]*watchCache
	// cachesRunning is set once Run runs the caches: /readyz then waits
	// for them.
	cachesRunning atomic.Bool
	metrics       *metrics
	// cpuRates remembers the agents' CPU counters for the metrics API.
	cpuRates *cpuRates
	openapi  http.Handler
	handler  http.Handler
}

// New validates cfg, creates the default and kube-system namespaces if they
// are missing, and loads the Service allocation snapshots (initialising them
// on a fresh store). It refuses to start when the stored ranges differ from
// the configured ones, since that would hand out addresses twice.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("apiserver: no store configured")
	}
	if !cfg.ServiceClusterIPRange.IsValid() {
		cfg.ServiceClusterIPRange = DefaultServiceClusterIPRange
	}
	if cfg.ServiceNodePortRange == "" {
		cfg.ServiceNodePortRange = DefaultServiceNodePortRange
	}
	if cfg.MaxRequestBodyBytes <= 0 {
		cfg.MaxRequestBodyBytes = DefaultMaxRequestBodyBytes
	}
	if cfg.CompactionInterval == 0 {
		cfg.CompactionInterval = DefaultCompactionInterval
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.WatchCacheSize == 0 {
		cfg.WatchCacheSize = DefaultWatchCacheSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NodeProxy.Scheme == "" {
		cfg.NodeProxy.Scheme = "http"
	}
	if cfg.NodeProxy.Scheme != "http" && cfg.NodeProxy.Scheme != "https" {
		return nil, fmt.Errorf("apiserver: node proxy scheme %q: use http or https", cfg.NodeProxy.Scheme)
	}
	if cfg.NodeProxy.Transport == nil {
		cfg.NodeProxy.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	s := &Server{
		cfg:       cfg,
		store:     cfg.Store,
		log:       cfg.Logger,
		scheme:    registry.NewScheme(),
		resources: map[string]*resource{},
		metrics:   newMetrics(),
		cpuRates:  newCPURates(),
	}
	ranges, err := newServiceRanges(cfg.ServiceClusterIPRange, cfg.ServiceNodePortRange)
	if err != nil {
		return nil, fmt.Errorf("apiserver: %w", err)
	}
	s.ranges = ranges
	for _, r := range registry.Resources() {
		res := newResource(r)
		if r.Name == "services" {
			res.tx = &serviceAllocator{s: s}
		}
		s.resources[r.Name] = res
		s.ordered = append(s.ordered, res)
	}
	if s.openapi, err = s.buildOpenAPI(); err != nil {
		return nil, fmt.Errorf("apiserver: %w", err)
	}
	if err := s.ranges.ensure(ctx, s.store); err != nil {
		return nil, fmt.Errorf("apiserver: %w", err)
	}
	if err := s.ensureSystemNamespaces(ctx); err != nil {
		return nil, fmt.Errorf("apiserver: %w", err)
	}
	if cfg.WatchCacheSize > 0 {
		s.caches = map[string]*watchCache{}
		for _, res := range s.ordered {
			s.caches[res.Name] = newWatchCache(res, s.store, s.log, s.metrics, cfg.WatchCacheSize)
		}
	}
	s.handler = s.metrics.instrument(s.routes())
	return s, nil
}

// Handler serves the API.
func (s *Server) Handler() http.Handler { return s.handler }

// Run runs the watch caches and the background compactor until ctx
// ends, then returns nil; call it once. Serving requests does not need
// Run: without it every list and watch reads etcd. Long-lived servers
// run it, so that lists and watches are served from memory and etcd
// history does not grow forever.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	s.cachesRunning.Store(len(s.caches) > 0)
	for _, c := range s.caches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx)
		}()
	}
	if s.cfg.CompactionInterval < 0 {
		<-ctx.Done()
	} else {
		runCompactor(ctx, s.store, s.cfg.CompactionInterval, s.log)
	}
	wg.Wait()
	return nil
}
