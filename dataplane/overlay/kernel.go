package overlay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/tug-sh/tug/dataplane/internal/nsutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// kernel is what the reconciler needs from the kernel. netlinkKernel is the
// real one; unit tests drive Reconcile with an in-memory one.
type kernel interface {
	ensureDevice(ctx context.Context, spec deviceSpec) (Device, error)
	read(ctx context.Context, dev Device) (State, error)
	apply(ctx context.Context, dev Device, op Op) error
	close() error
}

// deviceSpec is the vxlan device as it should be.
type deviceSpec struct {
	name  string
	vni   int
	port  int
	local netip.Addr // underlay address
	mtu   int        // 0: underlay MTU - Overhead
	mac   net.HardwareAddr
	addr  netip.Prefix // the node's vxlan address, /32
}

// Device describes the vxlan device as programmed.
type Device struct {
	Name  string
	Index int
	MAC   net.HardwareAddr
	MTU   int
	// UnderlayLink carries UnderlayIP; its MTU less Overhead is the
	// default device (and pod) MTU.
	UnderlayLink string
	UnderlayMTU  int
}

type netlinkKernel struct {
	ns  netns.NsHandle
	h   *netlink.Handle
	log *slog.Logger
}

func newNetlinkKernel(path string, log *slog.Logger) (*netlinkKernel, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("overlay: open network namespace %s: %w", path, err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("overlay: netlink handle in %s: %w", path, err)
	}
	return &netlinkKernel{ns: ns, h: h, log: log}, nil
}

func (k *netlinkKernel) close() error {
	k.h.Close()
	return k.ns.Close()
}

// underlay finds the link that holds addr.
func (k *netlinkKernel) underlay(addr netip.Addr) (netlink.Link, error) {
	addrs, err := nsutil.Dump(func() ([]netlink.Addr, error) { return k.h.AddrList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == addr {
			l, err := k.h.LinkByIndex(a.LinkIndex)
			if err != nil {
				return nil, fmt.Errorf("look up the link of %s: %w", addr, err)
			}
			return l, nil
		}
	}
	return nil, fmt.Errorf("underlay address %s is not assigned to any interface in the node's network namespace: pass the node's InternalIP", addr)
}

func (k *netlinkKernel) ensureDevice(ctx context.Context, spec deviceSpec) (Device, error) {
	if err := ctx.Err(); err != nil {
		return Device{}, err
	}
	ul, err := k.underlay(spec.local)
	if err != nil {
		return Device{}, err
	}
	mtu := spec.mtu
	if mtu == 0 {
		mtu = ul.Attrs().MTU - Overhead
	}
	link, err := k.h.LinkByName(spec.name)
	var nf netlink.LinkNotFoundError
	switch {
	case errors.As(err, &nf):
		link = nil
	case err != nil:
		return Device{}, fmt.Errorf("look up %s: %w", spec.name, err)
	}
	if link != nil {
		if why := conflict(link, spec, ul.Attrs().Index); why != "" {
			k.log.Warn("re-creating vxlan device", "device", spec.name, "reason", why)
			if err := k.h.LinkDel(link); err != nil {
				return Device{}, fmt.Errorf("delete %s (%s): %w", spec.name, why, err)
			}
			link = nil
		}
	}
	if link == nil {
		vx := &netlink.Vxlan{
			LinkAttrs:    netlink.LinkAttrs{Name: spec.name, MTU: mtu, HardwareAddr: spec.mac},
			VxlanId:      spec.vni,
			VtepDevIndex: ul.Attrs().Index,
			SrcAddr:      net.IP(spec.local.AsSlice()),
			Port:         spec.port,
			Learning:     false,
		}
		if err := k.h.LinkAdd(vx); err != nil {
			switch {
			case errors.Is(err, unix.EOPNOTSUPP):
				return Device{}, fmt.Errorf("create vxlan device %s: the kernel lacks vxlan support (CONFIG_VXLAN): %w", spec.name, err)
			case errors.Is(err, unix.EEXIST), errors.Is(err, unix.EADDRINUSE):
				return Device{}, fmt.Errorf("create vxlan device %s: another device already uses VNI %d on UDP port %d here: %w", spec.name, spec.vni, spec.port, err)
			}
			return Device{}, fmt.Errorf("create vxlan device %s: %w", spec.name, err)
		}
		if link, err = k.h.LinkByName(spec.name); err != nil {
			return Device{}, fmt.Errorf("look up %s after creating it: %w", spec.name, err)
		}
		k.log.Info("created vxlan device", "device", spec.name, "vni", spec.vni, "port", spec.port, "local", spec.local.String(), "mac", spec.mac.String(), "mtu", mtu)
	}
	if link.Attrs().MTU != mtu {
		if err := k.h.LinkSetMTU(link, mtu); err != nil {
			return Device{}, fmt.Errorf("set MTU %d on %s: %w", mtu, spec.name, err)
		}
	}
	if !bytes.Equal(link.Attrs().HardwareAddr, spec.mac) {
		if err := k.h.LinkSetHardwareAddr(link, spec.mac); err != nil {
			return Device{}, fmt.Errorf("set MAC %s on %s: %w", spec.mac, spec.name, err)
		}
	}
	if err := k.ensureOnlyAddr(link, spec.addr); err != nil {
		return Device{}, fmt.Errorf("%s: %w", spec.name, err)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := k.h.LinkSetUp(link); err != nil {
			return Device{}, fmt.Errorf("set %s up: %w", spec.name, err)
		}
	}
	return Device{
		Name: spec.name, Index: link.Attrs().Index, MAC: spec.mac, MTU: mtu,
		UnderlayLink: ul.Attrs().Name, UnderlayMTU: ul.Attrs().MTU,
	}, nil
}

// conflict says why an existing link cannot serve as the device, or "".
// MTU and MAC are fixable in place; these are not.
func conflict(link netlink.Link, spec deviceSpec, underlayIndex int) string {
	vx, ok := link.(*netlink.Vxlan)
	switch {
	case !ok:
		return fmt.Sprintf("it is a %s, not a vxlan device", link.Type())
	case vx.VxlanId != spec.vni:
		return fmt.Sprintf("VNI %d, want %d", vx.VxlanId, spec.vni)
	case vx.Port != spec.port:
		return fmt.Sprintf("port %d, want %d", vx.Port, spec.port)
	case !vx.SrcAddr.Equal(net.IP(spec.local.AsSlice())):
		return fmt.Sprintf("local %s, want %s", vx.SrcAddr, spec.local)
	case vx.Learning:
		return "learning is on"
	case vx.VtepDevIndex != underlayIndex:
		return fmt.Sprintf("underlay link index %d, want %d", vx.VtepDevIndex, underlayIndex)
	}
	return ""
}

func (k *netlinkKernel) ensureOnlyAddr(link netlink.Link, want netip.Prefix) error {
	addrs, err := nsutil.Dump(func() ([]netlink.Addr, error) { return k.h.AddrList(link, netlink.FAMILY_V4) })
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	have := false
	for _, a := range addrs {
		if a.IPNet.String() == want.String() {
			have = true
			continue
		}
		if err := k.h.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("remove stale address %s: %w", a.IPNet, err)
		}
	}
	if have {
		return nil
	}
	addr, err := netlink.ParseAddr(want.String())
	if err != nil {
		return err
	}
	if err := k.h.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("add address %s: %w", want, err)
	}
	return nil
}

func (k *netlinkKernel) read(ctx context.Context, dev Device) (State, error) {
	st := NewState()
	if err := ctx.Err(); err != nil {
		return st, err
	}
	neighs, err := nsutil.Dump(func() ([]netlink.Neigh, error) { return k.h.NeighList(dev.Index, netlink.FAMILY_V4) })
	if err != nil {
		return st, fmt.Errorf("list neighbors of %s: %w", dev.Name, err)
	}
	for _, n := range neighs {
		ip, ok := netip.AddrFromSlice(n.IP)
		if n.LinkIndex != dev.Index || n.State&netlink.NUD_PERMANENT == 0 || !ok || len(n.HardwareAddr) != 6 {
			continue // the kernel's own (non-permanent) entries are not ours
		}
		st.Neighbors[ip.Unmap()] = n.HardwareAddr.String()
	}
	fdb, err := nsutil.Dump(func() ([]netlink.Neigh, error) { return k.h.NeighList(dev.Index, unix.AF_BRIDGE) })
	if err != nil {
		return st, fmt.Errorf("list FDB of %s: %w", dev.Name, err)
	}
	for _, n := range fdb {
		ip, ok := netip.AddrFromSlice(n.IP)
		if n.LinkIndex != dev.Index || n.State&netlink.NUD_PERMANENT == 0 || n.Flags&netlink.NTF_SELF == 0 ||
			!ok || len(n.HardwareAddr) != 6 || bytes.Equal(n.HardwareAddr, make([]byte, 6)) {
			continue
		}
		st.FDB[FDBEntry{MAC: n.HardwareAddr.String(), Dst: ip.Unmap()}] = true
	}
	routes, err := nsutil.Dump(func() ([]netlink.Route, error) {
		return k.h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{LinkIndex: dev.Index}, netlink.RT_FILTER_OIF)
	})
	if err != nil {
		return st, fmt.Errorf("list routes via %s: %w", dev.Name, err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		dstAddr, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			continue
		}
		gw, _ := netip.AddrFromSlice(r.Gw) // invalid when there is none: Diff replaces or removes it
		st.Routes[netip.PrefixFrom(dstAddr.Unmap(), ones)] = gw.Unmap()
	}
	return st, nil
}

func (k *netlinkKernel) apply(ctx context.Context, dev Device, op Op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var mac net.HardwareAddr
	if op.MAC != "" {
		var err error
		if mac, err = net.ParseMAC(op.MAC); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	ip := net.IP(op.Addr.AsSlice())
	var err error
	switch op.Kind {
	case SetNeighbor:
		err = k.h.NeighSet(&netlink.Neigh{LinkIndex: dev.Index, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT, Type: unix.RTN_UNICAST, IP: ip, HardwareAddr: mac})
	case DelNeighbor:
		err = ignoreMissing(k.h.NeighDel(&netlink.Neigh{LinkIndex: dev.Index, Family: netlink.FAMILY_V4, IP: ip}))
	case SetFDB:
		err = k.h.NeighSet(&netlink.Neigh{LinkIndex: dev.Index, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT, Flags: netlink.NTF_SELF, IP: ip, HardwareAddr: mac})
	case DelFDB:
		err = ignoreMissing(k.h.NeighDel(&netlink.Neigh{LinkIndex: dev.Index, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT, Flags: netlink.NTF_SELF, IP: ip, HardwareAddr: mac}))
	case SetRoute:
		err = k.h.RouteReplace(&netlink.Route{LinkIndex: dev.Index, Dst: ipNet(op.Dst), Gw: ip, Flags: int(netlink.FLAG_ONLINK), Scope: netlink.SCOPE_UNIVERSE})
	case DelRoute:
		r := &netlink.Route{LinkIndex: dev.Index, Dst: ipNet(op.Dst)}
		if op.Addr.IsValid() {
			r.Gw = ip
		}
		err = ignoreMissing(k.h.RouteDel(r))
	default:
		err = errors.New("unknown operation")
	}
	if err != nil {
		return fmt.Errorf("%s on %s: %w", op, dev.Name, err)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// ignoreMissing makes deleting something already gone a success.
func ignoreMissing(err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}
