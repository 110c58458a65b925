package overlay_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tug-sh/tug/dataplane/internal/nstest"
	"github.com/tug-sh/tug/dataplane/overlay"
	"github.com/tug-sh/tug/dataplane/podnet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// cluster is a set of namespaced "nodes" on one underlay: a switch
// namespace with a bridge, and per node a namespace wired to it by a veth
// (172.31.0.<i>/24, no route anywhere else), a podnet bridge with pod
// subnet 10.244.<i>.0/24, one pod at 10.244.<i>.2 running an echo server,
// and an overlay.Overlay.
type cluster struct {
	nodes []*node
}

type node struct {
	name    string
	host    string // namespace pin
	h       *netlink.Handle
	self    overlay.Self
	ov      *overlay.Overlay
	ovCfg   overlay.Config
	pod     podnet.PodNetwork
	podAddr string // ip:port of the pod's echo server
}

const underlayMTU = 1500

func newCluster(t testing.TB, n int) *cluster {
	t.Helper()
	nstest.RequireRoot(t)
	ctx := testCtx(t)
	dir := t.TempDir()
	nstest.UnmountAllUnder(t, dir)
	suffix := nstest.UniqueSuffix()

	sw := nstest.NewNetns(t, dir, "switch")
	swh := nstest.Handle(t, sw)
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "underlay"}}
	if err := swh.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	if err := swh.LinkSetUp(br); err != nil {
		t.Fatal(err)
	}

	c := &cluster{}
	for i := 1; i <= n; i++ {
		nd := &node{name: fmt.Sprintf("node-%d-%s", i, suffix)}
		nd.host = nstest.NewNetns(t, dir, fmt.Sprintf("node%d", i))
		nd.h = nstest.Handle(t, nd.host)
		hostNs := openNs(t, nd.host)
		port := fmt.Sprintf("port%d", i)
		if err := swh.LinkAdd(&netlink.Veth{
			LinkAttrs: netlink.LinkAttrs{Name: port, MTU: underlayMTU, MasterIndex: br.Attrs().Index},
			PeerName:  "eth0", PeerNamespace: netlink.NsFd(hostNs),
		}); err != nil {
			t.Fatal(err)
		}
		mustUp(t, swh, port)
		mustUp(t, nd.h, "lo")
		mustUp(t, nd.h, "eth0")
		eth0, _ := nd.h.LinkByName("eth0")
		underlayIP := netip.MustParseAddr(fmt.Sprintf("172.31.0.%d", i))
		if err := nd.h.AddrAdd(eth0, mustAddr(t, underlayIP.String()+"/24")); err != nil {
			t.Fatal(err)
		}
		podCIDR := netip.MustParsePrefix(fmt.Sprintf("10.244.%d.0/24", i))

		pcfg := podnet.Config{
			HostNetns: nd.host,
			RunDir:    filepath.Join(dir, fmt.Sprintf("run%d", i)),
			Gateway:   netip.PrefixFrom(podCIDR.Addr().Next(), 24),
			MTU:       underlayMTU - overlay.Overhead,
		}
		pn, err := podnet.New(pcfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			pn.Close()
			if err := podnet.ResetNode(context.Background(), pcfg); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
		if err := pn.EnsureBridge(ctx); err != nil {
			t.Fatal(err)
		}
		podIP := netip.PrefixFrom(podCIDR.Addr().Next().Next(), 24)
		nd.pod, err = pn.SetupPod(ctx, podnet.PodSpec{Key: podnet.PodKey{Namespace: "default", Name: "echo", UID: nd.name}, IP: podIP})
		if err != nil {
			t.Fatal(err)
		}
		nd.podAddr = podIP.Addr().String() + ":8080"
		nstest.Serve(t, nd.pod.NetnsPath, nd.podAddr, nd.name)

		nd.ovCfg = overlay.Config{HostNetns: nd.host}
		nd.ov, err = overlay.New(nd.ovCfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			nd.ov.Close()
			if err := overlay.Reset(context.Background(), nd.ovCfg); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
		nd.self = overlay.Self{NodeName: nd.name, UnderlayIP: underlayIP, PodCIDR: podCIDR}
		c.nodes = append(c.nodes, nd)
	}
	return c
}

// peers returns every node as a peer (Reconcile skips the node itself), as
// the agent would read them from the Node objects.
func (c *cluster) peers(except ...*node) []overlay.Peer {
	var ps []overlay.Peer
next:
	for _, nd := range c.nodes {
		for _, e := range except {
			if nd == e {
				continue next
			}
		}
		ps = append(ps, overlay.Peer{NodeName: nd.name, UnderlayIP: nd.self.UnderlayIP, PodCIDR: nd.self.PodCIDR, VTEPMAC: overlay.VTEPMAC(nd.name)})
	}
	return ps
}

func TestPodsTalkAcrossNodes(t *testing.T) {
	ctx := testCtx(t)
	c := newCluster(t, 3)
	a, b, third := c.nodes[0], c.nodes[1], c.nodes[2]

	for _, nd := range c.nodes {
		ops, err := nd.ov.Reconcile(ctx, nd.self, c.peers())
		if err != nil {
			t.Fatalf("Reconcile on %s: %v", nd.name, err)
		}
		if len(ops) != 6 { // 2 peers × (neighbor, FDB, route)
			t.Fatalf("Reconcile on %s applied %d operations, want 6: %v", nd.name, len(ops), ops)
		}
	}
	for _, nd := range c.nodes {
		if ops, err := nd.ov.Reconcile(ctx, nd.self, c.peers()); err != nil || len(ops) != 0 {
			t.Fatalf("second Reconcile on %s = %v, %v; want no operations", nd.name, ops, err)
		}
	}
	checkDevice(t, a)

	// Pod to pod across nodes, both ways, and node to remote pod.
	expectEcho(ctx, t, a.pod.NetnsPath, b.podAddr, b.name)
	expectEcho(ctx, t, b.pod.NetnsPath, a.podAddr, a.name)
	expectEcho(ctx, t, third.pod.NetnsPath, a.podAddr, a.name)
	expectEcho(ctx, t, a.pod.NetnsPath, third.podAddr, third.name)
	expectEcho(ctx, t, a.host, b.podAddr, b.name)

	// The third node leaves: a forgets it in reverse order.
	ops, err := a.ov.Reconcile(ctx, a.self, c.peers(third))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []overlay.OpKind
	for _, op := range ops {
		kinds = append(kinds, op.Kind)
	}
	if fmt.Sprint(kinds) != fmt.Sprint([]overlay.OpKind{overlay.DelRoute, overlay.DelFDB, overlay.DelNeighbor}) {
		t.Fatalf("removing a peer applied %v", ops)
	}
	checkPeerEntries(t, a, third, false)
	checkPeerEntries(t, a, b, true)
	_, err = nstest.Exchange(ctx, a.host, third.podAddr, "ping")
	if !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("node a reaching a removed peer's pod: %v, want ENETUNREACH (no route)", err)
	}
	expectEcho(ctx, t, a.pod.NetnsPath, b.podAddr, b.name)

	// It comes back.
	if _, err := a.ov.Reconcile(ctx, a.self, c.peers()); err != nil {
		t.Fatal(err)
	}
	expectEcho(ctx, t, a.pod.NetnsPath, third.podAddr, third.name)

	// a's device is deleted (tug reset, agent restart) and re-created: its
	// MAC is the same, so b and the third node reach it without any change.
	if err := overlay.Reset(ctx, a.ovCfg); err != nil {
		t.Fatal(err)
	}
	if _, err := a.h.LinkByName(overlay.DefaultDevice); err == nil {
		t.Fatal("device survived Reset")
	}
	if ops, err := a.ov.Reconcile(ctx, a.self, c.peers()); err != nil || len(ops) != 6 {
		t.Fatalf("Reconcile after Reset = %v, %v", ops, err)
	}
	checkDevice(t, a)
	for _, nd := range []*node{b, third} {
		if ops, err := nd.ov.Reconcile(ctx, nd.self, c.peers()); err != nil || len(ops) != 0 {
			t.Fatalf("%s needed changes after a re-created its device: %v, %v", nd.name, ops, err)
		}
	}
	expectEcho(ctx, t, b.pod.NetnsPath, a.podAddr, a.name)
}

func TestEnsureDeviceRepairs(t *testing.T) {
	ctx := testCtx(t)
	c := newCluster(t, 1)
	a := c.nodes[0]

	// A leftover device with the wrong VNI and learning on is re-created.
	eth0, _ := a.h.LinkByName("eth0")
	stale := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: overlay.DefaultDevice}, VxlanId: 42, Port: 4789, Learning: true, VtepDevIndex: eth0.Attrs().Index}
	if err := a.h.LinkAdd(stale); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			t.Skipf("needs vxlan (CONFIG_VXLAN): %v", err)
		}
		t.Fatal(err)
	}
	dev, err := a.ov.EnsureDevice(ctx, a.self)
	if err != nil {
		t.Fatal(err)
	}
	if dev.MTU != underlayMTU-overlay.Overhead || dev.UnderlayLink != "eth0" || dev.UnderlayMTU != underlayMTU ||
		dev.MAC.String() != overlay.VTEPMAC(a.name).String() {
		t.Fatalf("EnsureDevice = %+v", dev)
	}
	checkDevice(t, a)

	// An address of a previous pod CIDR is replaced; an explicit MTU wins.
	moved := a.self
	moved.PodCIDR = netip.MustParsePrefix("10.250.0.0/16")
	moved.MTU = 1400
	if _, err := a.ov.EnsureDevice(ctx, moved); err != nil {
		t.Fatal(err)
	}
	l, _ := a.h.LinkByName(overlay.DefaultDevice)
	addrs, _ := a.h.AddrList(l, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.250.0.0/32" || l.Attrs().MTU != 1400 {
		t.Fatalf("after a pod CIDR change: addresses %v, MTU %d", addrs, l.Attrs().MTU)
	}

	// An underlay address that is not on the node is a clear error.
	wrong := a.self
	wrong.UnderlayIP = netip.MustParseAddr("172.31.9.9")
	if _, err := a.ov.EnsureDevice(ctx, wrong); err == nil {
		t.Fatal("EnsureDevice accepted an underlay address the node does not have")
	}
}

func checkDevice(t *testing.T, nd *node) {
	t.Helper()
	l, err := nd.h.LinkByName(overlay.DefaultDevice)
	if err != nil {
		t.Fatal(err)
	}
	vx, ok := l.(*netlink.Vxlan)
	if !ok {
		t.Fatalf("%s is a %s", overlay.DefaultDevice, l.Type())
	}
	if vx.VxlanId != 1 || vx.Port != 8472 || vx.Learning || !vx.SrcAddr.Equal(net.IP(nd.self.UnderlayIP.AsSlice())) ||
		vx.MTU != underlayMTU-overlay.Overhead || vx.HardwareAddr.String() != overlay.VTEPMAC(nd.name).String() ||
		vx.Flags&net.FlagUp == 0 {
		t.Fatalf("device: vni %d port %d learning %v local %s mtu %d mac %s flags %v",
			vx.VxlanId, vx.Port, vx.Learning, vx.SrcAddr, vx.MTU, vx.HardwareAddr, vx.Flags)
	}
	addrs, _ := nd.h.AddrList(l, netlink.FAMILY_V4)
	if want := overlay.VXLANAddr(nd.self.PodCIDR).String() + "/32"; len(addrs) != 1 || addrs[0].IPNet.String() != want {
		t.Fatalf("device addresses %v, want only %s", addrs, want)
	}
}

// checkPeerEntries reads nd's kernel state for peer with its own netlink
// handle: permanent neighbor, permanent self FDB entry, onlink route.
func checkPeerEntries(t *testing.T, nd, peer *node, want bool) {
	t.Helper()
	l, err := nd.h.LinkByName(overlay.DefaultDevice)
	if err != nil {
		t.Fatal(err)
	}
	idx := l.Attrs().Index
	peerMAC := overlay.VTEPMAC(peer.name).String()
	vxAddr := overlay.VXLANAddr(peer.self.PodCIDR)

	neighs, _ := nd.h.NeighList(idx, netlink.FAMILY_V4)
	hasNeigh := false
	for _, n := range neighs {
		if n.IP.Equal(net.IP(vxAddr.AsSlice())) && n.HardwareAddr.String() == peerMAC && n.State&netlink.NUD_PERMANENT != 0 {
			hasNeigh = true
		}
	}
	fdb, _ := nd.h.NeighList(idx, unix.AF_BRIDGE)
	hasFDB := false
	for _, n := range fdb {
		if n.HardwareAddr.String() == peerMAC && n.IP.Equal(net.IP(peer.self.UnderlayIP.AsSlice())) &&
			n.State&netlink.NUD_PERMANENT != 0 && n.Flags&netlink.NTF_SELF != 0 {
			hasFDB = true
		}
	}
	routes, _ := nd.h.RouteList(l, netlink.FAMILY_V4)
	hasRoute := false
	for _, r := range routes {
		if r.Dst != nil && r.Dst.String() == peer.self.PodCIDR.String() && r.Gw.Equal(net.IP(vxAddr.AsSlice())) && r.Flags&int(netlink.FLAG_ONLINK) != 0 {
			hasRoute = true
		}
	}
	if hasNeigh != want || hasFDB != want || hasRoute != want {
		t.Fatalf("%s's entries for %s: neighbor %v, FDB %v, route %v; want all %v", nd.name, peer.name, hasNeigh, hasFDB, hasRoute, want)
	}
}

func expectEcho(ctx context.Context, t *testing.T, fromNs, addr, wantName string) {
	t.Helper()
	got, err := nstest.Exchange(ctx, fromNs, addr, "hello")
	if err != nil {
		t.Fatalf("from %s to %s: %v", filepath.Base(fromNs), addr, err)
	}
	if want := wantName + ": hello"; got != want {
		t.Fatalf("from %s to %s: reply %q, want %q", filepath.Base(fromNs), addr, got, want)
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func openNs(t testing.TB, path string) int {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func mustUp(t testing.TB, h *netlink.Handle, name string) {
	t.Helper()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
}

func mustAddr(t testing.TB, s string) *netlink.Addr {
	t.Helper()
	a, err := netlink.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
