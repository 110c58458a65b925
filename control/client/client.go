package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
)

// Options tune New. The zero value is usable.
type Options struct {
	// Warnings receives the server's "Warning:" headers, one per line, like
	// kubectl prints them; nil discards them.
	Warnings io.Writer
	// InsecureSkipTLSVerify disables certificate checks for https servers.
	InsecureSkipTLSVerify bool
	// DialTimeout bounds connection setup (not requests: watches and
	// followed logs run as long as the caller's context). Default 10s.
	DialTimeout time.Duration
	// UserAgent defaults to "tug".
	UserAgent string
}

// Client bundles the clients the CLI needs for one API server.
type Client struct {
	Server    string       // normalized base URL
	Config    *rest.Config // for executors and anything else built on client-go
	Dynamic   dynamic.Interface
	Core      corev1client.CoreV1Interface
	Discovery *discovery.DiscoveryClient
	// REST sends requests to absolute paths (Table and watch requests with
	// their own Accept headers).
	REST rest.Interface

	mapperOnce sync.Mutex
	mapper     *Mapper
}

// Config builds the client-go configuration for server (already
// normalized, see ServerURL).
func Config(server string, opts Options) *rest.Config {
	dialTimeout := opts.DialTimeout
	if dialTimeout == 0 {
		dialTimeout = 10 * time.Second
	}
	userAgent := opts.UserAgent
	if userAgent == "" {
		userAgent = "tug"
	}
	warnings := opts.Warnings
	if warnings == nil {
		warnings = io.Discard
	}
	return &rest.Config{
		Host:      server,
		UserAgent: userAgent,
		// A CLI sends a handful of requests; client-side throttling only
		// adds latency (QPS < 0 disables the limiter).
		QPS:             -1,
		Dial:            (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig: rest.TLSClientConfig{Insecure: opts.InsecureSkipTLSVerify},
		WarningHandler: rest.NewWarningWriter(warnings, rest.WarningWriterOptions{
			Deduplicate: true,
		}),
	}
}

// New builds the clients for server (already normalized, see ServerURL).
// It sends no request: the first request that fails to connect reports
// an *UnreachableError through Explain.
func New(server string, opts Options) (*Client, error) {
	cfg := Config(server, opts)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client for %s: %w", server, err)
	}
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("core/v1 client for %s: %w", server, err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client for %s: %w", server, err)
	}
	rawCfg := rest.CopyConfig(cfg)
	rawCfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	raw, err := rest.UnversionedRESTClientFor(rawCfg)
	if err != nil {
		return nil, fmt.Errorf("REST client for %s: %w", server, err)
	}
	return &Client{Server: server, Config: cfg, Dynamic: dyn, Core: core, Discovery: disc, REST: raw}, nil
}

// Mapper returns the resource mapper, discovering the server's resources on
// first use. A partial discovery failure (one API group unavailable) still
// yields a mapper for the groups that answered.
func (c *Client) Mapper(ctx context.Context) (*Mapper, error) {
	c.mapperOnce.Lock()
	defer c.mapperOnce.Unlock()
	if c.mapper != nil {
		return c.mapper, nil
	}
	groups, lists, err := c.Discovery.ServerGroupsAndResourcesWithContext(ctx)
	if err != nil && !(discovery.IsGroupDiscoveryFailedError(err) && len(lists) > 0) {
		return nil, c.Explain(fmt.Errorf("discovering the server's resources: %w", err))
	}
	c.mapper = NewMapper(groups, lists)
	return c.mapper, nil
}

// ServerVersion asks the server for /version.
func (c *Client) ServerVersion(ctx context.Context) (*version.Info, error) {
	v, err := c.Discovery.ServerVersionWithContext(ctx)
	return v, c.Explain(err)
}

// Explain turns transport failures into *UnreachableError for this server.
func (c *Client) Explain(err error) error { return Explain(c.Server, err) }

// IsUnreachable reports whether err means no API server answered.
func IsUnreachable(err error) bool { return errors.Is(err, ErrUnreachable) }
