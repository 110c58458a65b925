package proxy

import (
	"errors"
	"net/netip"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/tug-sh/tug/bpf/lb"
)

// nodePortAddresses are the addresses a Node's NodePorts are programmed
// on: its IPv4 InternalIP and ExternalIP addresses, sorted, without
// repeats (host names and IPv6 addresses are not frontends).
func nodePortAddresses(node *v1.Node) []netip.Addr {
	if node == nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range node.Status.Addresses {
		if a.Type != v1.NodeInternalIP && a.Type != v1.NodeExternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err != nil || !ip.Is4() {
			continue
		}
		out = append(out, ip)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// permanent reports whether a failure to load the load balancer will not
// go away by retrying: the kernel or the node lacks a feature, the
// configuration is wrong, or older maps are in the way (only `tug reset`
// removes them).
func permanent(err error) bool {
	for _, sentinel := range []error{lb.ErrNoBTF, lb.ErrNoSockAddrHooks, lb.ErrNoBPFFS, lb.ErrNoCgroup2, lb.ErrIncompatibleMaps, lb.ErrInvalidConfig} {
		if errors.Is(err, sentinel) {
			return true
		}
	}
	return false
}

// Backoff between retries of a failed setup step.
const (
	minRetry = time.Second
	maxRetry = 30 * time.Second
)

// nextRetry doubles the wait after a failure, up to maxRetry.
func nextRetry(d time.Duration) time.Duration {
	if d < minRetry {
		return minRetry
	}
	return min(2*d, maxRetry)
}
