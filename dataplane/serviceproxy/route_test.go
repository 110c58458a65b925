package serviceproxy

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/tug-sh/tug/bpf/lb/lbtest"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestEnsureServiceCIDRUnreachable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) for a network namespace")
	}
	ns := lbtest.NewNetns(t)
	h := ns.Netlink()
	// Someone routed the CIDR somewhere: it is replaced.
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	_, dst, _ := net.ParseCIDR(serviceCIDR.String())
	if err := h.RouteAdd(&netlink.Route{Dst: dst, LinkIndex: lo.Attrs().Index}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := EnsureServiceCIDRUnreachable(h, netip.MustParsePrefix("10.96.1.2/16")); err != nil {
			t.Fatal(err)
		}
	}
	routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: dst, Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 1 || routes[0].Type != unix.RTN_UNREACHABLE {
		t.Fatalf("routes for %s: %+v, want one unreachable route", serviceCIDR, routes)
	}
	err = ns.Do(func() error {
		c, err := net.DialTimeout("tcp4", "10.96.0.10:80", 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	if !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Fatalf("connect to a VIP without translation: %v, want EHOSTUNREACH", err)
	}
	if err := EnsureServiceCIDRUnreachable(h, netip.Prefix{}); err == nil {
		t.Fatal("an invalid prefix was accepted")
	}

	// Removing it (twice: idempotent) leaves no route for the CIDR, and
	// leaves a route of another type alone.
	for range 2 {
		if err := RemoveServiceCIDRUnreachable(h, serviceCIDR); err != nil {
			t.Fatal(err)
		}
	}
	if routes, _ = h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: dst, Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE); len(routes) != 0 {
		t.Fatalf("routes left for %s: %+v", serviceCIDR, routes)
	}
	if err := h.RouteAdd(&netlink.Route{Dst: dst, LinkIndex: lo.Attrs().Index}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveServiceCIDRUnreachable(h, serviceCIDR); err != nil {
		t.Fatal(err)
	}
	if routes, _ = h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: dst, Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE); len(routes) != 1 {
		t.Fatalf("someone else's route for %s was removed: %+v", serviceCIDR, routes)
	}
}
