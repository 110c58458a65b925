package manager

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/tug-sh/tug/control/client"

	"github.com/tug-sh/tug/control/controller/nodelifecycle"
)

// Controller names, as --controllers takes them.
const (
	Scheduler     = "scheduler"
	Replication   = "replication"
	Endpoints     = "endpoints"
	NodeLifecycle = "nodelifecycle"
	NodeIPAM      = "nodeipam"
	GC            = "gc"
	Namespace     = "namespace"
)

// AllControllers lists every controller name, in start order.
func AllControllers() []string {
	return []string{NodeIPAM, NodeLifecycle, Scheduler, Replication, Endpoints, GC, Namespace}
}

// Defaults for Options fields left zero.
const (
	DefaultNodeCIDRMaskSize = 24
	DefaultResync           = time.Minute
	DefaultElectionName     = "controllers"
	DefaultLeaseDuration    = 5 * time.Second
	DefaultQPS              = 2000
	DefaultBurst            = 4000
)

// Options configures the controllers and the election.
type Options struct {
	// Config points at the API server (normally the local one). Required.
	Config *rest.Config
	// Controllers selects what runs, kube-controller-manager style: "*"
	// (every controller), "NAME" (this one), "-NAME" (not this one), e.g.
	// ["*", "-gc"]. Empty means ["*"].
	Controllers []string
	// ClusterCIDR is split into node pod CIDRs of NodeCIDRMaskSize bits
	// (DefaultNodeCIDRMaskSize when 0). Empty disables nodeipam.
	ClusterCIDR      string
	NodeCIDRMaskSize int
	// Node lifecycle timing (nodelifecycle defaults when 0).
	NodeMonitorGracePeriod time.Duration
	NodeMonitorPeriod      time.Duration
	PodEvictionTimeout     time.Duration
	NodeEvictionRate       float64
	// ResyncPeriod of the shared informers (DefaultResync when 0).
	ResyncPeriod time.Duration
	// Concurrency (each controller's default when 0).
	ConcurrentRCSyncs        int
	ConcurrentEndpointSyncs  int
	ConcurrentGCSyncs        int
	ConcurrentNamespaceSyncs int
	SchedulerBinders         int
	// QPS and Burst limit each controller's client (DefaultQPS and
	// DefaultBurst when 0; QPS < 0: unlimited).
	QPS   float32
	Burst int
	// ElectionName names the election (DefaultElectionName when empty);
	// Identity is this process in it (host name and pid when empty);
	// LeaseDuration is how long a dead leader keeps the office
	// (DefaultLeaseDuration when 0).
	ElectionName  string
	Identity      string
	LeaseDuration time.Duration
	Logger        *slog.Logger
}

// withDefaults fills zero fields.
func (o Options) withDefaults() Options {
	if len(o.Controllers) == 0 {
		o.Controllers = []string{"*"}
	}
	if o.NodeCIDRMaskSize == 0 {
		o.NodeCIDRMaskSize = DefaultNodeCIDRMaskSize
	}
	if o.NodeMonitorGracePeriod == 0 {
		o.NodeMonitorGracePeriod = nodelifecycle.DefaultGracePeriod
	}
	if o.NodeMonitorPeriod == 0 {
		o.NodeMonitorPeriod = nodelifecycle.DefaultMonitorPeriod
	}
	if o.PodEvictionTimeout == 0 {
		o.PodEvictionTimeout = nodelifecycle.DefaultEvictionTimeout
	}
	if o.ResyncPeriod == 0 {
		o.ResyncPeriod = DefaultResync
	}
	if o.QPS == 0 {
		o.QPS = DefaultQPS
	}
	if o.Burst == 0 {
		o.Burst = DefaultBurst
	}
	if o.ElectionName == "" {
		o.ElectionName = DefaultElectionName
	}
	if o.Identity == "" {
		host, _ := os.Hostname()
		o.Identity = host + "/" + strconv.Itoa(os.Getpid())
	}
	if o.LeaseDuration == 0 {
		o.LeaseDuration = DefaultLeaseDuration
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// plan is the validated form of Options.
type plan struct {
	Options
	enabled     map[string]bool
	clusterCIDR netip.Prefix
}

// validate checks the options and resolves the selection.
func (o Options) validate() (plan, error) {
	o = o.withDefaults()
	p := plan{Options: o}
	if o.Config == nil {
		return p, errors.New("manager: Options.Config (the API server to talk to) is required")
	}
	enabled, err := Select(o.Controllers)
	if err != nil {
		return p, err
	}
	if o.ClusterCIDR != "" {
		if p.clusterCIDR, err = netip.ParsePrefix(o.ClusterCIDR); err != nil {
			return p, fmt.Errorf("manager: --cluster-cidr %q is not a CIDR; give one such as 10.244.0.0/16", o.ClusterCIDR)
		}
	} else if enabled[NodeIPAM] {
		if explicitly(o.Controllers, NodeIPAM) {
			return p, errors.New("manager: the nodeipam controller needs --cluster-cidr")
		}
		delete(enabled, NodeIPAM) // "*" without a cluster CIDR: nothing to allocate
	}
	if o.PodEvictionTimeout < 0 || o.NodeMonitorGracePeriod < 0 || o.NodeMonitorPeriod < 0 {
		return p, errors.New("manager: node monitor grace period, monitor period and pod eviction timeout must not be negative")
	}
	p.enabled = enabled
	return p, nil
}

// Select resolves a --controllers list to the set of enabled controllers:
// a controller runs if it is named, or "*" is given and "-NAME" is not.
// Unknown names are an error.
func Select(spec []string) (map[string]bool, error) {
	known := map[string]bool{}
	for _, n := range AllControllers() {
		known[n] = true
	}
	star := false
	on, off := map[string]bool{}, map[string]bool{}
	for _, item := range spec {
		for _, s := range strings.Split(item, ",") {
			s = strings.TrimSpace(s)
			switch {
			case s == "":
			case s == "*":
				star = true
			case strings.HasPrefix(s, "-") && known[s[1:]]:
				off[s[1:]] = true
			case known[s]:
				on[s] = true
			default:
				return nil, fmt.Errorf("manager: unknown controller %q in --controllers; known: *, %s (prefix a name with - to disable it)",
					s, strings.Join(AllControllers(), ", "))
			}
		}
	}
	enabled := map[string]bool{}
	for _, n := range AllControllers() {
		if off[n] {
			continue
		}
		if on[n] || star {
			enabled[n] = true
		}
	}
	return enabled, nil
}

func explicitly(spec []string, name string) bool {
	for _, item := range spec {
		for _, s := range strings.Split(item, ",") {
			if strings.TrimSpace(s) == name {
				return true
			}
		}
	}
	return false
}

// clientConfig is the config of one controller's client.
func (p plan) clientConfig(name string) *rest.Config {
	c := rest.CopyConfig(p.Config)
	c.QPS, c.Burst = p.QPS, p.Burst
	c.UserAgent = "tug-controller-manager/" + name
	client.PoolConnections(c)
	return c
}

// streamConfig is clientConfig without an overall request timeout, for
// clients that watch.
func (p plan) streamConfig(name string) *rest.Config {
	c := p.clientConfig(name)
	c.Timeout = 0
	return c
}
