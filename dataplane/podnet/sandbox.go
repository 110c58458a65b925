package podnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"

	"github.com/tug-sh/tug/dataplane/internal/nsutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrVethCollision means the host veth name derived from a pod's sandbox id
// is already taken by a link that is not this pod's (another pod whose id
// shares the first 8 hex digits, or a foreign link).
var ErrVethCollision = errors.New("host veth name taken by another link")

// PodSpec is what SetupPod needs to know about a pod.
type PodSpec struct {
	Key PodKey
	// IP is the pod's address with the pod CIDR's prefix length, e.g.
	// 10.244.1.5/24 (as returned by ipam.Allocator.Allocate).
	IP netip.Prefix
}

// PodNetwork describes a pod's sandbox network.
type PodNetwork struct {
	// ID is the sandbox id (SandboxID of the pod key).
	ID string
	// NetnsPath pins the pod's network namespace; give it to the container
	// runtime as the network namespace path.
	NetnsPath string
	// IP is the pod's address and prefix on PodInterface.
	IP netip.Prefix
	// Gateway is the default route's next hop (the bridge).
	Gateway netip.Addr
	// HostVeth is the host end of the veth pair, a port of the bridge.
	HostVeth string
	// PodInterface is the pod end's name inside NetnsPath ("eth0").
	PodInterface string
	// MAC is PodInterface's hardware address, derived from ID so that it
	// survives a re-created veth pair.
	MAC net.HardwareAddr
}

func (n *Node) pinPath(id string) string { return filepath.Join(n.cfg.netnsDir(), pinName(id)) }

// SetupPod creates or repairs the pod's sandbox: its namespace pin, lo up, the
// veth pair (host end on the bridge, eth0 inside with spec.IP), the MTU and a
// default route via the gateway. Running it again for a set-up pod changes
// nothing; for a half set-up one (a crash, a deleted link) it completes the
// work. EnsureBridge must have run.
func (n *Node) SetupPod(ctx context.Context, spec PodSpec) (PodNetwork, error) {
	if err := spec.Key.Validate(); err != nil {
		return PodNetwork{}, fmt.Errorf("podnet: %w", err)
	}
	if err := validatePodIP(spec.IP, n.cfg.Gateway); err != nil {
		return PodNetwork{}, err
	}
	id := SandboxID(spec.Key)
	res := PodNetwork{
		ID:           id,
		NetnsPath:    n.pinPath(id),
		IP:           spec.IP,
		Gateway:      n.cfg.Gateway.Addr(),
		HostVeth:     HostVethName(id),
		PodInterface: PodInterface,
	}
	fail := func(step string, err error) (PodNetwork, error) {
		return PodNetwork{}, fmt.Errorf("podnet: set up pod %s (sandbox %s): %s: %w", spec.Key, id, step, err)
	}

	br, err := linkByName(n.host, n.cfg.bridge())
	if err != nil {
		return fail("bridge", err)
	}
	if br == nil {
		return fail("bridge", fmt.Errorf("bridge %s does not exist: call EnsureBridge first", n.cfg.bridge()))
	}
	if err := ctx.Err(); err != nil {
		return fail("namespace", err)
	}
	if err := n.ensureNetnsDir(); err != nil {
		return fail("namespace", err)
	}
	if !nsutil.IsNetns(res.NetnsPath) {
		if err := nsutil.CreateAt(res.NetnsPath); err != nil {
			return fail("namespace", err)
		}
		n.log.Info("created pod network namespace", "pod", spec.Key.String(), "netns", res.NetnsPath)
	}
	podNs, pod, err := openNetns(res.NetnsPath)
	if err != nil {
		return fail("namespace", err)
	}
	defer podNs.Close()
	defer pod.Close()

	if err := ctx.Err(); err != nil {
		return fail("veth", err)
	}
	hostLink, podLink, err := n.ensureVeth(pod, podNs, br, res.HostVeth, id, vethAlias(id, spec.Key))
	if err != nil {
		return fail("veth", err)
	}
	if err := ensurePodSide(pod, podLink, spec.IP, res.Gateway, n.cfg.mtu()); err != nil {
		return fail("pod interface", err)
	}
	if err := n.ensureHostSide(hostLink, br); err != nil {
		return fail("host veth", err)
	}
	res.MAC = podLink.Attrs().HardwareAddr
	return res, nil
}

// paired reports whether hostLink and podLink are the two ends of one veth
// pair: each one's IFLA_LINK names the other's index.
func paired(hostLink, podLink netlink.Link) bool {
	return hostLink != nil && podLink != nil &&
		hostLink.Type() == "veth" && podLink.Type() == "veth" &&
		hostLink.Attrs().ParentIndex == podLink.Attrs().Index &&
		podLink.Attrs().ParentIndex == hostLink.Attrs().Index
}

// ensureVeth returns the pod's veth pair, creating it (or re-creating it
// when only one end survived) with the peer born inside the pod namespace
// as eth0, so no temporary name ever appears on the node. A host link of
// that name that is not this sandbox's is ErrVethCollision and left alone.
func (n *Node) ensureVeth(pod *netlink.Handle, podNs netns.NsHandle, br netlink.Link, name, id, alias string) (netlink.Link, netlink.Link, error) {
	hostLink, err := linkByName(n.host, name)
	if err != nil {
		return nil, nil, err
	}
	podLink, err := linkByName(pod, PodInterface)
	if err != nil {
		return nil, nil, err
	}
	if hostLink != nil {
		switch owner, _ := parseVethAlias(hostLink.Attrs().Alias); {
		case hostLink.Type() == "veth" && owner == id:
		case hostLink.Type() == "veth" && hostLink.Attrs().Alias == "" && paired(hostLink, podLink):
			// Created by an earlier run that stopped before naming it.
			if err := n.host.LinkSetAlias(hostLink, alias); err != nil {
				return nil, nil, fmt.Errorf("set alias of %s: %w", name, err)
			}
		default:
			return nil, nil, fmt.Errorf("%w: %s is a %s with alias %q, not sandbox %s", ErrVethCollision, name, hostLink.Type(), hostLink.Attrs().Alias, id)
		}
	}
	if paired(hostLink, podLink) {
		return hostLink, podLink, nil
	}
	if hostLink != nil {
		if err := n.host.LinkDel(hostLink); err != nil && !isNotFound(err) {
			return nil, nil, fmt.Errorf("delete unpaired host veth %s: %w", name, err)
		}
	}
	if podLink != nil {
		if err := pod.LinkDel(podLink); err != nil && !isNotFound(err) {
			return nil, nil, fmt.Errorf("delete unpaired %s in the pod: %w", PodInterface, err)
		}
	}
	mtu := n.cfg.mtu()
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{
			Name:        name,
			MTU:         mtu,
			MasterIndex: br.Attrs().Index,
		},
		PeerName: PodInterface,
		// A MAC derived from the sandbox id survives a re-created pair,
		// so neighbors' ARP caches stay right after a repair.
		PeerHardwareAddr: stableMAC("tug-pod/" + id),
		PeerMTU:          uint32(mtu),
		PeerNamespace:    netlink.NsFd(podNs),
	}
	if err := n.host.LinkAdd(veth); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			return nil, nil, fmt.Errorf("create veth pair %s/%s: the kernel lacks veth support (CONFIG_VETH): %w", name, PodInterface, err)
		}
		return nil, nil, fmt.Errorf("create veth pair %s/%s: %w", name, PodInterface, err)
	}
	if hostLink, err = n.host.LinkByName(name); err != nil {
		return nil, nil, fmt.Errorf("look up new host veth %s: %w", name, err)
	}
	// The kernel ignores IFLA_IFALIAS when creating a link: set it now.
	if err := n.host.LinkSetAlias(hostLink, alias); err != nil {
		return nil, nil, fmt.Errorf("set alias of %s: %w", name, err)
	}
	if podLink, err = pod.LinkByName(PodInterface); err != nil {
		return nil, nil, fmt.Errorf("look up new %s in the pod: %w", PodInterface, err)
	}
	n.log.Info("created veth pair", "hostVeth", name, "alias", alias)
	return hostLink, podLink, nil
}

// ensurePodSide configures the inside: lo up, eth0's MTU and only address,
// eth0 up, the default route via the gateway.
func ensurePodSide(pod *netlink.Handle, eth0 netlink.Link, ip netip.Prefix, gw netip.Addr, mtu int) error {
	lo, err := pod.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("look up lo: %w", err)
	}
	if lo.Attrs().Flags&net.FlagUp == 0 {
		if err := pod.LinkSetUp(lo); err != nil {
			return fmt.Errorf("set lo up: %w", err)
		}
	}
	if eth0.Attrs().MTU != mtu {
		if err := pod.LinkSetMTU(eth0, mtu); err != nil {
			return fmt.Errorf("set MTU %d: %w", mtu, err)
		}
	}
	if err := ensureOnlyAddr(pod, eth0, ip.String()); err != nil {
		return err
	}
	if eth0.Attrs().Flags&net.FlagUp == 0 {
		if err := pod.LinkSetUp(eth0); err != nil {
			return fmt.Errorf("set %s up: %w", PodInterface, err)
		}
	}
	def := &netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: net.IP(gw.AsSlice()), Scope: netlink.SCOPE_UNIVERSE}
	if err := pod.RouteReplace(def); err != nil {
		return fmt.Errorf("default route via %s: %w", gw, err)
	}
	return nil
}

// ensureHostSide makes the host veth a bridge port with the right MTU, up.
func (n *Node) ensureHostSide(hostLink, br netlink.Link) error {
	if hostLink.Attrs().MasterIndex != br.Attrs().Index {
		if err := n.host.LinkSetMasterByIndex(hostLink, br.Attrs().Index); err != nil {
			return fmt.Errorf("attach to bridge %s: %w", br.Attrs().Name, err)
		}
	}
	if mtu := n.cfg.mtu(); hostLink.Attrs().MTU != mtu {
		if err := n.host.LinkSetMTU(hostLink, mtu); err != nil {
			return fmt.Errorf("set MTU %d: %w", mtu, err)
		}
	}
	if hostLink.Attrs().Flags&net.FlagUp == 0 {
		if err := n.host.LinkSetUp(hostLink); err != nil {
			return fmt.Errorf("set up: %w", err)
		}
	}
	return nil
}

// TeardownPod removes the pod's veth pair and namespace pin. Tearing down a
// pod that has no sandbox (any more) is not an error.
func (n *Node) TeardownPod(ctx context.Context, key PodKey) error {
	if err := key.Validate(); err != nil {
		return fmt.Errorf("podnet: %w", err)
	}
	id := SandboxID(key)
	return n.RemoveSandbox(ctx, Sandbox{ID: id, NetnsPath: n.pinPath(id), HostVeth: HostVethName(id)})
}

// RemoveSandbox removes what ListSandboxes reported: the pod end of the
// veth (deleting the pair at once rather than when the namespace dies), the
// host veth if it still carries sb's id, and the pin.
func (n *Node) RemoveSandbox(ctx context.Context, sb Sandbox) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	if sb.NetnsPath != "" && nsutil.IsNetns(sb.NetnsPath) {
		if err := deletePodInterface(sb.NetnsPath); err != nil {
			errs = append(errs, err)
		}
	}
	if sb.HostVeth != "" {
		l, err := linkByName(n.host, sb.HostVeth)
		switch {
		case err != nil:
			errs = append(errs, err)
		case l == nil:
		case l.Type() != "veth":
			n.log.Warn("not deleting link: it is not a veth", "link", sb.HostVeth, "type", l.Type())
		default:
			if id, _ := parseVethAlias(l.Attrs().Alias); id != sb.ID {
				n.log.Warn("not deleting host veth: it belongs to another sandbox", "link", sb.HostVeth, "alias", l.Attrs().Alias, "sandbox", sb.ID)
				break
			}
			if err := n.host.LinkDel(l); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("delete host veth %s: %w", sb.HostVeth, err))
			}
		}
	}
	if sb.NetnsPath != "" {
		if err := nsutil.RemovePin(sb.NetnsPath); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("podnet: remove sandbox %s: %w", sb.ID, err)
	}
	n.log.Info("removed pod sandbox", "sandbox", sb.ID, "pod", sb.Pod)
	return nil
}

// deletePodInterface deletes eth0 inside the pinned namespace, which deletes
// its host peer with it.
func deletePodInterface(pin string) error {
	ns, h, err := openNetns(pin)
	if err != nil {
		return err
	}
	defer ns.Close()
	defer h.Close()
	l, err := linkByName(h, PodInterface)
	if err != nil || l == nil {
		return err
	}
	if err := h.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %s in %s: %w", PodInterface, pin, err)
	}
	return nil
}
