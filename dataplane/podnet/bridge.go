package podnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/tug-sh/tug/dataplane/internal/nsutil"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EnsureBridge makes the node's bridge exist with Config's name, MTU and
// gateway address (and no other IPv4 address), a stable MAC, and up, and
// turns on IPv4 forwarding in the node namespace. It is idempotent.
//
// The MAC is fixed because a bridge otherwise takes the lowest MAC of its
// ports, which changes as pods come and go and leaves stale gateway entries
// in the pods' ARP caches.
func (n *Node) EnsureBridge(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name, mtu := n.cfg.bridge(), n.cfg.mtu()
	mac := stableMAC("tug-bridge/" + name)
	br, err := linkByName(n.host, name)
	if err != nil {
		return fmt.Errorf("podnet: %w", err)
	}
	if br == nil {
		err := n.host.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: mtu, HardwareAddr: mac}})
		if err != nil && !errors.Is(err, unix.EEXIST) {
			if errors.Is(err, unix.EOPNOTSUPP) {
				return fmt.Errorf("podnet: create bridge %s: the kernel lacks bridge support (CONFIG_BRIDGE): %w", name, err)
			}
			return fmt.Errorf("podnet: create bridge %s: %w", name, err)
		}
		if br, err = n.host.LinkByName(name); err != nil {
			return fmt.Errorf("podnet: look up bridge %s after creating it: %w", name, err)
		}
		n.log.Info("created bridge", "bridge", name, "gateway", n.cfg.Gateway.String(), "mtu", mtu)
	}
	if br.Type() != "bridge" {
		return fmt.Errorf("podnet: link %s exists but is a %s, not a bridge: delete or rename it, or configure another bridge name", name, br.Type())
	}
	if br.Attrs().MTU != mtu {
		if err := n.host.LinkSetMTU(br, mtu); err != nil {
			return fmt.Errorf("podnet: set MTU %d on %s: %w", mtu, name, err)
		}
	}
	if !bytes.Equal(br.Attrs().HardwareAddr, mac) {
		if err := n.host.LinkSetHardwareAddr(br, mac); err != nil {
			return fmt.Errorf("podnet: set MAC on %s: %w", name, err)
		}
	}
	if err := ensureOnlyAddr(n.host, br, n.cfg.Gateway.String()); err != nil {
		return fmt.Errorf("podnet: bridge %s: %w", name, err)
	}
	if br.Attrs().Flags&net.FlagUp == 0 {
		if err := n.host.LinkSetUp(br); err != nil {
			return fmt.Errorf("podnet: set %s up: %w", name, err)
		}
	}
	if err := nsutil.SetSysctl(n.hostNs, "net/ipv4/ip_forward", "1"); err != nil {
		return fmt.Errorf("podnet: enable IPv4 forwarding in the node namespace: %w", err)
	}
	return nil
}

// ensureOnlyAddr gives link the IPv4 address cidr (e.g. "10.244.1.1/24")
// and removes its other IPv4 addresses.
func ensureOnlyAddr(h *netlink.Handle, link netlink.Link, cidr string) error {
	want, err := netlink.ParseAddr(cidr)
	if err != nil {
		return fmt.Errorf("parse address %s: %w", cidr, err)
	}
	addrs, err := nsutil.Dump(func() ([]netlink.Addr, error) { return h.AddrList(link, netlink.FAMILY_V4) })
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	have := false
	for _, a := range addrs {
		if a.IPNet.String() == want.IPNet.String() {
			have = true
			continue
		}
		if err := h.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("remove stale address %s: %w", a.IPNet, err)
		}
	}
	if !have {
		if err := h.AddrReplace(link, want); err != nil {
			return fmt.Errorf("add address %s: %w", cidr, err)
		}
	}
	return nil
}
