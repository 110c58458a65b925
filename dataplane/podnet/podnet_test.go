package podnet_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tug-sh/tug/dataplane/internal/nstest"
	"github.com/tug-sh/tug/dataplane/internal/nsutil"
	"github.com/tug-sh/tug/dataplane/podnet"
	"github.com/vishvananda/netlink"
)

// testNode is a "node": a network namespace of the test's own, with a
// podnet.Node programming it and a run directory under the test's temp dir.
type testNode struct {
	dir  string // everything the test creates on disk is below it
	host string // the node namespace's pin
	cfg  podnet.Config
	node *podnet.Node
	h    *netlink.Handle // netlink in the node namespace, for checks
}

func newTestNode(t testing.TB, gateway string) *testNode {
	t.Helper()
	nstest.RequireRoot(t)
	dir := t.TempDir()
	nstest.UnmountAllUnder(t, dir) // runs after every other cleanup below
	host := nstest.NewNetns(t, dir, "host-"+nstest.UniqueSuffix())
	cfg := podnet.Config{
		HostNetns: host,
		RunDir:    filepath.Join(dir, "run"),
		Gateway:   netip.MustParsePrefix(gateway),
		MTU:       1450,
	}
	node, err := podnet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		node.Close()
		if err := podnet.ResetNode(context.Background(), cfg); err != nil {
			t.Errorf("cleanup: ResetNode: %v", err)
		}
	})
	return &testNode{dir: dir, host: host, cfg: cfg, node: node, h: nstest.Handle(t, host)}
}

func (n *testNode) netnsDir() string { return filepath.Join(n.cfg.RunDir, "netns") }

func (n *testNode) linkNames(t testing.TB) []string {
	t.Helper()
	links, err := n.h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	return names
}

func podKey(i int) podnet.PodKey {
	return podnet.PodKey{Namespace: "default", Name: fmt.Sprintf("web-%d", i), UID: fmt.Sprintf("uid-%d-%s", i, nstest.UniqueSuffix())}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkPodInside verifies the pod's namespace: lo up, eth0 with the
// address, MTU and up, a default route via the gateway.
func checkPodInside(t *testing.T, pn podnet.PodNetwork, mtu int) {
	t.Helper()
	h := nstest.Handle(t, pn.NetnsPath)
	lo, err := h.LinkByName("lo")
	if err != nil || lo.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("%s: lo is not up (%v)", pn.NetnsPath, err)
	}
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatalf("%s: no eth0: %v", pn.NetnsPath, err)
	}
	if eth0.Attrs().MTU != mtu || eth0.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("eth0: MTU %d up %v, want MTU %d and up", eth0.Attrs().MTU, eth0.Attrs().Flags&net.FlagUp != 0, mtu)
	}
	addrs, err := h.AddrList(eth0, netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 || addrs[0].IPNet.String() != pn.IP.String() {
		t.Errorf("eth0 addresses = %v (%v), want only %s", addrs, err, pn.IP)
	}
	routes, err := h.RouteList(eth0, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	hasDefault := false
	for _, r := range routes {
		if (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.String() == pn.Gateway.String() {
			hasDefault = true
		}
	}
	if !hasDefault {
		t.Errorf("no default route via %s in %v", pn.Gateway, routes)
	}
	if !slices.Equal(eth0.Attrs().HardwareAddr, pn.MAC) {
		t.Errorf("PodNetwork.MAC %s, eth0 has %s", pn.MAC, eth0.Attrs().HardwareAddr)
	}
}

func TestPodsOnABridge(t *testing.T) {
	ctx := testCtx(t)
	n := newTestNode(t, "10.244.1.1/24")
	baseLinks := n.linkNames(t) // just lo
	if got := nstest.MountsUnder(t, n.netnsDir()); got != 0 {
		t.Fatalf("%d mounts under the netns dir before any pod", got)
	}

	for range 2 { // idempotent
		if err := n.node.EnsureBridge(ctx); err != nil {
			t.Fatal(err)
		}
	}
	br, err := n.h.LinkByName(podnet.DefaultBridge)
	if err != nil || br.Type() != "bridge" || br.Attrs().MTU != 1450 {
		t.Fatalf("bridge: %v %v", br, err)
	}
	brAddrs, _ := n.h.AddrList(br, netlink.FAMILY_V4)
	if len(brAddrs) != 1 || brAddrs[0].IPNet.String() != "10.244.1.1/24" {
		t.Fatalf("bridge addresses %v, want only 10.244.1.1/24", brAddrs)
	}
	var fwd []byte
	if err := nsutil.DoPath(n.host, func() error {
		fwd, err = os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		return err
	}); err != nil || string(fwd) != "1\n" {
		t.Fatalf("ip_forward in the node namespace = %q (%v), want 1", fwd, err)
	}
	brMAC := br.Attrs().HardwareAddr

	type testPod struct {
		key podnet.PodKey
		podnet.PodNetwork
	}
	var pods []testPod
	for i := range 3 {
		ip := netip.MustParsePrefix(fmt.Sprintf("10.244.1.%d/24", i+2))
		key := podKey(i)
		pn, err := n.node.SetupPod(ctx, podnet.PodSpec{Key: key, IP: ip})
		if err != nil {
			t.Fatalf("SetupPod %d: %v", i, err)
		}
		if pn.IP != ip || pn.Gateway.String() != "10.244.1.1" || pn.PodInterface != "eth0" ||
			!strings.HasPrefix(pn.HostVeth, "tug") || len(pn.HostVeth) != 11 ||
			pn.NetnsPath != filepath.Join(n.netnsDir(), "tug-"+pn.ID) {
			t.Fatalf("SetupPod result %+v", pn)
		}
		checkPodInside(t, pn, 1450)
		hv, err := n.h.LinkByName(pn.HostVeth)
		if err != nil || hv.Attrs().MasterIndex != br.Attrs().Index || hv.Attrs().Flags&net.FlagUp == 0 || hv.Attrs().MTU != 1450 {
			t.Fatalf("host veth %s: %+v %v", pn.HostVeth, hv, err)
		}
		pods = append(pods, testPod{key, pn})
		nstest.Serve(t, pn.NetnsPath, pn.IP.Addr().String()+":8080", fmt.Sprint("pod", i))
	}
	if got := nstest.MountsUnder(t, n.netnsDir()); got != 4 {
		t.Fatalf("%d mounts under the netns dir with 3 pods, want 4 (the shared dir and 3 pins)", got)
	}
	br, _ = n.h.LinkByName(podnet.DefaultBridge)
	if !slices.Equal(br.Attrs().HardwareAddr, brMAC) {
		t.Errorf("bridge MAC changed from %s to %s when ports were added", brMAC, br.Attrs().HardwareAddr)
	}

	// Pod to pod over the bridge, and node to pod.
	nstest.Serve(t, n.host, "10.244.1.1:8081", "node")
	for i := range pods {
		from, to := pods[i], pods[(i+1)%len(pods)]
		expectEcho(ctx, t, from.NetnsPath, to.IP.Addr().String()+":8080", fmt.Sprint("pod", (i+1)%len(pods)))
		expectEcho(ctx, t, n.host, from.IP.Addr().String()+":8080", fmt.Sprint("pod", i))
		expectEcho(ctx, t, from.NetnsPath, "10.244.1.1:8081", "node")
	}

	// SetupPod again: same result, same links (nothing re-created).
	before0, _ := n.h.LinkByName(pods[0].HostVeth)
	again, err := n.node.SetupPod(ctx, podnet.PodSpec{Key: pods[0].key, IP: pods[0].IP})
	if err != nil {
		t.Fatal(err)
	}
	after0, _ := n.h.LinkByName(pods[0].HostVeth)
	if !reflect.DeepEqual(again, pods[0].PodNetwork) || before0.Attrs().Index != after0.Attrs().Index {
		t.Fatalf("second SetupPod changed the sandbox: %+v vs %+v", again, pods[0].PodNetwork)
	}

	// Repair: the host veth vanished (someone ran `ip link del`).
	if err := n.h.LinkDel(after0); err != nil {
		t.Fatal(err)
	}
	if _, err := n.node.SetupPod(ctx, podnet.PodSpec{Key: pods[0].key, IP: pods[0].IP}); err != nil {
		t.Fatalf("SetupPod after the veth was deleted: %v", err)
	}
	expectEcho(ctx, t, pods[1].NetnsPath, pods[0].IP.Addr().String()+":8080", "pod0")

	// Teardown, twice.
	for _, pn := range pods {
		for range 2 {
			if err := n.node.TeardownPod(ctx, pn.key); err != nil {
				t.Fatalf("TeardownPod: %v", err)
			}
		}
		if _, err := os.Stat(pn.NetnsPath); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("pin %s still exists: %v", pn.NetnsPath, err)
		}
	}
	if got, want := n.linkNames(t), append(slices.Clone(baseLinks), podnet.DefaultBridge); !slices.Equal(got, want) {
		t.Fatalf("links after teardown %v, want %v", got, want)
	}
	if got := nstest.MountsUnder(t, n.netnsDir()); got != 1 {
		t.Fatalf("%d mounts under the netns dir after teardown, want 1 (the shared dir)", got)
	}
	if sbs, err := n.node.ListSandboxes(ctx); err != nil || len(sbs) != 0 {
		t.Fatalf("ListSandboxes after teardown = %v, %v", sbs, err)
	}

	// ResetNode takes the rest: bridge, shared dir mount, dir.
	if _, err := n.node.SetupPod(ctx, podnet.PodSpec{Key: podKey(9), IP: netip.MustParsePrefix("10.244.1.9/24")}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := podnet.ResetNode(ctx, n.cfg); err != nil {
			t.Fatalf("ResetNode: %v", err)
		}
	}
	if got := n.linkNames(t); !slices.Equal(got, baseLinks) {
		t.Fatalf("links after ResetNode %v, want %v", got, baseLinks)
	}
	if got := nstest.MountsUnder(t, n.dir); got != 1 { // the node namespace's own pin
		t.Fatalf("%d mounts under the test dir after ResetNode, want 1", got)
	}
	if _, err := os.Stat(n.netnsDir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("netns dir still exists after ResetNode: %v", err)
	}
}

func expectEcho(ctx context.Context, t *testing.T, fromNs, addr, wantName string) {
	t.Helper()
	got, err := nstest.Exchange(ctx, fromNs, addr, "ping")
	if err != nil {
		t.Fatalf("from %s to %s: %v", filepath.Base(fromNs), addr, err)
	}
	if want := wantName + ": ping"; got != want {
		t.Fatalf("from %s to %s: reply %q, want %q", filepath.Base(fromNs), addr, got, want)
	}
}
