package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"k8s.io/client-go/rest"

	"github.com/tug-sh/tug/bpf/lb"
)

// Defaults of Config fields left zero.
const (
	// DefaultResyncInterval is how often the maps are compared with the
	// caches in full and repaired.
	DefaultResyncInterval = 5 * time.Minute
)

// DefaultServiceCIDR is the API server's default ClusterIP range
// (control/apiserver.DefaultServiceClusterIPRange).
var DefaultServiceCIDR = netip.MustParsePrefix("10.96.0.0/12")

// Config configures a Proxy.
type Config struct {
	// RestConfig reaches the API server. Required.
	RestConfig *rest.Config
	// NodeName is this node: its Node's addresses carry the NodePorts, and
	// Services with internalTrafficPolicy: Local keep the endpoints on it.
	// Required.
	NodeName string
	// NodeAddresses, when set, are where NodePorts are programmed instead
	// of the Node's InternalIP and ExternalIP addresses.
	NodeAddresses []netip.Addr
	// ServiceCIDR is the API server's --service-cluster-ip-range, routed
	// unreachable in the node's network namespace. Required.
	ServiceCIDR netip.Prefix
	// HostNetns is the node's network namespace (a bind-mounted nsfs
	// file); empty is this process's. Only the route goes there: the
	// programs work at the socket layer of every namespace.
	HostNetns string
	// LB says where the load balancer is pinned and which cgroup2
	// directory it attaches to (zero: /sys/fs/bpf/tug, the cgroup2 root).
	// MountBPFFS is always set: the proxy mounts bpffs when there is none.
	LB lb.Config
	// ResyncInterval is how often everything is compared and repaired;
	// default DefaultResyncInterval.
	ResyncInterval time.Duration
	// Logger default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.ResyncInterval == 0 {
		c.ResyncInterval = DefaultResyncInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.LB.MountBPFFS = true
	if c.LB.Logger == nil {
		c.LB.Logger = c.Logger.With("subsystem", "bpf")
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.RestConfig == nil {
		errs = append(errs, errors.New("service proxy: no API server configured"))
	}
	if c.NodeName == "" {
		errs = append(errs, errors.New("service proxy: the node name is empty"))
	}
	if !c.ServiceCIDR.IsValid() || !c.ServiceCIDR.Addr().Is4() {
		errs = append(errs, fmt.Errorf("service proxy: service CIDR %v: give the API server's IPv4 --service-cluster-ip-range, e.g. %s", c.ServiceCIDR, DefaultServiceCIDR))
	}
	for _, a := range c.NodeAddresses {
		if !a.Is4() {
			errs = append(errs, fmt.Errorf("service proxy: node address %s: NodePorts are IPv4 only", a))
		}
	}
	if c.ResyncInterval < 0 {
		errs = append(errs, fmt.Errorf("service proxy: resync interval %s is negative", c.ResyncInterval))
	}
	return errors.Join(errs...)
}
