package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"

	"github.com/tug-sh/tug/dataplane/podnet"
	"github.com/tug-sh/tug/runtime/container"
	"github.com/tug-sh/tug/runtime/image"
)

// Defaults of Config fields left zero.
const (
	DefaultDataDir           = "/var/lib/tug/agent"
	DefaultRunDir            = "/run/tug"
	DefaultListen            = ":10250"
	DefaultResolvConf        = "/etc/resolv.conf"
	DefaultClusterDomain     = "cluster.local"
	DefaultHeartbeatInterval = 10 * time.Second
	DefaultResyncInterval    = 30 * time.Second
	DefaultImageGCInterval   = 5 * time.Minute
	DefaultWorkers           = 16
	DefaultMaxPods           = 110
	// KubeletVersion is what the node reports as its kubelet version.
	KubeletVersion = "v1.32.0-tug"
)

// Config configures an Agent.
type Config struct {
	// RestConfig reaches the API server (the only way the agent talks to
	// the control plane). Required.
	RestConfig *rest.Config
	// NodeName is the Node this agent registers and runs pods for.
	// Required.
	NodeName string
	// NodeIP is the node's InternalIP: pods' hostIP and where the API
	// server reaches the agent. Default: the source address of the default
	// route.
	NodeIP netip.Addr
	// Listen is the address of the agent's HTTP server (logs, exec, stats,
	// healthz), default ":10250". Port 0 picks a free port, which the Node
	// then advertises.
	Listen string

	// DataDir holds everything that must survive a restart: container
	// state, IP allocations, images, pod files and logs. Default
	// /var/lib/tug/agent.
	DataDir string
	// RunDir holds the pods' network namespace pins. Default /run/tug.
	RunDir string
	// CgroupParent is the cgroup containers are created under; default
	// "tug".
	CgroupParent string
	// HostNetns is the node's network namespace (bridge, host veths);
	// empty means the agent's own. Tests give a namespace of their own.
	HostNetns string
	// Bridge is the pod bridge's name; default "tug0".
	Bridge string
	// MTU of pod interfaces; default 1500.
	MTU int
	// PodCIDR, when set, is used instead of waiting for the Node's
	// spec.podCIDR from the nodeipam controller.
	PodCIDR netip.Prefix

	// ResolvConf is the node's resolv.conf, the upstream of pods' DNS
	// configuration (default /etc/resolv.conf).
	ResolvConf string
	// ClusterDNS are the cluster DNS Service addresses for pods with
	// dnsPolicy ClusterFirst; none means pods use the upstream resolvers.
	ClusterDNS    []netip.Addr
	ClusterDomain string

	// SeccompDefault gives containers without a seccompProfile the
	// RuntimeDefault profile (the kubelet's --seccomp-default); otherwise
	// they run Unconfined, as in Kubernetes.
	SeccompDefault bool
	// Executable is the binary the container runtime re-executes for its
	// monitor and init roles; default /proc/self/exe.
	Executable string

	// InsecureRegistries are registries reached over plain HTTP or
	// without TLS verification (see runtime/image).
	InsecureRegistries []string
	// RegistryMirrors are Docker Hub mirrors.
	RegistryMirrors []string

	// MaxPods is the node's pod capacity; default 110.
	MaxPods int
	// Workers is the number of pods synced at once; default 16.
	Workers int
	// HeartbeatInterval is how often the Node's Ready condition and usage
	// are refreshed; default 10s (nodelifecycle's grace/4).
	HeartbeatInterval time.Duration
	// ResyncInterval is how often every pod is synced even without an
	// event; default 30s.
	ResyncInterval time.Duration
	// ImageGCInterval is how often unused images are collected; default
	// 5m. Negative disables it.
	ImageGCInterval time.Duration
	// ImageGCPolicy says when and how far (runtime/image's defaults: above
	// 85% disk use, down to 80%, sparing images pulled in the last 2
	// minutes).
	ImageGCPolicy image.GCPolicy

	// ServiceProxy, when set, is the node's Service data path (the eBPF
	// load balancer fed by dataplane/serviceproxy). The agent runs it and
	// reports its readiness in the Node's ServiceProxyReady condition;
	// without one that condition is False.
	ServiceProxy ServiceProxy

	Logger *slog.Logger
}

// ServiceProxy is the hook for the node's Service data path. Run programs
// Services until ctx ends; Ready says whether ClusterIPs are translated on
// this node now, and if not why.
type ServiceProxy interface {
	Run(ctx context.Context) error
	Ready() (ok bool, message string)
}

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.RunDir == "" {
		c.RunDir = DefaultRunDir
	}
	if c.CgroupParent == "" {
		c.CgroupParent = container.DefaultCgroupParent
	}
	if c.Bridge == "" {
		c.Bridge = podnet.DefaultBridge
	}
	if c.MTU == 0 {
		c.MTU = podnet.DefaultMTU
	}
	if c.ResolvConf == "" {
		c.ResolvConf = DefaultResolvConf
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = DefaultClusterDomain
	}
	if c.MaxPods == 0 {
		c.MaxPods = DefaultMaxPods
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.ResyncInterval == 0 {
		c.ResyncInterval = DefaultResyncInterval
	}
	if c.ImageGCInterval == 0 {
		c.ImageGCInterval = DefaultImageGCInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.RestConfig == nil {
		errs = append(errs, errors.New("agent: no API server configured (--server URL)"))
	}
	if c.NodeName == "" {
		errs = append(errs, errors.New("agent: the node name is empty (--node-name)"))
	}
	for _, d := range []struct{ flag, path string }{{"--data-dir", c.DataDir}, {"--run-dir", c.RunDir}} {
		if !filepath.IsAbs(d.path) || filepath.Clean(d.path) == "/" {
			errs = append(errs, fmt.Errorf("agent: %s %q must be an absolute path below /", d.flag, d.path))
		}
	}
	if c.NodeIP.IsValid() && !c.NodeIP.Is4() {
		errs = append(errs, fmt.Errorf("agent: node IP %s is not IPv4 (pods and the overlay are IPv4)", c.NodeIP))
	}
	if c.PodCIDR.IsValid() && !c.PodCIDR.Addr().Is4() {
		errs = append(errs, fmt.Errorf("agent: pod CIDR %s is not IPv4", c.PodCIDR))
	}
	if err := c.ImageGCPolicy.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("agent: %w", err))
	}
	if c.MaxPods < 1 || c.Workers < 1 {
		errs = append(errs, fmt.Errorf("agent: max pods (%d) and workers (%d) must be positive", c.MaxPods, c.Workers))
	}
	return errors.Join(errs...)
}

// Paths under DataDir.
func (c Config) containerStateDir() string { return filepath.Join(c.DataDir, "containers") }
func (c Config) ipamDir() string           { return filepath.Join(c.DataDir, "ipam") }
func (c Config) podsDir() string           { return filepath.Join(c.DataDir, "pods") }
