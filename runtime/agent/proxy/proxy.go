package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/tug-sh/tug/bpf/lb"
	"github.com/tug-sh/tug/dataplane/serviceproxy"
)

// Proxy is the node's Service proxy. Run it once at a time; a new Run
// after one returned starts over (adopting what the kernel holds), as a
// restarted agent does.
type Proxy struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	ready   bool
	message string
}

// New checks cfg; nothing is loaded or watched until Run.
func New(cfg Config) (*Proxy, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Proxy{cfg: cfg, log: cfg.Logger, message: "the service proxy has not started yet"}, nil
}

// Ready reports whether Services are translated on this node as the API
// has them, and if not why (the agent's ServiceProxyReady condition).
func (p *Proxy) Ready() (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready, p.message
}

func (p *Proxy) setReady(message string) {
	p.mu.Lock()
	changed := !p.ready
	p.ready, p.message = true, message
	p.mu.Unlock()
	if changed {
		p.log.Info("service proxy ready", "status", message)
	}
}

func (p *Proxy) setNotReady(message string) {
	p.mu.Lock()
	p.ready, p.message = false, message
	p.mu.Unlock()
}

// Run loads the load balancer, routes the service CIDR nowhere and keeps
// the maps equal to the API's Services and Endpoints until ctx ends. It
// returns an error only when it cannot ever work on this node (a missing
// kernel feature; Ready then says which); the programs and maps stay in
// the kernel when it returns.
func (p *Proxy) Run(ctx context.Context) error {
	p.setNotReady("loading the eBPF Service load balancer")
	var dp *lb.Datapath
	err := p.retry(ctx, "load the eBPF Service load balancer", func() error {
		var err error
		dp, err = lb.Load(ctx, p.cfg.LB)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		p.setNotReady(fmt.Sprintf("the eBPF Service load balancer cannot run on this node: %v. ClusterIPs and NodePorts are not translated here; pods still run", err))
		return fmt.Errorf("service proxy: %w", err)
	}
	defer dp.Close() // programs stay attached, maps stay pinned
	defer p.setNotReady("the service proxy stopped (programs stay attached and translate with the last programmed state)")
	p.log.Info("eBPF Service load balancer loaded", "cgroup", dp.Cgroup(), "pins", dp.Config().PinDir)

	if err := p.retry(ctx, "route the service CIDR "+p.cfg.ServiceCIDR.String()+" unreachable", p.ensureRoute); err != nil {
		return nil // only ctx ends it
	}
	s, err := newSyncer(p, dp.Maps())
	if err != nil {
		return err
	}
	s.run(ctx)
	return nil
}

// ensureRoute makes the service CIDR unreachable in the node's namespace.
func (p *Proxy) ensureRoute() error {
	h, err := netlinkHandle(p.cfg.HostNetns)
	if err != nil {
		return err
	}
	defer h.Close()
	return serviceproxy.EnsureServiceCIDRUnreachable(h, p.cfg.ServiceCIDR)
}

// RemoveRoute undoes the service CIDR's unreachable route in the node's
// namespace (hostNetns, "" for this process's): `tug reset` calls it.
func RemoveRoute(hostNetns string, serviceCIDR netip.Prefix) error {
	h, err := netlinkHandle(hostNetns)
	if err != nil {
		return err
	}
	defer h.Close()
	return serviceproxy.RemoveServiceCIDRUnreachable(h, serviceCIDR)
}

// netlinkHandle programs the namespace bind-mounted at path ("" is ours)
// without moving any thread.
func netlinkHandle(path string) (*netlink.Handle, error) {
	if path == "" {
		return netlink.NewHandle()
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("node network namespace %s: %w", path, err)
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns)
}

// retry runs step until it succeeds, fails permanently, or ctx ends; Ready
// says what failed while it waits.
func (p *Proxy) retry(ctx context.Context, what string, step func() error) error {
	var wait time.Duration
	for {
		err := step()
		if err == nil {
			return nil
		}
		if permanent(err) || ctx.Err() != nil {
			return err
		}
		wait = nextRetry(wait)
		p.setNotReady(fmt.Sprintf("cannot %s (retrying in %s): %v", what, wait, err))
		p.log.Warn("service proxy: step failed; retrying", "step", what, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
