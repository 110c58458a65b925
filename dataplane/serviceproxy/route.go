package serviceproxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EnsureServiceCIDRUnreachable makes the service CIDR an `unreachable`
// route in the main table of h's network namespace (nil: the caller's), so
// a packet to a virtual IP that escaped translation (a process outside the
// attached cgroup, a port no Service has) fails at once with EHOSTUNREACH
// instead of leaving the node. Idempotent; another route for exactly the
// CIDR is replaced.
func EnsureServiceCIDRUnreachable(h *netlink.Handle, cidr netip.Prefix) error {
	if !cidr.IsValid() {
		return fmt.Errorf("service CIDR %v is not a valid prefix", cidr)
	}
	if h == nil {
		h = &netlink.Handle{} // netlink's own package handle works the same way
	}
	cidr = cidr.Masked()
	dst := &net.IPNet{IP: cidr.Addr().AsSlice(), Mask: net.CIDRMask(cidr.Bits(), cidr.Addr().BitLen())}
	family := netlink.FAMILY_V4
	if cidr.Addr().Is6() {
		family = netlink.FAMILY_V6
	}
	want := &netlink.Route{Dst: dst, Type: unix.RTN_UNREACHABLE, Table: unix.RT_TABLE_MAIN, Family: family}
	routes, err := h.RouteListFiltered(family, want, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("list routes for service CIDR %s: %w", cidr, err)
	}
	for _, r := range routes {
		if r.Type == unix.RTN_UNREACHABLE {
			return nil
		}
	}
	if err := h.RouteReplace(want); err != nil {
		return fmt.Errorf("route service CIDR %s to unreachable: %w", cidr, err)
	}
	return nil
}

// RemoveServiceCIDRUnreachable deletes the `unreachable` route that
// EnsureServiceCIDRUnreachable added for cidr in h's namespace (nil: the
// caller's), and nothing else: a route of another type for the CIDR is not
// ours. Idempotent.
func RemoveServiceCIDRUnreachable(h *netlink.Handle, cidr netip.Prefix) error {
	if !cidr.IsValid() {
		return fmt.Errorf("service CIDR %v is not a valid prefix", cidr)
	}
	if h == nil {
		h = &netlink.Handle{}
	}
	cidr = cidr.Masked()
	dst := &net.IPNet{IP: cidr.Addr().AsSlice(), Mask: net.CIDRMask(cidr.Bits(), cidr.Addr().BitLen())}
	family := netlink.FAMILY_V4
	if cidr.Addr().Is6() {
		family = netlink.FAMILY_V6
	}
	filter := &netlink.Route{Dst: dst, Table: unix.RT_TABLE_MAIN}
	routes, err := h.RouteListFiltered(family, filter, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("list routes for service CIDR %s: %w", cidr, err)
	}
	for _, r := range routes {
		if r.Type != unix.RTN_UNREACHABLE {
			continue
		}
		if err := h.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("remove the unreachable route of service CIDR %s: %w", cidr, err)
		}
	}
	return nil
}
